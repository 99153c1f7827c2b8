"""Who is online in a session, shared by every server process.

Each open socket owns one entry `[connection id, user id, display name]` with an expiry time:
a Redis sorted set per session (score = expiry) when REDIS_URL is set, a dict in this process
otherwise. Each process refreshes all its sockets' entries in a session on one heartbeat (the
hub's, messaging/hub.py); an entry whose process died (so `disconnect` never ran) expires and the
next heartbeat of any process in the session announces the leave.
A user is online while at least one of their entries is live.

The in-memory store is the process's one `memory_presence()`, and each loop's join/leave deltas go
through its `runtime().presence_batcher` (both in messaging/runtime.py).
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable

from django.conf import settings

from flashlearn.redis import async_redis_client
from messaging.runtime import memory_presence


def ttl() -> float:
    return settings.MESSAGING_PRESENCE_TTL


def heartbeat_interval() -> float:
    return max(ttl() / 3, 0.05)


def entry(connection_id: str, user_id: int, display_name: str) -> str:
    return json.dumps([connection_id, user_id, display_name], separators=(",", ":"))


@functools.lru_cache(maxsize=16384)
def _parse(raw: str) -> tuple[int, str]:
    _conn, user_id, name = json.loads(raw)
    return user_id, name


def _users(entries: list[str]) -> dict[int, dict]:
    """Entries repeat from read to read (a connect burst reads the same set once per socket): each
    is parsed once."""
    users: dict[int, dict] = {}
    for raw in entries:
        user_id, name = _parse(raw)
        users[user_id] = {"id": user_id, "display_name": name}
    return users


class MemoryBackend:
    """One process only: used without REDIS_URL (development, the SQLite test run)."""

    def __init__(self) -> None:
        self.sessions: dict[int, dict[str, float]] = {}

    async def put(self, session_id: int, member: str, expires: float) -> None:
        self.sessions.setdefault(session_id, {})[member] = expires

    async def put_many(self, session_id: int, members: list[str], expires: float) -> None:
        self.sessions.setdefault(session_id, {}).update(dict.fromkeys(members, expires))

    async def remove(self, session_id: int, member: str) -> bool:
        return self.sessions.get(session_id, {}).pop(member, None) is not None

    async def live(self, session_id: int, now: float) -> list[str]:
        return [m for m, exp in self.sessions.get(session_id, {}).items() if exp > now]

    async def expired(self, session_id: int, now: float) -> list[str]:
        return [m for m, exp in self.sessions.get(session_id, {}).items() if exp <= now]

    async def user_live(self, session_id: int, user_id: int, now: float) -> bool:
        return any(_parse(m)[0] == user_id for m, exp in self.sessions.get(session_id, {}).items() if exp > now)

    async def clear(self) -> None:
        self.sessions.clear()


class RedisBackend:
    def __init__(self, client, prefix: str):
        self.client = client
        self.prefix = prefix

    def key(self, session_id: int) -> str:
        return f"{self.prefix}:presence:{int(session_id)}"

    async def put(self, session_id: int, member: str, expires: float) -> None:
        key = self.key(session_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {member: expires})
            pipe.expire(key, int(ttl() * 2) + 1)  # an abandoned session's set goes away by itself
            await pipe.execute()

    async def put_many(self, session_id: int, members: list[str], expires: float) -> None:
        key = self.key(session_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.zadd(key, dict.fromkeys(members, expires))
            pipe.expire(key, int(ttl() * 2) + 1)
            await pipe.execute()

    async def remove(self, session_id: int, member: str) -> bool:
        return bool(await self.client.zrem(self.key(session_id), member))

    async def live(self, session_id: int, now: float) -> list[str]:
        return [m.decode() for m in await self.client.zrangebyscore(self.key(session_id), f"({now}", "+inf")]

    async def expired(self, session_id: int, now: float) -> list[str]:
        return [m.decode() for m in await self.client.zrangebyscore(self.key(session_id), "-inf", now)]

    async def user_live(self, session_id: int, user_id: int, now: float) -> bool:
        """Whether the user has another live entry, matched in Redis (ZSCAN MATCH on the entry's
        `",<id>,"`; a display name cannot contain that unescaped), so a burst of N leaves does not
        move N copies of the whole set into this process."""
        pattern = f'*",{int(user_id)},"*'
        async for raw, expires in self.client.zscan_iter(self.key(session_id), match=pattern, count=1000):
            if expires > now and _parse(raw.decode())[0] == user_id:
                return True
        return False

    async def clear(self) -> None:
        async for key in self.client.scan_iter(f"{self.prefix}:presence:*", count=1000):
            await self.client.delete(key)


def backend():
    if not settings.REDIS_URL:
        return memory_presence()
    return RedisBackend(async_redis_client(connect_timeout=2, timeout=5), settings.REDIS_PREFIX)


async def clear() -> None:
    """Forget every entry of every session: nobody is online until their socket joins again
    (a test's fresh start; the sockets of a server that is gone for good)."""
    await backend().clear()


async def online(session_id: int) -> list[dict]:
    users = _users(await backend().live(session_id, time.time()))
    return sorted(users.values(), key=lambda u: u["id"])


async def join(session_id: int, member: str) -> tuple[bool, list[dict]]:
    """Add this socket's entry: (its user was not online before, so announce a join; who is online).

    One read of the set per join (it was two: a burst of N sockets joining read N² entries twice).
    Someone joining after our read announces themselves: our socket hears that delta.
    """
    store = backend()
    user_id, name = _parse(member)
    before = _users(await store.live(session_id, time.time()))
    await store.put(session_id, member, time.time() + ttl())
    online = {**before, user_id: {"id": user_id, "display_name": name}}
    return user_id not in before, sorted(online.values(), key=lambda u: u["id"])


async def refresh(session_id: int, member: str) -> None:
    await backend().put(session_id, member, time.time() + ttl())


async def refresh_many(session_id: int, members: list[str]) -> None:
    """Every entry a process holds in a session, in one round trip (the hub's heartbeat)."""
    if members:
        await backend().put_many(session_id, members, time.time() + ttl())


async def leave(session_id: int, member: str) -> bool:
    """Remove this socket's entry. True when its user has no other live socket (announce a leave)."""
    store = backend()
    removed = await store.remove(session_id, member)
    return removed and not await store.user_live(session_id, _parse(member)[0], time.time())


async def prune(session_id: int) -> list[dict]:
    """Drop expired entries (sockets of dead processes); the users that went offline because of it.

    Several sockets may prune at once: only the one whose ZREM removed an entry reports it.
    """
    store = backend()
    now = time.time()
    removed = [m for m in await store.expired(session_id, now) if await store.remove(session_id, m)]
    if not removed:
        return []
    still = _users(await store.live(session_id, time.time()))
    return [u for uid, u in _users(removed).items() if uid not in still]


class PresenceBatcher:
    """Coalesces join/leave deltas per session for a short window, so N sockets connecting at
    once cost a few broadcasts instead of N (each to up to N members)."""

    def __init__(self, send: Callable[[int, list[dict], list[dict]], Awaitable[None]]) -> None:
        self.send = send  # async (session_id, joined, left)
        self.pending: dict[int, tuple[dict, dict]] = {}
        self.tasks: set[asyncio.Task] = set()  # sends in flight (the loop holds tasks only weakly)

    def add(self, session_id: int, *, joined: dict | None = None, left: dict | None = None) -> None:
        delay = settings.MESSAGING_PRESENCE_COALESCE
        if session_id not in self.pending:
            self.pending[session_id] = ({}, {})
            asyncio.get_running_loop().call_later(delay, self.flush_soon, session_id)
        joins, leaves = self.pending[session_id]
        if joined:
            leaves.pop(joined["id"], None)
            joins[joined["id"]] = joined
        if left:
            joins.pop(left["id"], None)
            leaves[left["id"]] = left

    def flush_soon(self, session_id: int) -> None:
        joins, leaves = self.pending.pop(session_id, ({}, {}))
        if joins or leaves:
            task = asyncio.ensure_future(self.send(session_id, list(joins.values()), list(leaves.values())))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

