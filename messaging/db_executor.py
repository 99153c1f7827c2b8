"""Database calls from websocket consumers and the hub: off the event loop, and not all on one thread.

channels' `database_sync_to_async` runs every call of a process on one shared thread
(`thread_sensitive=True`): during a database stall every socket's work waited behind the slowest
call (acks took 14 s). Here calls run on a bounded pool of threads sized like the database
connection pool (MESSAGING_DB_THREADS, default DB_POOL_MAX_SIZE), and each closes its connection
afterwards as channels does, so a pooled connection goes back to the pool.

While the database is known to be down (a call failed with OperationalError or InterfaceError less
than MESSAGING_DB_FAIL_FAST_SECONDS ago) calls fail at once with `DatabaseUnavailable` instead of
each waiting for the pool timeout. After that period one call goes through as a probe; its success
closes the breaker, its failure opens it again.

A process (event loop) has one `DatabaseCalls`: `runtime().database_calls` (messaging/runtime.py).
"""

from __future__ import annotations

import functools
import time
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.db import InterfaceError, OperationalError, close_old_connections, connection

from messaging.runtime import runtime


class DatabaseUnavailable(OperationalError):
    """Refused without trying: the database failed moments ago (an OperationalError, so every
    handler that answers "database unavailable" answers this too)."""


def _run(fn, args, kwargs):
    close_old_connections()
    try:
        return fn(*args, **kwargs)
    finally:
        close_old_connections()


class DatabaseCalls:
    def __init__(self, *, threads: int, fail_fast_seconds: float, clock=time.monotonic):
        self.pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="ws-db")
        self.fail_fast_seconds = fail_fast_seconds
        self.clock = clock
        self.down_until: float | None = None
        self.probing = False

    @property
    def known_down(self) -> bool:
        return self.down_until is not None and (self.probing or self.clock() < self.down_until)

    def retry_after(self) -> float:
        if self.down_until is None:
            return 0.0
        return max(0.0, self.down_until - self.clock()) or self.fail_fast_seconds

    async def __call__(self, fn, /, *args, **kwargs):
        if self.known_down:
            raise DatabaseUnavailable("the database failed moments ago; not trying again yet")
        probe = self.down_until is not None
        if probe:
            self.probing = True
        try:
            call = functools.partial(_run, fn, args, kwargs)
            if connection.vendor == "sqlite":
                # One writer at a time is all SQLite has (and its in-memory test database refuses,
                # rather than waits for, a second thread): its calls stay on one thread, as before.
                result = await sync_to_async(call, thread_sensitive=True)()
            else:
                result = await sync_to_async(call, thread_sensitive=False, executor=self.pool)()
        except (OperationalError, InterfaceError):
            if self.fail_fast_seconds > 0:
                self.down_until = self.clock() + self.fail_fast_seconds
            raise
        except Exception:  # a domain error, a bad row: the database answered
            self.down_until = None
            raise
        finally:
            if probe:
                self.probing = False
        self.down_until = None
        return result


async def db(fn, /, *args, **kwargs):
    """Run `fn(*args, **kwargs)` on the process's database threads (`runtime().database_calls`)."""
    return await runtime().database_calls(fn, *args, **kwargs)
