"""The live-server harness: the project in a subprocess, with real start-up, real settings and real servers
on loopback. One harness for every test that needs a real server: `running(argv, ...)` for any command,
`serve(...)` for `manage.py serve` under any server of flashlearn.servers (tests parametrise over
`SERVERS`)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from flashlearn import servers

ROOT = Path(__file__).resolve().parents[2]
# Variables a developer's shell or CI may have set that would change what a subprocess sees.
_PROJECT_VARS = (
    "DATABASE_URL", "DIRECT_DATABASE_URL", "DB_POOL_MODE", "REDIS_URL", "REDIS_PREFIX", "DEBUG", "SECRET_KEY",
    "ALLOWED_HOSTS", "CORS_ALLOWED_ORIGINS", "WEB_CONCURRENCY", "DJANGO_SETTINGS_MODULE", "DATABASE_TEST_NAME",
    "SECURE_SSL_REDIRECT", "LOG_LEVEL", "HOST", "PORT", "SCHEMA_MODE",
)


def project_env(**overrides: str | None) -> dict[str, str]:
    """os.environ without the project's variables, plus `overrides` (None removes a variable)."""
    env = {key: value for key, value in os.environ.items() if key not in _PROJECT_VARS}
    env["PYTHONUNBUFFERED"] = "1"
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def get(url: str, *, headers: dict[str, str] | None = None, timeout: float = 15):
    """(status, headers, body bytes) without raising on 4xx/5xx and without following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def wait_until_serving(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers: that is all "serving" means here
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout}s:\n{log.read_text()[-4000:]}")


class Server:
    def __init__(self, proc: subprocess.Popen, log: Path):
        self.proc = proc
        self.log = log

    def output(self) -> str:
        return self.log.read_text()


@contextlib.contextmanager
def running(argv: list[str], *, env: dict[str, str], ready_url: str, log: Path, timeout: float = 60):
    """Start `argv` in the project root (output to `log`), wait until `ready_url` answers, SIGTERM it at the end."""
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(ready_url, proc, log, timeout)
        yield Server(proc, log)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


SERVERS = tuple(servers.SERVERS)


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Served:
    """A running `manage.py serve`: its port, the launcher process and its output."""

    port: int
    server: Server

    @property
    def proc(self) -> subprocess.Popen:
        return self.server.proc

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.server.output()

    def worker_pids(self) -> list[int]:
        with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as children:
            return [int(pid) for pid in children.read().split()]

    def worker_pid(self) -> int:
        (pid,) = self.worker_pids()
        return pid


@contextlib.contextmanager
def serve(*, env: dict[str, str], log: Path, server: str = servers.DEFAULT, workers: int = 1,
          port: int | None = None, timeout: float = 60):
    """`manage.py serve --server SERVER --workers N` on a free port until the block ends (then SIGTERM)."""
    port = port or free_port()
    argv = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--server", server]
    with running(argv, env=env, ready_url=f"http://127.0.0.1:{port}/healthz", log=log, timeout=timeout) as proc:
        yield Served(port, proc)
