"""The door against a real `manage.py serve` in production settings, under every supported server
(flashlearn.servers): clients without an Origin, oversized bodies, heads and frames refused with flat
memory, and a SIGTERM that drains."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import socket
import threading
import time

import pytest

from flashlearn.tests import live as harness
from flashlearn.tests.live import get, manage, project_env

MiB = 1024 * 1024
API_HOST = "api.example.com"
FRONT_END = "https://app.example.com"
# Memory a refused 100 MiB body or frame may cost the worker (before: +85 MiB body, +213 MiB frame).
RSS_SLACK = 16 * MiB


def production_env(database: str, **extra: str) -> dict[str, str]:
    return project_env(
        DEBUG="false", SECRET_KEY="live-transport-" + "s" * 50, ALLOWED_HOSTS=f"{API_HOST},127.0.0.1",
        CORS_ALLOWED_ORIGINS=FRONT_END, SECURE_SSL_REDIRECT="false", LOG_LEVEL="WARNING", DOTENV_FILE="",
        DATABASE_URL=f"sqlite:///{database}", DJANGO_SETTINGS_MODULE="flashlearn.tests.live_settings", **extra,
    )


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> str:
    database = tmp_path_factory.mktemp("live") / "template.sqlite3"
    result = manage("migrate", "--noinput", env=production_env(str(database)))
    assert result.returncode == 0, result.stderr[-3000:]
    return str(database)


def serve(tmp_path, migrated: str, server: str, **extra: str):
    database = tmp_path / "live.sqlite3"
    shutil.copy(migrated, database)
    return harness.serve(env=production_env(str(database), **extra), log=tmp_path / "serve.log", server=server)


@pytest.fixture(scope="module", params=harness.SERVERS)
def live(request, tmp_path_factory, migrated):
    tmp_path = tmp_path_factory.mktemp(f"serve-{request.param}")
    with serve(tmp_path, migrated, request.param) as served:
        yield served.port, served


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def access_token(port: int, email: str) -> str:
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/signup", method="POST",
        data=json.dumps({"email": email, "password": "a-long-passphrase-4-tests"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read())["access"]


def raw_exchange(port: int, head: bytes, body_chunks=(), timeout: float = 15) -> bytes:
    """Send a head (and body pieces while the server still reads), return what the server answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(head)
        try:
            for chunk in body_chunks:
                conn.sendall(chunk)
        except OSError:
            pass  # the server stopped reading: expected once it has answered
        answer = b""
        try:
            while data := conn.recv(65536):
                answer += data
        except ConnectionResetError:
            pass
        return answer


# --- Item 15 + 14: a real client, no Origin header ------------------------------------------


async def whoami_session(port: int, token: str, origin: str | None):
    import websockets

    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/auth/whoami/?token={token}", origin=origin,
                                  open_timeout=10) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        await ws.send("hello")
        second = json.loads(await asyncio.wait_for(ws.recv(), 10))
        await ws.send(json.dumps({"type": "ping"}))
        third = json.loads(await asyncio.wait_for(ws.recv(), 10))
        return first, second, third


async def refused_status(port: int, origin: str) -> int:
    import websockets

    with pytest.raises(websockets.InvalidStatus) as info:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws/auth/whoami/", origin=origin, open_timeout=10):
            pass
    return info.value.response.status_code


def test_real_clients_reach_their_sockets_and_foreign_pages_do_not(live):
    port, server = live
    token = access_token(port, "origin-cases@example.com")
    for origin in (None, FRONT_END, f"https://{API_HOST}"):
        first, second, third = asyncio.run(whoami_session(port, token, origin))
        assert first["type"] == "whoami" and first["email"] == "origin-cases@example.com", origin
        assert second["code"] == third["code"] == "unsupported_message"  # the socket stayed open
    assert asyncio.run(refused_status(port, "https://evil.example")) == 403
    deadline = time.monotonic() + 5
    while "https://evil.example" not in server.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    refusal = [line for line in server.output().splitlines() if "https://evil.example" in line]
    assert len(refusal) == 1 and "CORS_ALLOWED_ORIGINS" in refusal[0]


# --- Item 12 + issue 11 item 6: oversized input, memory flat -------------------------------------


