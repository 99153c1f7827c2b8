"""flashlearn/redis.py: one client (one pool) per server and options, reused by every caller."""

import pytest
import redis

from flashlearn.cache import BreakerConnectionPool
from flashlearn.redis import async_redis_client, cache_redis_client, redis_client

UNREACHABLE = "redis://127.0.0.1:1/0"


def test_callers_asking_for_the_same_server_share_one_client():
    first = redis_client(url=UNREACHABLE, connect_timeout=0.5, timeout=0.5)
    assert redis_client(url=UNREACHABLE, connect_timeout=0.5, timeout=0.5) is first
    assert redis_client(url=UNREACHABLE, connect_timeout=1, timeout=1) is not first
    assert first.connection_pool.connection_kwargs["socket_timeout"] == 0.5


async def test_asyncio_clients_are_shared_within_a_loop():
    client = async_redis_client(url=UNREACHABLE)
    assert async_redis_client(url=UNREACHABLE) is client


def test_asyncio_clients_are_not_shared_across_loops():
    """An asyncio connection belongs to the loop that opened it."""
    import asyncio

    async def client():
        return async_redis_client(url=UNREACHABLE)

    assert asyncio.run(client()) is not asyncio.run(client())


def test_no_cache_client_without_a_redis_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert cache_redis_client() is None


def test_the_cache_client_uses_the_caches_server_and_breaker(settings):
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": f"{UNREACHABLE},redis://127.0.0.1:2/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "pool_class": "flashlearn.cache.BreakerConnectionPool"},
    }}
    client = cache_redis_client()
    assert isinstance(client.connection_pool, BreakerConnectionPool)
    assert client.connection_pool.connection_kwargs["port"] == 1  # writes go to the first server
    assert cache_redis_client() is client
    with pytest.raises(redis.exceptions.ConnectionError):
        client.ping()
