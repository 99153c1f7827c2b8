"""Cross-process bookkeeping in Redis (only with REDIS_URL).

- `streams`: a sorted set of active stream names scored by expiry, with three hashes beside it
  (each stream's speaking account, last voiced audio and speaker channel), so the stream cap, the
  per-account cap, "one speaker per stream" and live-session preemption (transcription/slots.py)
  hold across every daphne or worker process. Holders refresh their entries every second; a
  crashed process's entries expire after STREAM_TTL seconds.
- `procs`: a hash of per-process status snapshots (engine state, speaker and listener counts),
  summed by `/status`; stale snapshots are ignored and removed.
"""

from __future__ import annotations

import json
import os
import socket
import time

from django.conf import settings

from flashlearn.redis import async_redis_client, redis_client
from transcription.errors import StreamBusy
from transcription.slots import Holder, at_capacity, user_limit

STREAM_TTL = 15.0
PROC_TTL = 10.0
PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}"

# KEYS: streams (zset stream -> expiry), owners, voiced, channels (hashes keyed by stream)
_FORGET = """
local function forget(name)
  redis.call('ZREM', KEYS[1], name)
  redis.call('HDEL', KEYS[2], name)
  redis.call('HDEL', KEYS[3], name)
  redis.call('HDEL', KEYS[4], name)
end
"""

# ARGV: now, expiry, cap, stream, user, per_user, live (1/0), channel.
# {1}: claimed; {2, victim, its channel}: claimed by taking the victim's slot; {-1} busy; {-2} user limit; {0} full.
_CLAIM = _FORGET + """
for _, name in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])) do forget(name) end
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then return {-1} end
local held = redis.call('ZRANGE', KEYS[1], 0, -1)
local mine = 0
for _, name in ipairs(held) do
  if redis.call('HGET', KEYS[2], name) == ARGV[5] then mine = mine + 1 end
end
local over_user = mine >= tonumber(ARGV[6])
local over_cap = #held >= tonumber(ARGV[3])
local victim, victim_voiced, victim_channel = nil, nil, ''
if over_user or over_cap then
  if ARGV[7] == '1' then
    for _, name in ipairs(held) do
      if string.sub(name, 1, 5) == 'user-' and (not over_user or redis.call('HGET', KEYS[2], name) == ARGV[5]) then
        local voiced = tonumber(redis.call('HGET', KEYS[3], name) or '0') or 0
        if victim == nil or voiced < victim_voiced then victim, victim_voiced = name, voiced end
      end
    end
  end
  if victim == nil then
    if over_user then return {-2} end
    return {0}
  end
  victim_channel = redis.call('HGET', KEYS[4], victim) or ''
  forget(victim)
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
redis.call('HSET', KEYS[3], ARGV[4], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[4], ARGV[8])
if victim then return {2, victim, victim_channel} end
return {1}
"""

# ARGV: stream, channel. Only the holder releases: a preempted speaker's late release leaves the next one alone.
_RELEASE = _FORGET + """
if redis.call('HGET', KEYS[4], ARGV[1]) == ARGV[2] then forget(ARGV[1]) return 1 end
return 0
"""

# ARGV: expiry, then (stream, channel, voiced) triples; only the holder's entries are refreshed.
_HEARTBEAT = """
for i = 2, #ARGV, 3 do
  if redis.call('HGET', KEYS[4], ARGV[i]) == ARGV[i + 1] then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[1], ARGV[i])
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 2])
  end
end
return 0
"""


def key(name: str) -> str:
    return f"{settings.REDIS_PREFIX}:transcription:{name}"


def slot_keys() -> list[str]:
    return [key("streams"), key("stream-owners"), key("stream-voiced"), key("stream-channels")]


class StreamRegistry:
    """transcription/slots.py's rules for every process at once: each call is one atomic script."""

    async def claim(self, *, stream: str, user: str, live: bool, channel: str, cap: int, per_user: int,
                    retry_after: int) -> Holder | None:
        now = time.time()
        result = await async_redis_client().eval(_CLAIM, 4, *slot_keys(), now, now + STREAM_TTL, cap, stream, user,
                                                 per_user, 1 if live else 0, channel)
        if result[0] == -1:
            raise StreamBusy()
        if result[0] == -2:
            raise user_limit(per_user)
        if result[0] == 0:
            raise at_capacity(cap, retry_after)
        if result[0] == 2:
            return Holder(stream=result[1].decode(), user="", channel=result[2].decode(), voiced=0.0)
        return None

    async def release(self, stream: str, channel: str) -> None:
        await async_redis_client().eval(_RELEASE, 4, *slot_keys(), stream, channel)

    async def heartbeat(self, voiced: dict[str, tuple[str, float]]) -> None:
        """{stream: (channel, last voiced)}: refreshes the expiry and idleness of the streams this process serves."""
        if not voiced:
            return
        args = [time.time() + STREAM_TTL]
        for stream, (channel, when) in voiced.items():
            args += [stream, channel, when]
        await async_redis_client().eval(_HEARTBEAT, 4, *slot_keys(), *args)


def publish_process_status(snapshot: dict) -> None:
    """Blocking (run it off the loop): this process's snapshot for the cross-process `/status`."""
    client = redis_client(connect_timeout=1, timeout=1)
    client.hset(key("procs"), PROCESS_ID, json.dumps({**snapshot, "ts": time.time()}))


def process_statuses() -> dict[str, dict]:
    """Blocking: fresh snapshots of every process, stale ones removed."""
    client = redis_client(connect_timeout=1, timeout=1)
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
