"""Liveness, readiness and the database check of API.md (no DRF: these must work bare).

/readyz and /__dbcheck__ answer within about HEALTH_CHECK_TIMEOUT whatever the dependencies do:
PostgreSQL is probed over a connection of the check's own (never the pool, whose wait is
DB_POOL_TIMEOUT) and Redis with socket timeouts of that length. Each answer also tells that
dependency's circuit breaker, so a load balancer polling /readyz closes it as soon as the
dependency is back.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable

from django.apps import apps
from django.conf import settings
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.http import require_safe

from flashlearn.breaker import CACHE, DATABASE, breaker_for
from flashlearn.database import postgres_probe
from flashlearn.errors import DATABASE_RETRY_AFTER_SECONDS


def check_database() -> dict:
    connection = connections["default"]
    on_postgres = connection.vendor == "postgresql"
    try:
        if on_postgres:
            postgres_probe(connection.get_connection_params(), timeout=settings.HEALTH_CHECK_TIMEOUT)
        else:  # SQLite: a local file, no server to wait for
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
    except Exception as exc:  # any failure to reach the database means "not ready"
        if on_postgres:
            breaker_for(DATABASE).failed(exc)
        return {"ok": False, "error": exc.__class__.__name__}
    if on_postgres:
        breaker_for(DATABASE).succeeded()
    return {"ok": True}


def check_channel_layer() -> dict:
    if not settings.REDIS_URL:
        return {"ok": True, "backend": "in-memory"}
    import redis

    from flashlearn.redis import redis_client

    timeout = settings.HEALTH_CHECK_TIMEOUT / 2  # connect, then PING: the whole check stays within it
    try:
        redis_client(connect_timeout=timeout, timeout=timeout).ping()
    except redis.RedisError as exc:
        breaker_for(CACHE).failed(exc)
        return {"ok": False, "backend": "redis", "error": exc.__class__.__name__}
    breaker_for(CACHE).succeeded()
    return {"ok": True, "backend": "redis"}


def check_broker() -> dict:
    """The Celery broker (flashlearn/celery.py); `eager` when none is configured, which is not a failure."""
    from flashlearn.celery import broker_check

    return broker_check()


READINESS_CHECKS = {
    "database": check_database,
    "channel_layer": check_channel_layer,
    "broker": check_broker,
}


def readiness_checks() -> dict[str, Callable[[], dict]]:
    """The project's checks, then one per app whose AppConfig has a `readiness()` (transcription's
    speech engine), named by its label: flashlearn imports no app (.importlinter)."""
    checks = dict(READINESS_CHECKS)
    for config in apps.get_app_configs():
        readiness = getattr(config, "readiness", None)
        if readiness is not None:
            checks.setdefault(config.label, readiness)
    return checks


@require_safe
async def healthz(request):
    """Liveness: no I/O, and async so that under daphne it costs no thread hop."""
    return JsonResponse({"status": "ok"})


def _run_check(check) -> dict:
    """A check that raises (e.g. an app's readiness hook failing to import) is "not ready", not a 500."""
    try:
        return check()
    except Exception as exc:
        return {"ok": False, "error": exc.__class__.__name__}


def run_checks(checks: dict, *, timeout: float) -> dict:
    """Every check at once; one that has not answered within `timeout` is "not ready" (error Timeout).

    The database check runs in the calling thread (on SQLite it uses the request's connection);
    the others on threads of their own, left to finish in the background if they overrun.
    """
    local = {name: check for name, check in checks.items() if name == "database"}
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(checks) - len(local)))
    deadline = time.monotonic() + timeout
    try:
        futures = {name: executor.submit(_run_check, check) for name, check in checks.items() if name not in local}
        results = {name: _run_check(check) for name, check in local.items()}
        done, _ = concurrent.futures.wait(futures.values(), timeout=max(0.0, deadline - time.monotonic()))
        for name, future in futures.items():
            results[name] = future.result() if future in done else {"ok": False, "error": "Timeout"}
    finally:
        executor.shutdown(wait=False)
    return {name: results[name] for name in checks}


@require_safe
def readyz(request):
    checks = run_checks(readiness_checks(), timeout=settings.HEALTH_CHECK_TIMEOUT)
    ready = all(check["ok"] for check in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    response = JsonResponse(body, status=200 if ready else 503)
    if not ready:
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


@require_safe
def dbcheck(request):
    result = check_database()
    if result["ok"]:
        return JsonResponse({"ok": True})
    response = JsonResponse({"ok": False, "error": "database_unavailable", "detail": result["error"]}, status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response
