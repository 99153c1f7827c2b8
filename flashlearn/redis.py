"""Every Redis client the project opens directly (not the channel layers, which build their own).

A client is built once per server and options, and kept: each holds a connection pool, so a
caller that asks again reuses its connections instead of connecting per call. redis-py's pools
notice a fork and start afresh in the child, so `serve`'s workers never share a socket.
Asyncio clients are kept per event loop, since their connections belong to the loop that made them.

- `redis_client()`: blocking, on REDIS_URL (or `url`).
- `async_redis_client()`: the same for asyncio code.
- `cache_redis_client()`: the default cache's own server, with the cache's options (the circuit
  breaker's pool, flashlearn/cache.py), for the atomic scripts Django's cache API has no verb for.
"""

from __future__ import annotations

import asyncio
import re
import threading
import weakref

import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.core.cache.backends.redis import RedisCache
from django.utils.module_loading import import_string

# Timeouts in seconds; None waits forever (redis-py's default, which none of our callers wants).
CONNECT_TIMEOUT = 2.0
TIMEOUT = 5.0

_clients: dict[tuple, redis.Redis] = {}
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple, aioredis.Redis]] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def redis_client(*, url: str | None = None, connect_timeout: float | None = CONNECT_TIMEOUT,
                 timeout: float | None = TIMEOUT) -> redis.Redis:
    """A blocking client on `url` (REDIS_URL by default), shared by every caller asking the same."""
    url = url or settings.REDIS_URL
    options = {"socket_connect_timeout": connect_timeout, "socket_timeout": timeout}
    return _shared(("url", url, connect_timeout, timeout), lambda: redis.Redis.from_url(url, **options))


def async_redis_client(*, url: str | None = None, connect_timeout: float | None = CONNECT_TIMEOUT,
                       timeout: float | None = TIMEOUT) -> aioredis.Redis:
    """An asyncio client on `url` for the running loop, shared by every caller on that loop."""
    url = url or settings.REDIS_URL
    key = (url, connect_timeout, timeout)
    per_loop = _async_clients.setdefault(asyncio.get_running_loop(), {})
    client = per_loop.get(key)
    if client is None:
        client = aioredis.Redis.from_url(url, socket_connect_timeout=connect_timeout, socket_timeout=timeout)
        per_loop[key] = client
    return client


def cache_redis_client() -> redis.Redis | None:
    """A client on the default cache's server with the cache's OPTIONS; None when that cache is not Redis.

    Built from settings.CACHES, the public description of the cache, not from the backend's
    private client. Keys still go through the backend's `make_and_validate_key`.
    """
    config = settings.CACHES["default"]
    backend = import_string(config["BACKEND"])
    if not issubclass(backend, RedisCache):
        return None
    location = config["LOCATION"]
    url = re.split("[;,]", location)[0] if isinstance(location, str) else location[0]  # writes go to the first
    options = dict(config.get("OPTIONS", {}))
    pool_class = options.pop("pool_class", redis.ConnectionPool)
    if isinstance(pool_class, str):
        pool_class = import_string(pool_class)
    options.pop("serializer", None)  # values are the cache's business; scripts send plain arguments
    if isinstance(options.get("parser_class"), str):
        options["parser_class"] = import_string(options["parser_class"])
    key = ("cache", url, pool_class, tuple(sorted(options.items())))
    return _shared(key, lambda: redis.Redis(connection_pool=pool_class.from_url(url, **options)))


def _shared(key: tuple, build) -> redis.Redis:
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = build()
    return client
