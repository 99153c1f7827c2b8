"""HTTP serving: the project under daphne beside the same app under uvicorn and a bare Starlette ceiling.

Workloads: GET /healthz (Django, no I/O) and GET /bench/rows (a DRF list view reading a page of
rows: SQLite by default, PostgreSQL when DATABASE_URL points at it). Then `manage.py serve`
with 2 workers against 1 (needs REDIS_URL). Production-like settings (DEBUG off, no access
log). The load generator (wrk, else bench.loadgen's asyncio client) runs in its own process.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from bench.core import ROOT, Row, bench_env, daphne, free_port, server
from bench.loadgen import WRK, Load, measure

SECTION = "http"
CONNECTIONS = 16
WARMUP_SECONDS = 1.0


def production_env(**extra: str) -> dict[str, str]:
    return bench_env(
        DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false", LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="bench.settings", **extra,
    )


def _load(base: str, path: str, duration: float) -> Load:
    measure(base + path, duration=WARMUP_SECONDS, connections=CONNECTIONS)  # pools, caches, imports
    load = measure(base + path, duration=duration, connections=CONNECTIONS)
    if load.errors:
        raise RuntimeError(f"{path}: {load.errors} errors under load")
    return load


def _uvicorn(app: str, port: int, env: dict[str, str]):
    argv = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--no-access-log", "--lifespan", "off"]
    return server(argv, port=port, env=env)


def _serve(workers: int, port: int, env: dict[str, str]):
    argv = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers)]
    return server(argv, port=port, env=env)


def _rows(name: str, value: Load, reference: str, ref: Load, note: str) -> list[Row]:
    return [
        Row(SECTION, f"{name} req/s", value.rps, "req/s", reference, ref.rps, True, note),
        Row(SECTION, f"{name} p50", value.p50_ms, "ms", reference, ref.p50_ms, False),
        Row(SECTION, f"{name} p99", value.p99_ms, "ms", reference, ref.p99_ms, False),
    ]


def run(args) -> list[Row]:
    duration = args.duration
    env = production_env()
    database = "PostgreSQL" if env.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    tool = "wrk" if WRK else "asyncio client"
    how = f"{tool}, {CONNECTIONS} conns"

    port = free_port()
    with _uvicorn("bench.ceiling_app:app", port, env) as base:
        ceiling = _load(base, "/healthz", duration)
    port = free_port()
    with _uvicorn("flashlearn.asgi:application", port, env) as base:
        uv_health = _load(base, "/healthz", duration)
        uv_rows = _load(base, "/bench/rows", duration)
    port = free_port()
    with daphne(port, env) as base:
        health = _load(base, "/healthz", duration)
        rows_load = _load(base, "/bench/rows", duration)

    rows = [
        Row(SECTION, "ceiling: Starlette /healthz under uvicorn", ceiling.rps, "req/s", note=f"machine ceiling; {how}"),
        *_rows("/healthz daphne", health, "same view, uvicorn", uv_health, how),
        Row(SECTION, "/healthz daphne req/s", health.rps, "req/s", "Starlette ceiling", ceiling.rps, True,
            "Django + middleware overhead"),
        *_rows(f"/bench/rows DRF+{database} daphne", rows_load, "same view, uvicorn", uv_rows, how),
        Row(SECTION, f"/bench/rows DRF+{database} daphne req/s", rows_load.rps, "req/s", "/healthz daphne",
            health.rps, True, "cost of DRF + 2 queries"),
    ]

    redis_url = env.get("REDIS_URL")
    if not redis_url:
        print("[bench] http: REDIS_URL unset; `serve --workers 2` needs it, skipped")
        return rows
    port = free_port()
    with _serve(1, port, env) as base:
        one_health = _load(base, "/healthz", duration)
        one_rows = _load(base, "/bench/rows", duration)
    port = free_port()
    with _serve(2, port, env) as base:
        two_health = _load(base, "/healthz", duration)
        two_rows = _load(base, "/bench/rows", duration)
    cores = os.cpu_count() or 1
    note = f"{cores} cores shared with the load generator"
    rows += [
        Row(SECTION, "serve --workers 2 /healthz req/s", two_health.rps, "req/s", "serve --workers 1",
            one_health.rps, True, note),
        Row(SECTION, f"serve --workers 2 /bench/rows {database} req/s", two_rows.rps, "req/s", "serve --workers 1",
            one_rows.rps, True, note),
        Row(SECTION, f"serve --workers 2 /bench/rows {database} p99", two_rows.p99_ms, "ms", "serve --workers 1",
            one_rows.p99_ms, False, note),
    ]
    return rows
