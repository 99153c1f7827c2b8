"""Where the messaging machinery of a process lives: one `MessagingRuntime` per event loop.

A server process runs one event loop; its sockets share one hub (one channel-layer subscription
per session, messaging/hub.py), one presence batcher (messaging/presence.py), one group committer
(messaging/group_commit.py) and one pool of database threads (messaging/db_executor.py).
`runtime()` is the only per-loop registry: it creates the running loop's runtime on first use, and
the runtime creates each part on first use (so settings a test overrides before then apply). A
loop that is gone (a test's) takes its runtime with it.

One thing is per process rather than per loop: the in-memory presence store used without
REDIS_URL (`memory_presence()`). It stands in for Redis, which every loop and process shares, so
every loop of this process sees the same entries and `presence.clear()` clears them for all.

The parts are imported when first built, not at import time: they import this module.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from messaging.db_executor import DatabaseCalls
    from messaging.group_commit import GroupCommit
    from messaging.hub import SessionHub
    from messaging.presence import MemoryBackend, PresenceBatcher


class MessagingRuntime:
    """One event loop's messaging state: its hub, presence batcher, group committer and database
    threads, each created on first use."""

    @functools.cached_property
    def database_calls(self) -> DatabaseCalls:
        from django.conf import settings

        from messaging.db_executor import DatabaseCalls

        return DatabaseCalls(threads=settings.MESSAGING_DB_THREADS,
                             fail_fast_seconds=settings.MESSAGING_DB_FAIL_FAST_SECONDS)

    @functools.cached_property
    def hub(self) -> SessionHub:
        from messaging.hub import SessionHub

        return SessionHub()

    @functools.cached_property
    def presence_batcher(self) -> PresenceBatcher:
        from messaging.consumers import send_presence_delta
        from messaging.presence import PresenceBatcher

        return PresenceBatcher(send_presence_delta)

    @functools.cached_property
    def group_commit(self) -> GroupCommit:
        from messaging.group_commit import GroupCommit

        return GroupCommit(deliver_local=self.hub.deliver)


_runtimes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MessagingRuntime] = weakref.WeakKeyDictionary()


def runtime() -> MessagingRuntime:
    """The running loop's (the process's) messaging runtime, created on first use."""
    loop = asyncio.get_running_loop()
    found = _runtimes.get(loop)
    if found is None:
        found = _runtimes[loop] = MessagingRuntime()
    return found


@functools.cache
def memory_presence() -> MemoryBackend:
    """The process's in-memory presence store (no REDIS_URL), shared by all its loops."""
    from messaging.presence import MemoryBackend

    return MemoryBackend()
