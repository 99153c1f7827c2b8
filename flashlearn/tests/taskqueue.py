"""Celery in tests: a broker with no worker (to see what a request queued), and real worker processes.

Unit tests run tasks inline (test_settings: CELERY_TASK_ALWAYS_EAGER). `broker_without_worker`
switches the one Celery app to kombu's in-process transport with eagerness off, so a request
only publishes and the test reads the queued messages. `CeleryWorker` starts `celery -A
flashlearn worker` as a subprocess against this run's Redis (REDIS_PREFIX keeps parallel runs
apart: every Celery key lives under it) and this run's test database.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection as db_connection
from kombu import pools as kombu_pools

from flashlearn.celery import app
from flashlearn.tests.live import ROOT, project_env


def _forget_broker_connections() -> None:
    # Celery keeps the connection and producer pools of the broker_url it first used; a test that
    # changes broker_url must drop them (private attributes: test code only, no public reset exists).
    app._pool = None
    app.amqp._producer_pool = None
    kombu_pools.reset()  # kombu's process-wide registry of pools per connection


@contextlib.contextmanager
def celery_conf(**values) -> Iterator[None]:
    """Change app.conf for a block; the broker pools are rebuilt so a new broker_url takes effect."""
    saved = {name: app.conf[name] for name in values}
    _forget_broker_connections()
    app.conf.update(values)
    try:
        yield
    finally:
        _forget_broker_connections()
        app.conf.update(saved)


def queued_messages(queue: str | None = None) -> list[dict]:
    """Drain the queue: each message as {"task", "args", "kwargs", "eta", "retries"}."""
    out = []
    with app.connection_for_write() as connection:
        simple = connection.SimpleQueue(queue or app.conf.task_default_queue)
        try:
            while True:
                try:
                    message = simple.get(block=False)
                except simple.Empty:
                    break
                args, kwargs, _embed = message.decode()
                headers = message.headers
                out.append({"task": headers["task"], "args": list(args), "kwargs": kwargs,
                            "eta": headers.get("eta"), "retries": headers.get("retries", 0)})
                message.ack()
        finally:
            simple.close()
    return out


@pytest.fixture
def broker_without_worker():
    """Tasks are published to an in-process broker and never run; returns `queued_messages`."""
    with celery_conf(task_always_eager=False, broker_url="memory://localhost/"):
        queued_messages()  # whatever an earlier test left
        yield queued_messages
        queued_messages()


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def database_url_for_subprocess() -> str:
    """The URL of the database this test run uses (pytest-django's test_<name>), for a subprocess."""
    params = db_connection.settings_dict
    user = quote(params.get("USER") or "", safe="")
    password = f":{quote(params['PASSWORD'], safe='')}" if params.get("PASSWORD") else ""
    host = params.get("HOST") or "127.0.0.1"
    port = f":{params['PORT']}" if params.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{params['NAME']}"


class CeleryWorker:
    """One `celery -A flashlearn worker` process (solo pool: kill -9 of the pid kills the worker)."""

    def __init__(self, *, log: Path, broker_url: str, **env: str):
        self.log = log
        self.env = project_env(
            DJANGO_SETTINGS_MODULE="flashlearn.settings", DEBUG="true", SECRET_KEY=settings.SECRET_KEY,
            DATABASE_URL=database_url_for_subprocess(), REDIS_URL=settings.REDIS_URL or None,
            REDIS_PREFIX=settings.REDIS_PREFIX, CELERY_BROKER_URL=broker_url, LOG_LEVEL="INFO", **env,
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> CeleryWorker:
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "flashlearn", "worker", "--pool=solo", "--without-mingle",
             "--without-gossip", "--loglevel=INFO", "-n", f"test-{os.getpid()}-{time.monotonic_ns()}@%h"],
            cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        )
        handle.close()
        try:
            wait_for(lambda: b"ready." in self.log.read_bytes() or self.proc.poll() is not None, timeout=60,
                     what="the worker to start")
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
        except AssertionError:
            self.kill()
            raise
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown, no acknowledgement, no lease released."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Cold shutdown (SIGQUIT): the test is over, nothing in flight needs finishing."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGQUIT)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
