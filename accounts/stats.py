"""Operator counters kept in the cache (shared through Redis when REDIS_URL is set).

Read them with `manage.py auth_stats`. With the local-memory cache they are per process.
"""

from __future__ import annotations

import logging

from django.core.cache import cache

from flashlearn.counters import CACHE_ERRORS, cache_incr

logger = logging.getLogger("accounts")

COUNTERS = (
    "external_sync_hit",
    "external_sync_miss",
    "login_refused_locked",
    "signup_refused_throttled",
    "token_rejected",
)
_PREFIX = "accounts:stats:"


def stat_incr(name: str) -> None:
    """Best-effort: an operator counter never fails the request it counts."""
    try:
        cache_incr(f"{_PREFIX}{name}", timeout=None)
    except CACHE_ERRORS:
        logger.warning("cache unavailable: counter %s not incremented", name)


def stats_read() -> dict[str, int]:
    values = cache.get_many([f"{_PREFIX}{name}" for name in COUNTERS])
    return {name: int(values.get(f"{_PREFIX}{name}", 0)) for name in COUNTERS}


def stats_reset() -> None:
    cache.delete_many([f"{_PREFIX}{name}" for name in COUNTERS])
