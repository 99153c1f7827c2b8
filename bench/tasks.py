"""Tasks: calendar sync and creator analysis spread over Celery worker processes; the webhook under a slow Google.

Real `celery -A flashlearn worker` processes (prefork) on a Redis broker (REDIS_URL under a
scratch REDIS_PREFIX, or a private redis-server) and a scratch PostgreSQL database created next
to the one DATABASE_URL names (workers in several processes need a database that takes
concurrent writers; without PostgreSQL the section is skipped). Google is the test suite's fake
server, in this process. The measuring runs in a child process so its settings never mix with
another section's.

Figures:
- 500 connections x 200 events synced by 1 vs 2 worker processes (from queueing to the last
  connection synced; the worker is up before the clock starts);
- the webhook's p50/p99 with Google slowed to 2 s per page and a worker syncing meanwhile, beside
  GET /healthz on the same server with the same client;
- creator analysis (creators/s, with their posts) by 1 vs 2 worker processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from http.client import HTTPConnection
from pathlib import Path

from bench.core import ROOT, Row, bench_env, child_figures, daphne, free_port

SECTION = "tasks"
CONNECTIONS = 500
EVENTS = 200
CREATORS = 4_000
CHUNK = 250
SLOW_PAGE_SECONDS = 2.0
KEY = "bench-tasks-token-encryption-key"


def run(args) -> list[Row]:
    env = bench_env(DEBUG="true", LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="flashlearn.settings",
                    TOKEN_ENCRYPTION_KEY=KEY, BENCH_DURATION=str(args.duration))
    env.pop("DIRECT_DATABASE_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    figures = child_figures(["bench.tasks"], env=env, timeout=1500)
    if figures.get("skipped"):
        print(f"[bench] tasks skipped: {figures['skipped']}")
        return []
    return [
        Row(SECTION, f"calendar sync, {CONNECTIONS} connections x {EVENTS} events, 2 worker processes",
            figures["sync_2_cps"], "conn/s", "same with 1 worker process", figures["sync_1_cps"], True,
            f"{figures['sync_2_eps']:,.0f} vs {figures['sync_1_eps']:,.0f} events/s; target >= 1.6x"),
        Row(SECTION, f"POST webhook p50, Google at {SLOW_PAGE_SECONDS:.0f} s/page", figures["hook_p50"], "ms",
            "GET /healthz p50, same server and client", figures["health_p50"], False,
            f"{figures['hook_requests']} requests, {figures['hook_errors']} errors; target within 2x"),
        Row(SECTION, f"POST webhook p99, Google at {SLOW_PAGE_SECONDS:.0f} s/page", figures["hook_p99"], "ms",
            "GET /healthz p99, same server and client", figures["health_p99"], False,
            f"Google answered {figures['google_answered_during_load']} pages during the load"),
        Row(SECTION, f"creator analysis, {CREATORS:,} creators + posts, 2 worker processes",
            figures["analysis_2_cps"], "creators/s", "same with 1 worker process", figures["analysis_1_cps"], True,
            f"chunks of {CHUNK}"),
    ]


# --- child process ----------------------------------------------------------------------------------

@contextlib.contextmanager
def _redis():
    """(REDIS_URL, REDIS_PREFIX): the configured Redis under a scratch prefix, else a private server."""
    prefix = f"bench-tasks-{uuid.uuid4().hex[:8]}"
    url = os.environ.get("REDIS_URL")
    proc = None
    if not url:
        if not shutil.which("redis-server"):
            yield None, prefix
            return
        port = free_port()
        proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
        time.sleep(0.5)
    try:
        yield url, prefix
    finally:
        from flashlearn.redis import redis_client

        client = redis_client(url=url)
        for key in client.scan_iter(f"{prefix}:*", count=1000):
            client.delete(key)
        if proc:
            proc.terminate()
            proc.wait()


class Worker:
    def __init__(self, env: dict[str, str], concurrency: int):
        self.log = Path(tempfile.mkstemp(prefix="bench-worker-", suffix=".log")[1])
        with self.log.open("wb") as handle:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "flashlearn", "worker", "--pool=prefork",
                 f"--concurrency={concurrency}", "--without-mingle", "--without-gossip", "--loglevel=INFO",
                 "-n", f"bench-{uuid.uuid4().hex[:6]}@%h"],
                cwd=ROOT, env={**env, "LOG_LEVEL": "INFO"},  # INFO: its "ready." line
                stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while b"ready." not in self.log.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                output = self.log.read_text()[-3000:]
                self.stop()
                raise RuntimeError(f"worker did not start:\n{output}")
            time.sleep(0.1)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.unlink(missing_ok=True)


def _wait(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        time.sleep(0.1)


def _latencies(base_url: str, requests: list[tuple[str, str, dict]], threads: int) -> tuple[list[float], int]:
    """Send `requests` (method, path, headers) over `threads` keep-alive connections; latencies in ms."""
    host, port = base_url.removeprefix("http://").split(":")
    out: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def send(share: list[tuple[str, str, dict]]) -> None:
        conn = HTTPConnection(host, int(port), timeout=30)
        mine = []
        for method, path, headers in share:
            started = time.perf_counter()
            conn.request(method, path, body=b"" if method == "POST" else None, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status >= 400:
                errors[0] += 1
        conn.close()
        with lock:
            out.extend(mine)

    pool = [threading.Thread(target=send, args=(requests[i::threads],)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sorted(out), errors[0]


def _pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))]


def _child() -> dict:
    from bench.calendars import in_scratch_database

    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return {"skipped": "needs DATABASE_URL pointing at PostgreSQL (workers write concurrently)"}
    with _redis() as (redis_url, prefix):
        if not redis_url:
            return {"skipped": "needs REDIS_URL or redis-server for the broker"}
        return in_scratch_database(_measure, REDIS_URL=redis_url, REDIS_PREFIX=prefix)


def _measure() -> dict:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from bench.calendars import fake_google_settings
    from calendars import services
    from calendars.models import CalendarConnection, CalendarEvent, CalendarSyncState, PushChannel
    from calendars.tests.factories import connection_create
    from calendars.tests.fakes.google import FakeGoogle
    from creators import demo
    from creators.analysis import chunks
    from creators.models import AnalysisChunk, Creator, CreatorPost

    google = FakeGoogle().start()
    env = {**os.environ, **fake_google_settings(google.base_url), "LOG_LEVEL": "WARNING"}
    env.pop("CALENDAR_WEBHOOK_BASE_URL", None)
    figures: dict = {}
    try:
        users = get_user_model().objects.bulk_create(
            get_user_model()(email=f"user{n}@bench.local", password="!") for n in range(CONNECTIONS))
        connections = []
        for n, user in enumerate(users):
            email = f"user{n}@google.local"
            google.add_events(email, EVENTS)
            connections.append(connection_create(user=user, google=google, email=email, expires_in=3 * 3600))
        ids = [c.pk for c in connections]

        def sync_all(concurrency: int) -> float:
            CalendarEvent.objects.all().delete()
            CalendarSyncState.objects.all().delete()
            CalendarConnection.objects.update(last_sync_result="", sync_queued_at=None, last_synced_at=None)
            worker = Worker(env, concurrency)
            try:
                started = time.perf_counter()
                for connection_id in ids:
                    services.connection_sync_enqueue(connection_id=connection_id)
                _wait(lambda: CalendarConnection.objects.filter(last_sync_result="ok").count() == len(ids), 900)
                elapsed = time.perf_counter() - started
            finally:
                worker.stop()
            assert CalendarEvent.objects.count() == CONNECTIONS * EVENTS
            return elapsed

        one, two = sync_all(1), sync_all(2)
        figures.update(sync_1_cps=CONNECTIONS / one, sync_2_cps=CONNECTIONS / two,
                       sync_1_eps=CONNECTIONS * EVENTS / one, sync_2_eps=CONNECTIONS * EVENTS / two)

        # The webhook while Google takes 2 s a page and a worker is busy syncing.
        channels = []
        for connection in connections:
            state = CalendarSyncState.objects.get(connection=connection, calendar_id="primary")
            channels.append(PushChannel.objects.create(
                calendar=state, channel_id=uuid.uuid4().hex, token=uuid.uuid4().hex,
                resource_id=google.account(connection.account_email).resource_id,
                expires_at=timezone.now() + timedelta(days=6)))
        CalendarConnection.objects.update(sync_queued_at=None)
        google.delays["events.list"] = SLOW_PAGE_SECONDS
        port = free_port()
        duration = float(os.environ.get("BENCH_DURATION", "5"))
        with daphne(port, env=env) as url:
            worker = Worker(env, 1)
            try:
                hooks = [("POST", "/api/v1/calendars/google/notifications", {
                    "X-Goog-Channel-ID": c.channel_id, "X-Goog-Channel-Token": c.token,
                    "X-Goog-Resource-State": "exists", "X-Goog-Resource-ID": c.resource_id}) for c in channels]
                _latencies(url, [("GET", "/healthz", {})] * 50, 4)  # warm-up
                answered = len(google.answered)
                hook_ms, hook_errors = [], 0
                deadline = time.monotonic() + duration
                while time.monotonic() < deadline:
                    got, errors = _latencies(url, hooks, 8)
                    hook_ms += got
                    hook_errors += errors
                figures["google_answered_during_load"] = len(google.answered) - answered
                health_ms = []
                deadline = time.monotonic() + duration
                while time.monotonic() < deadline:
                    health_ms += _latencies(url, [("GET", "/healthz", {})] * len(hooks), 8)[0]
            finally:
                worker.stop()
        hook_ms.sort()
        health_ms.sort()
        figures.update(hook_p50=_pct(hook_ms, 0.5), hook_p99=_pct(hook_ms, 0.99), hook_requests=len(hook_ms),
                       hook_errors=hook_errors, health_p50=_pct(health_ms, 0.5), health_p99=_pct(health_ms, 0.99))
        google.delays.clear()

        # Creator analysis fanned out over 1, then 2 worker processes.
        demo.seed(creators=CREATORS, demo_password=uuid.uuid4().hex)

        def analyse_all(concurrency: int) -> float:
            Creator.objects.update(ai_analyzer_version="", ai_analyzed_at=None, ai_analysis=None)
            CreatorPost.objects.update(ai_analyzer_version="", ai_analyzed_at=None, ai_analysis=None)
            AnalysisChunk.objects.all().delete()
            worker = Worker(env, concurrency)
            try:
                started = time.perf_counter()
                queued = chunks.chunks_enqueue(chunk_size=CHUNK)
                _wait(lambda: not AnalysisChunk.objects.exclude(status="done").exists(), 900)
                elapsed = time.perf_counter() - started
            finally:
                worker.stop()
            assert queued.creators == CREATORS
            return elapsed

        one, two = analyse_all(1), analyse_all(2)
        figures.update(analysis_1_cps=CREATORS / one, analysis_2_cps=CREATORS / two)
        assert settings.CELERY_TASK_ALWAYS_EAGER is False
        return figures
    finally:
        google.stop()


if __name__ == "__main__":
    print(json.dumps(_child()))
