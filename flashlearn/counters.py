"""Atomic counters in the cache (Redis when REDIS_URL is set, else this process's memory).

Fixed-window limits count with them: the per-user write throttle (flashlearn.throttles) and
accounts' lockout and sign-up limits. With Redis every worker shares a counter, and two concurrent
requests cannot both take the last slot.
"""

from __future__ import annotations

from django.core.cache import caches
from redis.exceptions import RedisError

from flashlearn.redis import cache_redis_client

# What the cache raises when Redis is unreachable. Callers decide: brute-force counters fail
# closed (503, accounts.lockout), counters and the sync cache are best-effort.
CACHE_ERRORS = (RedisError,)

# INCR and EXPIRE in one atomic step. Django's RedisCache.incr is EXISTS then INCR: a key that
# expires in between comes back from INCR with no expiry at all, and a failure counter would then
# never reset. The script also repairs a key that somehow lost its TTL.
_INCR_WITH_EXPIRY = """
local n = redis.call('INCR', KEYS[1])
local timeout = tonumber(ARGV[1])
if timeout > 0 and (n == 1 or redis.call('TTL', KEYS[1]) == -1) then
    redis.call('EXPIRE', KEYS[1], timeout)
end
return n
"""


def cache_incr(key: str, *, timeout: int | None) -> int:
    """Atomically add 1 to `key`, creating it (expiring after `timeout` seconds) when missing."""
    backend = caches["default"]
    client = cache_redis_client()
    if client is not None:
        return int(client.eval(_INCR_WITH_EXPIRY, 1, backend.make_and_validate_key(key), int(timeout or 0)))
    # Local memory: one process, guarded by the backend's lock; incr keeps the expiry.
    backend.add(key, 0, timeout=timeout)
    try:
        return backend.incr(key)
    except ValueError:  # expired between add and incr
        backend.add(key, 0, timeout=timeout)
        return backend.incr(key)


# DECR only a counter that still exists and is above zero: a reservation handed back after its
# key expired (or was reset) must not leave a negative key with no expiry behind.
_DECR_IF_POSITIVE = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then
    return redis.call('DECR', KEYS[1])
end
return 0
"""


def cache_decr(key: str) -> int:
    """Atomically take 1 off a counter made by `cache_incr`, never below zero nor creating it."""
    backend = caches["default"]
    client = cache_redis_client()
    if client is not None:
        return int(client.eval(_DECR_IF_POSITIVE, 1, backend.make_and_validate_key(key)))
    try:
        n = backend.decr(key)
        return n if n >= 0 else backend.incr(key)
    except ValueError:  # missing or expired
        return 0
