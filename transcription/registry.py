"""Cross-process bookkeeping in Redis (only with REDIS_URL).

- `streams`: a sorted set of active stream names scored by expiry, so the stream cap and
  "one speaker per stream" hold across every daphne or worker process. Holders refresh their
  entries every second; a crashed process's entries expire after STREAM_TTL seconds.
- `procs`: a hash of per-process status snapshots (engine state, speaker and listener counts),
  summed by `/status`; stale snapshots are ignored and removed.
"""

from __future__ import annotations

import json
import os
import socket
import time

import redis
import redis.asyncio as aioredis
from django.conf import settings

from transcription.errors import EngineAtCapacity, StreamBusy

STREAM_TTL = 15.0
PROC_TTL = 10.0
PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}"

_CLAIM = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then return -1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
return 1
"""


def key(name: str) -> str:
    return f"{settings.REDIS_PREFIX}:transcription:{name}"


class StreamRegistry:
    async def claim(self, stream: str, cap: int, retry_after: int) -> None:
        now = time.time()
        async with aioredis.from_url(settings.REDIS_URL) as client:
            result = await client.eval(_CLAIM, 1, key("streams"), now, now + STREAM_TTL, cap, stream)
        if result == -1:
            raise StreamBusy()
        if result == 0:
            raise EngineAtCapacity(f"All {cap} transcription streams are in use; retry after {retry_after} s.",
                                   retry_after=retry_after)

    async def release(self, stream: str) -> None:
        async with aioredis.from_url(settings.REDIS_URL) as client:
            await client.zrem(key("streams"), stream)

    async def heartbeat(self, streams: list[str]) -> None:
        if not streams:
            return
        async with aioredis.from_url(settings.REDIS_URL) as client:
            await client.zadd(key("streams"), {s: time.time() + STREAM_TTL for s in streams}, xx=True)


def publish_process_status(snapshot: dict) -> None:
    """Blocking (run it off the loop): this process's snapshot for the cross-process `/status`."""
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.hset(key("procs"), PROCESS_ID, json.dumps({**snapshot, "ts": time.time()}))
    finally:
        client.close()


def process_statuses() -> dict[str, dict]:
    """Blocking: fresh snapshots of every process, stale ones removed."""
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        raw = client.hgetall(key("procs"))
        fresh, stale = {}, []
        for proc, value in raw.items():
            snapshot = json.loads(value)
            if time.time() - snapshot.get("ts", 0) > PROC_TTL:
                stale.append(proc)
            else:
                fresh[proc.decode()] = snapshot
        if stale:
            client.hdel(key("procs"), *stale)
        return fresh
    finally:
        client.close()
