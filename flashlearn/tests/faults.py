"""Fault injection for tests: a TCP proxy that fails on command, and a private redis-server.

Point a client (DATABASE_URL, REDIS_URL) at `FaultProxy(...).port` instead of the real service,
then switch the proxy between modes while the code under test runs:

    pass      forward bytes both ways (the default)
    refuse    the port is closed: new connections are refused (ECONNREFUSED), open ones are cut
    drop      new connections are accepted and closed at once; open ones are cut
    stall     nothing moves: new connections are accepted but never reach the service, open ones
              stop forwarding (bytes are held, not lost) until the proxy passes again

The machine's shared PostgreSQL and Redis are never touched: only the connections through the
proxy see the fault. `RedisServer` is a redis-server of the test's own on a free port, for tests
that really stop and start Redis.
"""

from __future__ import annotations

import contextlib
import select
import shutil
import socket
import subprocess
import threading
import time

from bench.core import free_port

MODES = ("pass", "refuse", "drop", "stall")
_CHUNK = 65536
_POLL = 0.05


class FaultProxy:
    """A threaded loopback TCP proxy in front of `upstream_host:upstream_port`."""

    def __init__(self, upstream_host: str, upstream_port: int, *, port: int | None = None):
        self.upstream = (upstream_host, int(upstream_port))
        self.port = port or free_port()
        self.mode = "pass"
        self.accepted = 0  # connections accepted so far, whatever happened to them
        self._lock = threading.Lock()
        self._flowing = threading.Event()
        self._flowing.set()
        self._closing = threading.Event()
        self._listener: socket.socket | None = None
        self._pairs: set[_Pair] = set()
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        self._listen()
        self._thread = threading.Thread(target=self._accept_loop, name=f"fault-proxy-{self.port}", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        self._flowing.set()  # release stalled pumps so their threads end
        self._cut_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._unlisten()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()

    # --- modes ---------------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        with self._lock:
            self.mode = mode
        if mode == "stall":
            self._flowing.clear()
        else:
            self._flowing.set()
        if mode in ("refuse", "drop"):
            self._cut_all()
        if mode == "refuse":
            self._unlisten()
        else:
            self._listen()

    def pass_through(self) -> None:
        self.set_mode("pass")

    def refuse(self) -> None:
        self.set_mode("refuse")

    def drop(self) -> None:
        self.set_mode("drop")

    def stall(self) -> None:
        self.set_mode("stall")

    def url(self, template: str) -> str:
        """`template` with {port} filled in, e.g. 'postgres://postgres@127.0.0.1:{port}/flashlearn'."""
        return template.format(port=self.port)

    # --- internals -----------------------------------------------------------------------------
    def _listen(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(128)
            listener.setblocking(False)
            self._listener = listener

    def _unlisten(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown first: the accept loop's select() holds the socket open past close() otherwise,
            # and a connect in that window would be accepted into the backlog and then reset.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()

    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            listener = self._listener
            if listener is None:
                time.sleep(_POLL)
                continue
            try:
                ready, _, _ = select.select([listener], [], [], _POLL)
                if not ready:
                    continue
                client, _ = listener.accept()
            except (OSError, ValueError):  # closed under us by refuse()/close()
                continue
            client.setblocking(True)
            with self._lock:
                self.accepted += 1
                mode = self.mode
            if mode == "drop":
                client.close()
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        pair = _Pair(client)
        with self._lock:
            self._pairs.add(pair)
        try:
            while not self._flowing.wait(_POLL):  # a stalled proxy holds the client, unanswered
                if pair.cut or self._closing.is_set():
                    return
            if pair.cut or self._closing.is_set():
                return
            try:
                pair.upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                return
            pair.upstream.settimeout(None)
            if pair.cut:
                return
            pump = threading.Thread(target=self._pump, args=(pair, pair.upstream, client), daemon=True)
            pump.start()
            self._pump(pair, client, pair.upstream)
            pump.join()
        finally:
            pair.close()
            with self._lock:
                self._pairs.discard(pair)

    def _pump(self, pair: _Pair, src: socket.socket, dst: socket.socket) -> None:
        while not pair.cut and not self._closing.is_set():
            try:
                ready, _, _ = select.select([src], [], [], _POLL)
                if not ready:
                    continue
                data = src.recv(_CHUNK)
            except (OSError, ValueError):
                break
            if not data:
                break
            while not self._flowing.wait(_POLL):  # stalled: hold the bytes until passing again
                if pair.cut or self._closing.is_set():
                    return
            try:
                dst.sendall(data)
            except OSError:
                break
        pair.cut = True
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_RDWR)

    def _cut_all(self) -> None:
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            pair.cut = True
            pair.shutdown()


class _Pair:
    """One proxied connection: the client's socket and, once connected, the upstream's."""

    def __init__(self, client: socket.socket):
        self.client = client
        self.upstream: socket.socket | None = None
        self.cut = False

    def shutdown(self) -> None:
        for sock in (self.client, self.upstream):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.shutdown()
        for sock in (self.client, self.upstream):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()


class RedisServer:
    """A redis-server of the test's own on a free loopback port; stop() and start() keep the port."""

    def __init__(self, *, port: int | None = None):
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("redis-server is not installed")
        self.executable = executable
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, timeout: float = 10) -> RedisServer:
        argv = [
            self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning",
        ]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} exited with {self.proc.returncode}")
            if self.ping():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server on port {self.port} did not answer within {timeout}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
