"""The ASGI servers `manage.py serve` runs, each adapted in one module of this package.

Everything that depends on one server's internals lives in its module here and nowhere else:
`daphne.py` (daphne 4.2 / Twisted / autobahn), `uvicorn.py` (uvicorn 0.38 with httptools and the
`websockets` implementation). Each module names the version it was written for, checks it when a
worker starts (`check_version`: another major version refuses to start, another minor one logs a
warning) and has contract tests in flashlearn/tests/test_servers.py that fail on an upgrade which
moved what it relies on. docs/decisions/asgi-server.md says which one is the default and why.

The one piece of process-wide state here is what a running server offers messaging's fan-out
(`SocketAccess`, see messaging/transport.py). The worker's entry point installs it when the
server starts (`serving`); nothing installs it at import time, and without it (tests, runserver,
a plain `daphne` command line) the server-agnostic path is used: the awaited ASGI `send` behind a
bounded per-socket queue.
"""

from __future__ import annotations

import logging
from typing import Protocol

logger = logging.getLogger("flashlearn.server")

# name -> module
SERVERS = {
    "uvicorn": "flashlearn.servers.uvicorn",
    "daphne": "flashlearn.servers.daphne",
}
# Measured against daphne and granian serving this project in one run (docs/decisions/asgi-server.md):
# the fastest that passes every test. Daphne stays supported (and is Channels' `runserver`).
DEFAULT = "uvicorn"
APPLICATION = "flashlearn.asgi:application"


def check_version(*, server: str, written_for: str, found: str) -> None:
    """Refuse another major version of `server` (SystemExit); warn on another minor one."""
    if found.split(".")[0] != written_for.split(".")[0]:
        raise SystemExit(
            f"flashlearn.servers.{server} was written for {server} {written_for}.x, found {found}: "
            "re-check the adapter (and its contract tests in flashlearn/tests/test_servers.py) before upgrading."
        )
    if not found.startswith(written_for + "."):
        logger.warning("flashlearn.servers.%s was written for %s %s.x, running %s", server, server, written_for, found)


def worker_command(name: str, fd: int) -> list[str]:
    """The command line of one worker of server `name` accepting on the inherited socket `fd`."""
    import importlib

    if name not in SERVERS:
        raise ValueError(f"unknown server {name!r}: choose one of {', '.join(SERVERS)}")
    return importlib.import_module(SERVERS[name]).worker_command(fd)


class DirectWrite(Protocol):
    """Writes one text frame to one socket without awaiting; False: not written (send it the awaited way)."""

    def __call__(self, text: str) -> bool: ...

    def backlog(self) -> int: ...


class SocketAccess(Protocol):
    """What a running server offers beyond ASGI for one websocket, found from its own `send`."""

    def backlog(self, send) -> int:
        """Bytes accepted for this socket that the client has not read yet (0: unknown)."""

    def direct_writer(self, send) -> DirectWrite | None:
        """A synchronous writer for this socket, or None (every frame takes the awaited `send`)."""


_serving: SocketAccess | None = None


def serving(access: SocketAccess | None) -> None:
    """Called by a worker's entry point once its server exists (None: forget it, for tests)."""
    global _serving
    _serving = access


def socket_access() -> SocketAccess | None:
    return _serving


__all__ = ["APPLICATION", "DEFAULT", "SERVERS", "DirectWrite", "SocketAccess", "check_version",
           "serving", "socket_access", "worker_command"]
