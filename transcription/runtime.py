"""Everything process-wide in transcription, owned by one object: the TranscriptionRuntime.

It holds the engine (made on first use, and with it the one Whisper model), the open transcription
sockets, the socket counts `/status` reports, the status publisher (with REDIS_URL) and shutdown.
Nothing here runs at import: the entry point starts the runtime (`transcription_worker` at once;
a web process when its first transcription socket opens, since daphne sends no lifespan event),
and only then are the SIGTERM/SIGINT drain and the exit hook installed.

Consumers and the status view take the runtime they are given (`Socket.as_asgi(runtime=...)`) or
the process's (`current()`); tests make their own and hand it over with `use()`.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import signal
import threading
import weakref
from collections import Counter
from collections.abc import Callable

from django.conf import settings

from transcription.engine import Engine

logger = logging.getLogger("transcription.runtime")

SOCKET_KINDS = ("speakers", "listeners", "status")
PUBLISH_INTERVAL_SECONDS = 2.0


def default_engine() -> Engine:
    """The engine as configured: slots kept in Redis (every process) with REDIS_URL, else in this process."""
    engine = Engine()
    if settings.REDIS_URL:
        from transcription.registry import StreamRegistry

        engine.slots = StreamRegistry()
    return engine


class TranscriptionRuntime:
    def __init__(self, *, engine_factory: Callable[[], Engine] = default_engine) -> None:
        self.engine_factory = engine_factory
        self.engine: Engine | None = None
        self.engine_lock = threading.Lock()
        self.sockets: weakref.WeakSet = weakref.WeakSet()  # open transcription sockets: closed 1001 on SIGTERM
        self.clients: Counter = Counter()  # open sockets by kind (SOCKET_KINDS)
        self.publisher: asyncio.Task | None = None
        self.shutting_down = False  # after SIGTERM no new engine starts; new audio sockets get 4503
        self.signals_installed = False
        self.exit_hook_installed = False

    # -- the engine
    def get_engine(self) -> Engine:
        """The engine, made on first use (and again after it was shut down, unless the process is stopping)."""
        with self.engine_lock:
            if self.engine is None or (self.engine.closed and not self.shutting_down):
                self.engine = self.engine_factory()
            return self.engine

    def current_engine(self) -> Engine | None:
        """The engine if one was made (never makes one)."""
        return self.engine

    # -- start: called by the entry point, or by the first socket of a web process
    def start(self) -> None:
        """Install the exit hook, the SIGTERM/SIGINT drain and the status publisher (each once; needs a
        running loop for the last two)."""
        if not self.exit_hook_installed:
            self.exit_hook_installed = True
            atexit.register(self.stop_at_exit)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self.install_signal_handlers(loop)
        if settings.REDIS_URL and (self.publisher is None or self.publisher.done()):
            self.publisher = loop.create_task(self.publish_forever())

    def install_signal_handlers(self, loop: asyncio.AbstractEventLoop) -> None:
        """Daphne sends no lifespan events: on SIGTERM/SIGINT drain gracefully, then chain to the server's
        handler (flashlearn/servers/)."""
        if self.signals_installed or threading.current_thread() is not threading.main_thread():
            return
        self.signals_installed = True
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(signum)

            def handler(received, frame, previous=previous):
                loop.call_soon_threadsafe(lambda: loop.create_task(self.graceful_shutdown(received, frame, previous)))

            signal.signal(signum, handler)

    # -- sockets
    def socket_opened(self, socket, kind: str) -> None:
        self.sockets.add(socket)
        self.clients[kind] += 1
        self.start()

    def socket_closed(self, socket, kind: str) -> None:
        self.sockets.discard(socket)
        self.clients[kind] -= 1

    # -- status
    def local_snapshot(self) -> dict:
        engine = self.engine
        return {
            "mode": settings.TRANSCRIPTION_ENGINE,
            "engine": engine.snapshot() if engine is not None and not engine.closed else None,
            "clients": {kind: self.clients[kind] for kind in SOCKET_KINDS},
        }

    async def publish_now(self) -> None:
        """With Redis: this process's snapshot for the cross-process `/status` (transcription/registry.py)."""
        if not settings.REDIS_URL:
            return
        from transcription.registry import publish_process_status

        try:
            await asyncio.get_running_loop().run_in_executor(None, publish_process_status, self.local_snapshot())
        except Exception as exc:
            logger.warning("could not publish the transcription status: %s", exc.__class__.__name__)

    async def publish_forever(self) -> None:
        while True:
            await self.publish_now()
            await asyncio.sleep(PUBLISH_INTERVAL_SECONDS)

    # -- shutdown
    async def drain(self) -> None:
        """Flush every stream (speakers get their last final), then close every socket with 1001."""
        self.shutting_down = True
        if self.engine is not None:
            await self.engine.shutdown()
        for socket in list(self.sockets):
            await socket.going_away()
        if self.publisher is not None:
            self.publisher.cancel()
        await asyncio.sleep(0.2)  # let the close frames leave

    async def graceful_shutdown(self, signum=None, frame=None, previous=None) -> None:
        try:
            await asyncio.wait_for(self.drain(), timeout=settings.TRANSCRIPTION_SHUTDOWN_GRACE)
        except Exception:
            logger.exception("graceful transcription shutdown did not finish")
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL and signum is not None:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    def stop_at_exit(self) -> None:
        """Last resort at interpreter exit: stop recorders and the model without the loop."""
        if self.engine is not None and not self.engine.closed:
            self.engine.shutdown_blocking()


_current: TranscriptionRuntime | None = None
_current_lock = threading.Lock()


def current() -> TranscriptionRuntime:
    """The process's runtime: the one the entry point started, else one made now (not at import)."""
    global _current
    with _current_lock:
        if _current is None:
            _current = TranscriptionRuntime()
        return _current


def use(runtime: TranscriptionRuntime | None) -> TranscriptionRuntime | None:
    """Make `runtime` the process's (tests; an entry point with a runtime of its own). Returns the previous."""
    global _current
    with _current_lock:
        previous, _current = _current, runtime
        return previous
