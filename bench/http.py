"""HTTP serving: the project under `manage.py serve --server daphne` beside the same app on uvicorn
workers (the default), and a bare Starlette/uvicorn endpoint as the machine's ceiling. The three-server
comparison with fan-out and memory (granian too) is `bench/servers.py`.

Workloads: GET /healthz (Django, no I/O) and GET /bench/rows (a DRF list view reading a page of
rows: SQLite by default, PostgreSQL when DATABASE_URL points at it). Then `manage.py serve`
with 2 workers against 1 (needs REDIS_URL). Production-like settings (DEBUG off, no access
log). The load generator (wrk, else bench.loadgen's asyncio client) runs in its own process;
the two sides of each comparison are both up and measured in alternating rounds.
"""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys

from bench.core import ROOT, Row, bench_env, free_port, load_rows, server
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
    load = measure(base + path, duration=duration, connections=CONNECTIONS)
    if load.errors:
        raise RuntimeError(f"{base}{path}: {load.errors} errors under load")
    return load


def _pair(a: str, b: str, path: str, duration: float) -> tuple[Load, Load]:
    """`path` on servers a and b in alternating rounds (a, b, a, b, ...), so that a change in the
    machine's load during the run hits both alike. req/s: the mean; latencies: the median."""
    for base in (a, b):
        _load(base, path, WARMUP_SECONDS)  # pools, caches, lazy imports
    rounds = max(1, round(duration / 2))
    per_round = max(1.0, duration / rounds)
    loads: dict[str, list[Load]] = {a: [], b: []}
    for _ in range(rounds):
        for base in (a, b):
            loads[base].append(_load(base, path, per_round))
    return _merge(loads[a]), _merge(loads[b])


def _merge(loads: list[Load]) -> Load:
    return Load(
        rps=statistics.fmean(load.rps for load in loads),
        p50_ms=statistics.median(load.p50_ms for load in loads),
        p99_ms=statistics.median(load.p99_ms for load in loads),
        requests=sum(load.requests for load in loads), errors=sum(load.errors for load in loads),
        tool=loads[0].tool,
    )


def _uvicorn(app: str, port: int, env: dict[str, str]):
    argv = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--no-access-log", "--lifespan", "off"]
    return server(argv, port=port, env=env)


def _serve(workers: int, port: int, env: dict[str, str], server_name: str = "daphne"):  # rows say "daphne"
    argv = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(workers), "--server", server_name]
    return server(argv, port=port, env=env)


def run(args) -> list[Row]:
    duration = args.duration
    env = production_env()
    database = "PostgreSQL" if env.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    tool = "wrk" if WRK else "asyncio client"
    how = f"{tool}, {CONNECTIONS} conns"

    with _uvicorn("bench.ceiling_app:app", free_port(), env) as base:
        _load(base, "/healthz", WARMUP_SECONDS)
        ceiling = _load(base, "/healthz", duration)
    # One daphne worker beside one uvicorn worker (row names kept, so `bench compare` reads older runs).
    with _serve(1, free_port(), env) as served, _serve(1, free_port(), env, "uvicorn") as on_uvicorn:
        health, uv_health = _pair(served, on_uvicorn, "/healthz", duration)
        rows_load, uv_rows = _pair(served, on_uvicorn, "/bench/rows", duration)

    rows = [
        Row(SECTION, "ceiling: Starlette /healthz under uvicorn", ceiling.rps, "req/s", note=f"machine ceiling; {how}"),
        *load_rows(SECTION, "/healthz daphne", health, "same app, uvicorn", uv_health, how),
        Row(SECTION, "/healthz daphne req/s", health.rps, "req/s", "Starlette ceiling", ceiling.rps, True,
            "Django + middleware overhead"),
        *load_rows(SECTION, f"/bench/rows DRF+{database} daphne", rows_load, "same app, uvicorn", uv_rows, how),
        Row(SECTION, f"/bench/rows DRF+{database} daphne req/s", rows_load.rps, "req/s", "/healthz daphne",
            health.rps, True, "cost of DRF + 2 queries"),
    ]

    redis_url = env.get("REDIS_URL")
    if not redis_url:
        print("[bench] http: REDIS_URL unset; `serve --workers 2` needs it, skipped")
        return rows
    with _serve(2, free_port(), env) as two, _serve(1, free_port(), env) as one:
        two_health, one_health = _pair(two, one, "/healthz", duration)
        two_rows, one_rows = _pair(two, one, "/bench/rows", duration)
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
