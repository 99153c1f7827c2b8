"""Serve HTTP and websockets with N daphne processes sharing one listening socket.

One daphne process uses one core. The parent binds HOST:PORT once and hands the socket to
each child with `daphne --fd`, so the kernel spreads connections over the children; the
parent forwards SIGTERM/SIGINT, restarts a child that dies, and exits when all are gone.
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

RESTART_BACKOFF_SECONDS = 1.0
SHUTDOWN_GRACE_SECONDS = 20.0


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


class Command(BaseCommand):
    help = "Serve Flashlearn (HTTP + websockets) with WEB_CONCURRENCY daphne processes on HOST:PORT."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.HOST)
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--workers", type=int, default=settings.WEB_CONCURRENCY,
                            help="daphne processes (default: WEB_CONCURRENCY, else cores with Redis, 1 without)")

    def handle(self, *args, host: str, port: int, workers: int, **options):
        workers = resolve_concurrency(workers, redis_url=settings.REDIS_URL)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(1024)
        sock.set_inheritable(True)
        fd = sock.fileno()
        self.stdout.write(f"serving on http://{host}:{port} with {workers} daphne process(es)", ending="\n")
        self.stdout.flush()

        command = [sys.executable, "-m", "daphne", "--fd", str(fd), "--proxy-headers",
                   "--websocket_timeout", "-1", "flashlearn.asgi:application"]
        children: dict[int, subprocess.Popen] = {}
        stopping = False

        def spawn(slot: int) -> None:
            children[slot] = subprocess.Popen(command, pass_fds=(fd,))

        def stop(signum, frame):
            nonlocal stopping
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
                deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS
            for slot, child in list(children.items()):
                code = child.poll()
                if code is None:
                    if deadline and time.monotonic() > deadline:
                        child.kill()
                    continue
                del children[slot]
                if not stopping:
                    self.stderr.write(f"daphne worker {slot} exited with {code}; restarting")
                    time.sleep(RESTART_BACKOFF_SECONDS)
                    spawn(slot)
        sock.close()
