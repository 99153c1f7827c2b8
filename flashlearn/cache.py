"""The Redis cache's connection pool, with the cache circuit breaker (flashlearn/breaker.py).

Django's RedisCache takes a `pool_class` (settings.CACHES OPTIONS). This pool gives each
connection class it is handed (plain, TLS or unix socket, as redis-py picks from the URL) the
breaker: while the circuit is open a connect is refused at once instead of waiting out the socket
timeouts, and every command's outcome tells the breaker whether Redis answered.
"""

from __future__ import annotations

import functools

import redis

from flashlearn.breaker import CACHE, CLOSED, CircuitOpen, breaker_for

_OUTAGE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

# Written against redis-py 5/6: Connection.connect_check_health, send_packed_command, read_response.
if int(redis.__version__.split(".", 1)[0]) not in (5, 6):  # pragma: no cover - caught by the suite on an upgrade
    raise ImportError(f"flashlearn.cache was written for redis-py 5 or 6, not {redis.__version__}")


class BreakerConnectionMixin:
    def connect_check_health(self, *args, **kwargs):
        breaker = breaker_for(CACHE)
        try:
            breaker.admit()
        except CircuitOpen as exc:
            raise redis.exceptions.ConnectionError(str(exc)) from None
        try:
            return super().connect_check_health(*args, **kwargs)
        except _OUTAGE as exc:
            breaker.failed(exc)
            raise

    def send_packed_command(self, *args, **kwargs):
        try:
            return super().send_packed_command(*args, **kwargs)
        except _OUTAGE as exc:
            breaker_for(CACHE).failed(exc)
            raise

    def read_response(self, *args, **kwargs):
        breaker = breaker_for(CACHE)
        try:
            response = super().read_response(*args, **kwargs)
        except _OUTAGE as exc:
            breaker.failed(exc)
            raise
        if breaker.state != CLOSED:  # unlocked read: only an outage's end pays for the lock
            breaker.succeeded()
        return response


@functools.cache
def with_breaker(connection_class: type) -> type:
    return type(f"Breaker{connection_class.__name__}", (BreakerConnectionMixin, connection_class), {})


class BreakerConnectionPool(redis.ConnectionPool):
    def __init__(self, connection_class=redis.Connection, **kwargs):
        super().__init__(connection_class=with_breaker(connection_class), **kwargs)
