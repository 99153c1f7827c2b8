"""Liveness, readiness and the database check of API.md (no DRF: these must work bare)."""

from __future__ import annotations

import importlib

from django.conf import settings
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.http import require_safe

from flashlearn.errors import DATABASE_RETRY_AFTER_SECONDS


def check_database() -> dict:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure to reach the database means "not ready"
        return {"ok": False, "error": exc.__class__.__name__}
    return {"ok": True}


def check_channel_layer() -> dict:
    if not settings.REDIS_URL:
        return {"ok": True, "backend": "in-memory"}
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return {"ok": False, "backend": "redis", "error": exc.__class__.__name__}
    return {"ok": True, "backend": "redis"}


def check_transcription() -> dict:
    module = importlib.import_module("transcription.health")
    return module.readiness()


READINESS_CHECKS = {
    "database": check_database,
    "channel_layer": check_channel_layer,
    "transcription": check_transcription,
}


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


@require_safe
def readyz(request):
    checks = {name: _run_check(check) for name, check in READINESS_CHECKS.items()}
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