def test_oversized_request_line_and_headers_are_414_and_431(live):
    port, _ = live
    answer = raw_exchange(port, b"GET /healthz?" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 414 ")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "request_line_too_long"
    big = b"".join(b"X-Filler-%d: %s\r\n" % (n, b"b" * 1000) for n in range(40))
    answer = raw_exchange(port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + big + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "headers_too_large"
    assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200


def test_100_mib_bodies_are_413_and_memory_stays_flat(live):
    port, server = live
    worker = server.worker_pid()
    before = rss(worker)
    login = b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    chunk = b"[" * MiB
    declared = raw_exchange(port, login + b"Content-Length: %d\r\n\r\n" % (100 * MiB), [chunk] * 100)
    chunked_piece = b"%x\r\n%s\r\n" % (MiB, chunk)
    streamed = raw_exchange(port, login + b"Transfer-Encoding: chunked\r\n\r\n", [chunked_piece] * 100)
    grown = rss(worker) - before
    print(f"\nworker RSS after two refused 100 MiB bodies: {grown / MiB:+.1f} MiB")
    for answer in (declared, streamed):
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "payload_too_large"
    assert grown < RSS_SLACK


async def send_huge_frame(port: int, token: str, size: int) -> int:
    import websockets

    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/auth/whoami/?token={token}", origin=None,
                                  open_timeout=10, close_timeout=5) as ws:
        await ws.recv()
        try:
            await asyncio.wait_for(ws.send(b"\x00" * size), 30)
            await asyncio.wait_for(ws.recv(), 10)
        except websockets.ConnectionClosed:
            pass
        return ws.protocol.close_rcvd.code if ws.protocol.close_rcvd else 1006


def test_100_mib_websocket_frame_is_refused_and_memory_stays_flat(live):
    port, server = live
    token = access_token(port, "big-frames@example.com")
    worker = server.worker_pid()
    before = rss(worker)
    code = asyncio.run(send_huge_frame(port, token, 100 * MiB))
    grown = rss(worker) - before
    print(f"\nworker RSS after a refused 100 MiB frame: {grown / MiB:+.1f} MiB (close {code})")
    assert code in (1009, 1006)  # 1009 "message too big"; a client still sending may only see the reset
    assert grown < RSS_SLACK


def test_frame_over_the_cap_is_closed_1009_from_its_header(live):
    """A raw client announces a 100 MiB frame: the close comes from the header, before any payload."""
    import base64
    import os
    import struct

    port, _ = live
    token = access_token(port, "frame-header@example.com")
    with socket.create_connection(("127.0.0.1", port), timeout=15) as conn:
        key = base64.b64encode(os.urandom(16))
        conn.sendall(b"GET /ws/auth/whoami/?token=%s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                     % (token.encode(), key))
        received = b""
        while b"whoami" not in received:
            received += conn.recv(65536)
        assert received.startswith(b"HTTP/1.1 101")
        conn.sendall(struct.pack("!BBQ", 0x82, 0x80 | 127, 100 * MiB) + b"\x00" * 4)
        answer = b""
        try:
            while (data := conn.recv(65536)):
                answer += data
        except ConnectionResetError:
            pass
    assert answer[:1] == b"\x88", answer  # a close frame
    assert struct.unpack("!H", answer[2:4])[0] == 1009


# --- Issue 11 item 2: SIGTERM drains ----------------------------------------------------------


async def reconnect_notice(port: int, token: str, opened: threading.Event, result: dict) -> None:
    import websockets

    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/auth/whoami/?token={token}", open_timeout=10) as ws:
        await ws.recv()
        opened.set()
        frames = []
        try:
            while True:
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
        except websockets.ConnectionClosed:
            pass
        result.update(frames=frames, code=ws.protocol.close_rcvd.code if ws.protocol.close_rcvd else 1006)


@pytest.mark.parametrize("server", harness.SERVERS)
def test_sigterm_finishes_in_flight_requests_closes_websockets_1001_and_refuses_new_ones(tmp_path, migrated, server):
    with serve(tmp_path, migrated, server, WEB_SHUTDOWN_GRACE="10") as live:
        port = live.port
        token = access_token(port, "drain@example.com")
        opened, socket_result = threading.Event(), {}
        listener = threading.Thread(target=lambda: asyncio.run(reconnect_notice(port, token, opened, socket_result)))
        listener.start()
        assert opened.wait(15)

        in_flight: list[tuple[int, bytes] | Exception] = []

        def slow_request():
            try:
                status, _, body = get(f"http://127.0.0.1:{port}/test/slow?seconds=3", timeout=30)
                in_flight.append((status, body))
            except Exception as exc:  # noqa: BLE001 (a lost response is what this test counts)
                in_flight.append(exc)

        requests = [threading.Thread(target=slow_request) for _ in range(8)]
        for thread in requests:
            thread.start()
        time.sleep(1.0)  # all eight are being served (each sleeps 3 s in the view)
        live.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)

        after_signal = []
        for _ in range(5):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                    conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    after_signal.append("answered" if conn.recv(100).startswith(b"HTTP/1.1") else "dropped")
            except ConnectionRefusedError:
                after_signal.append("refused")
            except (TimeoutError, ConnectionResetError):
                after_signal.append("dropped")
            time.sleep(0.1)

        for thread in requests:
            thread.join(30)
        listener.join(30)
        assert live.proc.wait(timeout=30) == 0

    lost = [outcome for outcome in in_flight if not (isinstance(outcome, tuple) and outcome[0] == 200)]
    print(f"\nin flight at SIGTERM: {len(in_flight)}, lost: {len(lost)}; new connections after: {after_signal}")
    assert len(in_flight) == 8 and not lost
    assert "dropped" not in after_signal
    assert socket_result["code"] == 1001
    assert socket_result["frames"] == [{"type": "reconnect", "reason": "server shutting down", "retry_after": 1}]
