"""The ASGI servers side by side, serving this project in one run (issue 16 items 3 and 4).

`python -m bench servers` (REDIS_URL and a PostgreSQL DATABASE_URL of your own): daphne and
uvicorn as `manage.py serve --server NAME --workers 1` runs them (the adapters in
flashlearn/servers/), and granian (`--interface asginl`, one worker, no adapter: measured only)
serving the same application. For each:

- HTTP: `/healthz` and `/bench/rows` (DRF + 2 queries), req/s and p99, wrk with 16 connections,
  the servers measured in alternating rounds so a change in the machine's load hits all alike;
- chat fan-out: p50/p99 of one message to 100 and to 1,000 members (Redis pub/sub layer, the
  messaging bench's client and fixtures), closed loop, each server twice (in order, then in
  reverse order: the first one measured pays for cold caches), the mean of the two;
- memory: the server's RSS (its whole process tree) with 1,000 idle chat sockets open, minus
  before they opened, per 1,000 sockets (first pass only: the second reuses what the first grew).

Then scale-out: `serve --workers 2` against `--workers 1` (default server) on both HTTP views,
with the load generator pinned to the last core (`taskset`); on a 2-core machine the two workers
share the other core with each other and the pinned generator's core with it, so the ratio is
what a second worker buys when the machine is already shared, not a per-core figure.
Ratios are against the default server measured in the same run.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid

from bench.core import ROOT, Row, free_port, server
from bench.http import production_env
from bench.loadgen import Load, measure
from bench.messaging import FIXTURE_SCRIPT, Room, pct, raise_fd_limit

SECTION = "servers"
CONNECTIONS = 16
IDLE_SOCKETS = 1000
FANOUT_SIZES = (100, 1000)


def fixture(env: dict[str, str], action: str, *args: str) -> str:
    """The messaging bench's fixtures, made with the servers' own settings (their signing key)."""
    env = {key: value for key, value in env.items() if key != "DIRECT_DATABASE_URL"}
    out = subprocess.run([sys.executable, "-c", FIXTURE_SCRIPT, action, *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    if out.returncode:
        raise RuntimeError(f"fixture {action} failed: {out.stderr[-2000:]}")
    return out.stdout


def serving(name: str, port: int, env: dict[str, str], workers: int = 1):
    if name == "granian":
        argv = [sys.executable, "-m", "granian", "--interface", "asginl", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--no-access-log", "--log-level", "warning", "flashlearn.asgi:application"]
    else:
        argv = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--server", name]
    return server(argv, port=port, env=env)


def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and all its descendants."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            with open(f"/proc/{current}/task/{current}/children") as children:
                todo += [int(child) for child in children.read().split()]
        except OSError:
            continue
    return total


def server_pid(port: int) -> int:
    """The launcher listening on `port` (the process the bench started)."""
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True).stdout
    pids = sorted({int(part.split("=")[1].split(",")[0]) for part in out.split("pid")[1:] if "=" in part})
    # the launcher and its workers all hold the socket; the launcher is the oldest (lowest pid here)
    return pids[0]


def merge(loads: list[Load]) -> Load:
    return Load(rps=statistics.fmean(x.rps for x in loads), p50_ms=statistics.median(x.p50_ms for x in loads),
                p99_ms=statistics.median(x.p99_ms for x in loads), requests=sum(x.requests for x in loads),
                errors=sum(x.errors for x in loads), tool=loads[0].tool)


def rounds(bases: dict[str, str], path: str, duration: float, cpus: str | None = None) -> dict[str, Load]:
    """`path` on every server in alternating rounds; req/s the mean, latencies the median."""
    for base in bases.values():
        measure(base + path, duration=1, connections=CONNECTIONS, cpus=cpus)
    count = max(2, round(duration / 2))
    loads: dict[str, list[Load]] = {name: [] for name in bases}
    for _ in range(count):
        for name, base in bases.items():
            load = measure(base + path, duration=max(1.0, duration / count), connections=CONNECTIONS, cpus=cpus)
            if load.errors:
                raise RuntimeError(f"{name} {path}: {load.errors} errors under load")
            loads[name].append(load)
    return {name: merge(values) for name, values in loads.items()}


async def sockets_and_fanout(url: str, tokens: list[str], pid: int) -> dict[str, float]:
    """RSS per 1,000 idle sockets, then fan-out to 100 and to 1,000 on the same sockets."""
    figures: dict[str, float] = {}
    before = tree_rss(pid)
    room = Room(url, tokens)
    try:
        await room.open(IDLE_SOCKETS)
        await asyncio.sleep(1)
        figures["rss_per_1000"] = (tree_rss(pid) - before) / IDLE_SOCKETS * 1000 / 2**20
        for _ in range(3):  # warm-up
            await room.send()
        await room.wait_delivered([1, 2, 3], IDLE_SOCKETS, 20)
        seqs = []
        for _ in range(30):
            seqs.append(await room.send())
            await room.wait_delivered(seqs[-1:], IDLE_SOCKETS, 20)
            await asyncio.sleep(0.05)
        values, missing = room.collect(seqs, IDLE_SOCKETS)
        figures.update(fan1000_p50=pct(values, 0.5), fan1000_p99=pct(values, 0.99), fan1000_missing=missing)
    finally:
        await room.close()
    room = Room(url, tokens)
    try:
        await room.open(100)
        for _ in range(3):
            await room.send()
        await room.wait_delivered([1, 2, 3], 100, 20)
        seqs = []
        for _ in range(60):
            seqs.append(await room.send())
            await room.wait_delivered(seqs[-1:], 100, 10)
            await asyncio.sleep(0.05)
        values, missing = room.collect(seqs, 100)
        figures.update(fan100_p50=pct(values, 0.5), fan100_p99=pct(values, 0.99), fan100_missing=missing)
    finally:
        await room.close()
    return figures


def run(args) -> list[Row]:
    from flashlearn.servers import DEFAULT, SERVERS

    if not os.environ.get("REDIS_URL"):
        print("[bench] servers: REDIS_URL is unset (fan-out uses the Redis layer). Skipped.")
        return []
    raise_fd_limit()
    names = [*SERVERS, "granian"]
    duration = args.duration
    env = production_env(MESSAGING_WS_RATE="1000000", MESSAGING_WS_BURST="1000000", JWT_SECRET_KEY="b" * 64)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    tag = uuid.uuid4().hex[:8]
    data = json.loads(fixture(env, "create", str(IDLE_SOCKETS), tag))
    ws_path = f"/ws/live_sessions/{data['session']}/"
    rows: list[Row] = []
    http: dict[str, dict[str, Load]] = {}
    sockets: dict[str, dict[str, float]] = {}
    try:
        ports = {name: free_port() for name in names}
        contexts = [serving(name, ports[name], env) for name in names]
        bases = {}
        try:
            for name, context in zip(names, contexts, strict=True):
                bases[name] = context.__enter__()
            for path in ("/healthz", "/bench/rows"):
                http[path] = rounds(bases, path, duration)
            # Twice, in order and then reversed: the first server measured pays for cold caches.
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
            for name in [*names, *reversed(names)]:
                print(f"[bench] servers: 1,000 sockets and fan-out on {name}", flush=True)
                started = time.monotonic()
                runs[name].append(asyncio.run(sockets_and_fanout(f"ws://127.0.0.1:{ports[name]}{ws_path}",
                                                                 data["tokens"], server_pid(ports[name]))))
                print(f"[bench] servers: {name} done in {time.monotonic() - started:.0f}s: {runs[name][-1]}",
                      flush=True)
            sockets = {name: {key: statistics.fmean(run[key] for run in values) for key in values[0]}
                       for name, values in runs.items()}
            for name, values in runs.items():
                # memory from the first pass only: a second pass reuses what the first one grew
                sockets[name]["rss_per_1000"] = values[0]["rss_per_1000"]
        finally:
            for context in reversed(contexts[:len(bases)]):
                context.__exit__(None, None, None)
    finally:
        fixture(env, "delete", tag)

    reference = DEFAULT
    for name in names:
        ref = f"{reference}, same run"
        for path, label in (("/healthz", "/healthz"), ("/bench/rows", "DRF + 2 queries")):
            value, base = http[path][name], http[path][reference]
            rows.append(Row(SECTION, f"{name} {label} req/s", value.rps, "req/s", ref, base.rps, True,
                            f"wrk, {CONNECTIONS} conns, 1 worker"))
            rows.append(Row(SECTION, f"{name} {label} p99", value.p99_ms, "ms", ref, base.p99_ms, False))
        mine, base = sockets[name], sockets[reference]
        for size in FANOUT_SIZES:
            missing = mine[f"fan{size}_missing"]
            for q in ("p50", "p99"):
                rows.append(Row(SECTION, f"{name} fan-out to {size:,} {q}", mine[f"fan{size}_{q}"], "ms", ref,
                                base[f"fan{size}_{q}"], False, f"{missing} deliveries missing" if missing else ""))
        rows.append(Row(SECTION, f"{name} RSS per 1,000 idle chat sockets", mine["rss_per_1000"], "MiB", ref,
                        base["rss_per_1000"], False, "whole process tree"))

    # Scale-out: 2 workers against 1, the load generator pinned to the last core; then fan-out with
    # the members split over the two workers (the kernel spreads the connections) against one.
    cores = os.cpu_count() or 1
    pin = str(cores - 1)
    note = f"{cores} cores; wrk pinned to core {pin} (taskset), workers unpinned"
    data = json.loads(fixture(env, "create", str(IDLE_SOCKETS), tag))
    ws_path = f"/ws/live_sessions/{data['session']}/"
    try:
        two_port, one_port = free_port(), free_port()
        with serving(reference, two_port, env, workers=2) as two, serving(reference, one_port, env) as one:
            for path, label in (("/healthz", "/healthz"), ("/bench/rows", "DRF + 2 queries")):
                figures = rounds({"two": two, "one": one}, path, duration, cpus=pin)
                rows.append(Row(SECTION, f"serve --workers 2 {label} req/s", figures["two"].rps, "req/s",
                                "serve --workers 1", figures["one"].rps, True, note))
                rows.append(Row(SECTION, f"serve --workers 2 {label} p99", figures["two"].p99_ms, "ms",
                                "serve --workers 1", figures["one"].p99_ms, False))
            fan = {port: asyncio.run(sockets_and_fanout(f"ws://127.0.0.1:{port}{ws_path}", data["tokens"],
                                                        server_pid(port)))
                   for port in (two_port, one_port)}
    finally:
        fixture(env, "delete", tag)
    for size in FANOUT_SIZES:
        for q in ("p50", "p99"):
            rows.append(Row(SECTION, f"serve --workers 2 fan-out to {size:,} {q}", fan[two_port][f"fan{size}_{q}"],
                            "ms", "serve --workers 1", fan[one_port][f"fan{size}_{q}"], False,
                            "members split over both workers (Redis layer)" if q == "p50" else ""))
    return rows
