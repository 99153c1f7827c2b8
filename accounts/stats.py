"""Operator counters kept in the cache (shared through Redis when REDIS_URL is set).

Read them with `manage.py auth_stats`. With the local-memory cache they are per process.
"""

from __future__ import annotations

from django.core.cache import cache

COUNTERS = (
    "external_sync_hit",
    "external_sync_miss",
    "login_refused_locked",
    "signup_refused_throttled",
    "token_rejected",
)
_PREFIX = "accounts:stats:"


def cache_incr(key: str, *, timeout: int | None) -> int:
    """Atomic increment that creates the key (with `timeout`) when it is missing or just expired."""
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 0, timeout=timeout)
        return cache.incr(key)


def stat_incr(name: str) -> None:
    cache_incr(f"{_PREFIX}{name}", timeout=None)


def stats_read() -> dict[str, int]:
    values = cache.get_many([f"{_PREFIX}{name}" for name in COUNTERS])
    return {name: int(values.get(f"{_PREFIX}{name}", 0)) for name in COUNTERS}


def stats_reset() -> None:
    cache.delete_many([f"{_PREFIX}{name}" for name in COUNTERS])
