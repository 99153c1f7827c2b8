"""Serve HTTP and websockets with N ASGI worker processes sharing one listening socket.

One worker process uses one core. The parent binds HOST:PORT once and hands the socket to
each child (`--server NAME`: one of flashlearn.servers.SERVERS, each adapted in its own module of
flashlearn/servers/), so the kernel spreads connections over the children; the parent forwards
SIGTERM/SIGINT, restarts a child that dies, and exits when all are gone.
docs/decisions/asgi-server.md compares the servers and says why the default is the default.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from flashlearn import servers

RESTART_BACKOFF_SECONDS = 1.0
# Workers drain within WEB_SHUTDOWN_GRACE; this much more before they are killed.
KILL_MARGIN_SECONDS = 2.0
CRASH_WINDOW_SECONDS = 10.0
MAX_FAST_FAILURES = 5


def default_concurrency(*, redis_url: str | None) -> int:
    """All cores when Redis shares groups between processes; 1 with the in-memory layer."""
    return (os.cpu_count() or 1) if redis_url else 1


def resolve_concurrency(requested: int, *, redis_url: str | None) -> int:
    workers = requested or default_concurrency(redis_url=redis_url)
    if workers < 1:
        raise CommandError("WEB_CONCURRENCY must be at least 1.")
    if workers > 1 and not redis_url:
        raise CommandError(
            f"WEB_CONCURRENCY={workers} needs REDIS_URL: the in-memory channel layer does not cross "
            "processes, so websocket groups and presence would split between workers. Set REDIS_URL "
            "or WEB_CONCURRENCY=1."
        )
    return workers


SERVERS = tuple(servers.SERVERS)


def worker_command(server: str, fd: int) -> list[str]:
    """One worker process of `server` accepting on the inherited socket `fd` (flashlearn/servers/)."""
    try:
        return servers.worker_command(server, fd)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the launcher dies (even by SIGKILL), so no worker is orphaned."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the launcher's own shutdown still applies
        pass


class Command(BaseCommand):
    help = "Serve Flashlearn (HTTP + websockets) with WEB_CONCURRENCY ASGI worker processes on HOST:PORT."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.HOST)
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--workers", type=int, default=settings.WEB_CONCURRENCY,
                            help="worker processes (default: WEB_CONCURRENCY, else cores with Redis, 1 without)")
        parser.add_argument("--server", choices=SERVERS, default=servers.DEFAULT,
                            help=f"ASGI server each worker runs (default: {servers.DEFAULT}; "
                                 "docs/decisions/asgi-server.md)")

    def handle(self, *args, host: str, port: int, workers: int, server: str, **options):
        workers = resolve_concurrency(workers, redis_url=settings.REDIS_URL)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted connections
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        sock.listen(1024)
        sock.set_inheritable(True)
        fd = sock.fileno()
        self.stdout.write(f"serving on http://{host}:{port} with {workers} {server} process(es)")
        self.stdout.flush()

        command = worker_command(server, fd)
        children: dict[int, subprocess.Popen] = {}
        started_at: dict[int, float] = {}
        fast_failures = 0
        stopping = False
        exit_code = 0

        def spawn(slot: int) -> None:
            children[slot] = subprocess.Popen(command, pass_fds=(fd,), preexec_fn=_die_with_parent)
            started_at[slot] = time.monotonic()

        def stop(signum, frame):
            nonlocal stopping
            if not stopping and sock.fileno() != -1:
                # The workers stop accepting on SIGTERM; once our copy of the socket is closed too,
                # new connections are refused at once instead of queueing where nobody accepts.
                sock.close()
            stopping = True
            for child in children.values():
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        for slot in range(workers):
            spawn(slot)

        deadline = None
        while children:
            time.sleep(0.2)
            if stopping and deadline is None:
                deadline = time.monotonic() + settings.WEB_SHUTDOWN_GRACE + KILL_MARGIN_SECONDS
            for slot, child in list(children.items()):
                code = child.poll()
                if code is None:
                    if deadline and time.monotonic() > deadline:
                        child.kill()
                    continue
                del children[slot]
                if stopping:
                    continue
                lived = time.monotonic() - started_at[slot]
                fast_failures = fast_failures + 1 if lived < CRASH_WINDOW_SECONDS else 0
                if fast_failures >= MAX_FAST_FAILURES:
                    # A worker that cannot even start (import error, bad settings) would only spin.
                    self.stderr.write(f"{server} workers keep exiting at start-up (last code {code}); giving up")
                    exit_code = 1
                    stop(None, None)
                    continue
                self.stderr.write(f"{server} worker {slot} exited with {code}; restarting")
                time.sleep(RESTART_BACKOFF_SECONDS)
                spawn(slot)
        if sock.fileno() != -1:
            sock.close()
        if exit_code:
            sys.exit(exit_code)
