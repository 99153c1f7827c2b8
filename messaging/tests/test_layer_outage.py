"""Chat across a real channel-layer outage: two `manage.py serve` processes, a private Redis stopped and started.

Members sit on both processes; two of them keep sending while Redis is down for 3 s, then for 10 s.
After each recovery every member must have every stored message exactly once, in order (issue 11
item 1; before the hub repaired gaps, 5.8% and 14.5% of deliveries never arrived).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time

import pytest
import websockets
from django.db import connection

from bench.core import free_port
from flashlearn.servers import DEFAULT
from messaging.models import Message
from messaging.tests.factories import LiveSessionFactory, MembershipFactory, UserFactory, token_for
from messaging.tests.test_scale_out import ORIGIN, next_frame, processes

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
PROBE = 0.3  # MESSAGING_HUB_PROBE_INTERVAL of the servers under test
SEND_EVERY = 0.1  # each sender: 10 messages a second, inside the per-socket rate limit


class PrivateRedis:
    """A redis-server of this test only, on a free port, stopped and started on command."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        import redis

        from flashlearn.redis import redis_client

        client = redis_client(url=f"redis://127.0.0.1:{self.port}/0", connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("private redis-server did not start") from None
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@contextlib.contextmanager
def private_redis():
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def stored_ids(session_id: int) -> list[int]:
    try:
        return list(Message.objects.filter(session_id=session_id).order_by("seq").values_list("id", flat=True))
    finally:
        connection.close()


class Member:
    def __init__(self, user, ws):
        self.user = user
        self.ws = ws
        self.received: list[int] = []  # message ids of message.new frames, in arrival order
        self.seqs: list[int] = []
        self.online: set[int] = set()  # who this member's client shows as online (snapshots + deltas)
        self.reader = asyncio.ensure_future(self.read())

    async def read(self):
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame["type"] == "message.new":
                    self.received.append(frame["message"]["id"])
                    self.seqs.append(frame["seq"])
                elif frame["type"] == "presence":
                    if "online" in frame:
                        self.online = {u["id"] for u in frame["online"]}
                    self.online |= {u["id"] for u in frame["joined"]}
                    self.online -= {u["id"] for u in frame["left"]}


async def send_until(member: Member, stop: asyncio.Event, tag: str) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        await member.ws.send(json.dumps({"type": "message.send", "body": f"{tag} {n}", "client_id": f"{tag}-{n}"}))
        await asyncio.sleep(SEND_EVERY)


async def traffic(senders: list[Member], seconds: float, tag: str) -> None:
    stop = asyncio.Event()
    tasks = [asyncio.ensure_future(send_until(m, stop, f"{tag}-{i}")) for i, m in enumerate(senders)]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)


async def settled(members: list[Member], session_id: int, timeout: float) -> list[int]:
    """Once the last sends are stored, wait until every member has as many messages (or the
    timeout); the stored ids in seq order."""
    deadline = time.monotonic() + timeout
    expected: list[int] = []
    while True:  # the store first: the senders' last frames may still be in flight
        await asyncio.sleep(0.5)
        latest = await asyncio.to_thread(stored_ids, session_id)
        if len(latest) == len(expected):
            break
        expected = latest
    while not all(len(m.received) >= len(expected) for m in members) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)  # a duplicate arriving late would show here
    return expected


def missed(members: list[Member], expected: list[int]) -> int:
    return sum(len(set(expected) - set(m.received)) for m in members)


@pytest.fixture
def room(transactional_db):
    users = [UserFactory(display_name=f"U{i}") for i in range(6)]
    session = LiveSessionFactory(host=users[0])
    for user in users[1:]:
        MembershipFactory(session=session, user=user)
    return users, session, {user.pk: token_for(user) for user in users}


async def test_no_member_misses_a_message_across_redis_outages(room):
    users, session, tokens = room
    path = f"/ws/live_sessions/{session.pk}/?token="
    figures = []
    with private_redis() as redis_server, processes(
        2, DEFAULT, REDIS_URL=redis_server.url, REDIS_PREFIX="outage", MESSAGING_HUB_PROBE_INTERVAL=str(PROBE),
        MESSAGING_HUB_SWEEP_INTERVAL="2", MESSAGING_PRESENCE_TTL="3",
    ) as [first, second]:
        port1, port2 = first.port, second.port
        members = []
        for i, user in enumerate(users):
            port = (port1, port2)[i % 2]
            ws = await websockets.connect(f"ws://127.0.0.1:{port}{path}{tokens[user.pk]}", origin=ORIGIN)
            await next_frame(ws, "presence")
            members.append(Member(user, ws))
        senders = members[:2]  # one on each process
        try:
            await traffic(senders, 1.0, "before")
            for outage in (3, 10):
                stop = asyncio.Event()
                sending = [asyncio.ensure_future(send_until(m, stop, f"o{outage}-{i}")) for i, m in enumerate(senders)]
                await asyncio.sleep(0.3)
                for member in members:
                    member.online.clear()  # forget: what is shown after the outage must come from the recovery
                redis_server.stop()
                await asyncio.sleep(outage)
                redis_server.start()
                await asyncio.sleep(1.0)
                stop.set()
                await asyncio.gather(*sending)
                expected = await settled(members, session.pk, timeout=15)
                figures.append((outage, missed(members, expected), len(expected) * len(members)))
                for member in members:
                    assert member.received == expected, f"member {member.user.pk}: missing or out of order"
                    assert member.seqs == list(range(1, len(expected) + 1))
                # Presence: Redis came back empty; each process re-announced its members.
                deadline = time.monotonic() + 10
                everyone = {u.pk for u in users}
                while not all(m.online == everyone for m in members):
                    assert time.monotonic() < deadline, [sorted(m.online) for m in members]
                    await asyncio.sleep(0.1)
        finally:
            print("\nchat across Redis outages (missed deliveries after recovery):",
                  ", ".join(f"{o} s: {m} of {n}" for o, m, n in figures))
            for member in members:
                await member.ws.close()
                member.reader.cancel()
    assert [m for _o, m, _n in figures] == [0, 0]
