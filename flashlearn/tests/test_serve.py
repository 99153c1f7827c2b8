"""`manage.py serve`: N ASGI workers (flashlearn/servers/, `--server NAME`) sharing one listening socket."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

import pytest
from django.core.management.base import CommandError

from bench.core import free_port
from flashlearn import servers
from flashlearn.management.commands.serve import default_concurrency, resolve_concurrency, worker_command
from flashlearn.tests.live import ROOT, get, manage, project_env, running

REDIS = "redis://127.0.0.1:6379/0"


def test_default_is_every_core_with_redis(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert default_concurrency(redis_url=REDIS) == 6
    assert resolve_concurrency(0, redis_url=REDIS) == 6


def test_default_is_one_with_the_in_memory_layer(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert resolve_concurrency(0, redis_url=None) == 1


def test_explicit_count_wins():
    assert resolve_concurrency(3, redis_url=REDIS) == 3
    assert resolve_concurrency(1, redis_url=None) == 1


def test_more_than_one_worker_without_redis_is_refused_with_the_reason():
    with pytest.raises(CommandError) as info:
        resolve_concurrency(2, redis_url=None)
    message = str(info.value)
    assert "WEB_CONCURRENCY=2 needs REDIS_URL" in message
    assert "in-memory channel layer" in message


def test_negative_count_is_refused():
    with pytest.raises(CommandError):
        resolve_concurrency(-1, redis_url=REDIS)


def test_daphne_worker_shares_the_socket_and_keeps_client_ips_honest():
    command = worker_command("daphne", 7)
    assert command[command.index("--fd") + 1] == "7"
    assert "--proxy-headers" not in command  # would trust a client-written X-Forwarded-For
    assert command[-1] == "flashlearn.asgi:application"


def test_uvicorn_worker_shares_the_socket():
    assert worker_command("uvicorn", 7)[-2:] == ["flashlearn.servers.uvicorn", "7"]


def test_uvicorn_worker_adopts_the_socket_with_its_real_family(monkeypatch):
    """uvicorn's own --fd labels any descriptor AF_UNIX, and asyncio then skips TCP_NODELAY."""
    import socket

    import uvicorn

    from flashlearn.servers import uvicorn as workers

    adopted = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: adopted.extend(sockets))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        monkeypatch.setattr(sys, "argv", ["workers", str(os.dup(listener.fileno()))])
        workers.main()
        (sock,) = adopted
        try:
            assert sock.family == socket.AF_INET and sock.type == socket.SOCK_STREAM
            assert sock.getsockname() == listener.getsockname()
        finally:
            sock.close()


def test_serve_refuses_two_workers_without_redis_at_start_up():
    result = manage("serve", "--port", str(free_port()), env=project_env(DEBUG="true", WEB_CONCURRENCY="2"))
    assert result.returncode != 0
    assert "WEB_CONCURRENCY=2 needs REDIS_URL" in result.stderr


def test_busy_port_is_a_clear_error():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = manage("serve", "--port", str(port), env=project_env(DEBUG="true"))
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(entry))
    return found


async def _websocket_close_code(url: str) -> int:
    """Websockets reach the ASGI stack through the launcher: no token, so it closes with 4401."""
    import websockets

    async with websockets.connect(url, origin="http://localhost", open_timeout=10) as ws:
        try:
            await asyncio.wait_for(ws.recv(), timeout=10)
        except websockets.ConnectionClosed:
            pass
        return ws.close_code


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.redis
def test_two_workers_serve_and_stop_cleanly_on_sigterm(tmp_path):
    port = free_port()
    env = project_env(DEBUG="true", REDIS_URL=REDIS, REDIS_PREFIX="foundationtest-serve", LOG_LEVEL="INFO",
                      DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}")
    argv = [sys.executable, "manage.py", "serve", "--port", str(port), "--workers", "2"]
    base = f"http://127.0.0.1:{port}"
    with running(argv, env=env, ready_url=f"{base}/healthz", log=tmp_path / "serve.log") as server:
        deadline = time.monotonic() + 30
        while len(_children(server.proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = _children(server.proc.pid)
        assert len(workers) == 2
        for n in range(20):
            status, headers, body = get(f"{base}/healthz", headers={"X-Request-ID": f"serve-{n}"})
            assert status == 200 and json.loads(body) == {"status": "ok"}
            assert headers["X-Request-ID"] == f"serve-{n}"

        assert asyncio.run(_websocket_close_code(f"ws://127.0.0.1:{port}/ws/no-such-route/")) == 4401

        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers), "a worker outlived the launcher"
    output = server.output()
    assert f"with 2 {servers.DEFAULT} process(es)" in output
    logged = [json.loads(line) for line in output.splitlines() if line.startswith("{") and '"request"' in line]
    assert {entry["request_id"] for entry in logged} >= {f"serve-{n}" for n in range(20)}


@pytest.mark.redis
def test_workers_die_with_the_launcher_even_on_sigkill(tmp_path):
    port = free_port()
    env = project_env(DEBUG="true", REDIS_URL=REDIS, REDIS_PREFIX="foundationtest-serve", LOG_LEVEL="WARNING",
                      DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}")
    argv = [sys.executable, "manage.py", "serve", "--port", str(port), "--workers", "2"]
    with running(argv, env=env, ready_url=f"http://127.0.0.1:{port}/healthz", log=tmp_path / "serve.log") as server:
        deadline = time.monotonic() + 30
        while len(_children(server.proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = _children(server.proc.pid)
        assert len(workers) == 2
        server.proc.kill()
        server.proc.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers)


@pytest.mark.parametrize("server", servers.SERVERS)
def test_single_worker_without_redis_serves_http_and_websockets(tmp_path, server):
    port = free_port()
    env = project_env(DEBUG="true", LOG_LEVEL="WARNING", DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}")
    argv = [sys.executable, "manage.py", "serve", "--port", str(port), "--server", server]
    with running(argv, env=env, ready_url=f"http://127.0.0.1:{port}/healthz", log=tmp_path / "serve.log") as served:
        assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        assert asyncio.run(_websocket_close_code(f"ws://127.0.0.1:{port}/ws/no-such-route/")) == 4401
        served.proc.send_signal(signal.SIGINT)
        assert served.proc.wait(timeout=30) == 0
    assert f"with 1 {server} process(es)" in served.output()


def test_procfile_uses_the_launcher_and_migrates_on_release():
    procfile = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert "manage.py serve" in procfile["web"] and "$PORT" in procfile["web"]
    assert "manage.py migrate" in procfile["release"]
