"""Run the project in a subprocess: real start-up, real settings, real servers on loopback."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Variables a developer's shell or CI may have set that would change what a subprocess sees.
_PROJECT_VARS = (
    "DATABASE_URL", "DIRECT_DATABASE_URL", "DB_POOL_MODE", "REDIS_URL", "REDIS_PREFIX", "DEBUG", "SECRET_KEY",
    "ALLOWED_HOSTS", "CORS_ALLOWED_ORIGINS", "WEB_CONCURRENCY", "DJANGO_SETTINGS_MODULE", "DATABASE_TEST_NAME",
    "SECURE_SSL_REDIRECT", "LOG_LEVEL", "HOST", "PORT",
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
