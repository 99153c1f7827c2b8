"""Shared pieces of the benchmarks: a result row, the table, servers on free loopback ports, scratch
databases and child processes that print their figures."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Row:
    """One figure beside the reference it is compared with, measured in the same run.

    `higher_is_better` decides how the ratio reads: ratio = value / reference for
    throughput, reference / value for latency, so a ratio below 1.0 always means "slower
    than the reference".
    """

    section: str
    name: str
    value: float
    unit: str
    reference: str = ""
    reference_value: float | None = None
    higher_is_better: bool = True
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if not self.reference_value or not self.value:
            return None
        if self.higher_is_better:
            return self.value / self.reference_value
        return self.reference_value / self.value


def load_rows(section: str, name: str, value, reference: str, ref, note: str = "") -> list[Row]:
    """req/s, p50 and p99 of one load measurement beside a reference one (both have rps, p50_ms, p99_ms)."""
    return [
        Row(section, f"{name} req/s", value.rps, "req/s", reference, ref.rps, True, note),
        Row(section, f"{name} p50", value.p50_ms, "ms", reference, ref.p50_ms, False),
        Row(section, f"{name} p99", value.p99_ms, "ms", reference, ref.p99_ms, False),
    ]


def stop_process(proc: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def print_table(rows: list[Row]) -> None:
    header = ("section", "benchmark", "value", "unit", "reference", "ref value", "ratio", "note")
    lines = [header]
    for r in rows:
        lines.append((
            r.section, r.name, f"{r.value:,.2f}", r.unit, r.reference,
            "" if r.reference_value is None else f"{r.reference_value:,.2f}",
            "" if r.ratio is None else f"{r.ratio:.2f}x", r.note,
        ))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    for index, line in enumerate(lines):
        print("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))
    sys.stdout.flush()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """Until `url` answers 2xx; fails early if `proc` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not come up in {timeout:.0f}s")


def scratch_database(label: str) -> tuple[str, Callable[[], None]]:
    """A DATABASE_URL for a throwaway database, and how to drop it: on the PostgreSQL server
    DATABASE_URL names, else an SQLite file in a temporary folder."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        from flashlearn.database import normalize_url

        name = f"flashlearn_{label}_{uuid.uuid4().hex[:8]}"
        clean, _options = normalize_url(url)
        admin_url = urlunsplit(urlsplit(clean.replace("postgresql://", "postgres://", 1))._replace(path="/postgres"))
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return urlunsplit(urlsplit(url)._replace(path=f"/{name}")), drop
    folder = tempfile.mkdtemp(prefix=f"{label}-")
    path = Path(folder) / "bench.sqlite3"

    def remove() -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        Path(folder).rmdir()

    return f"sqlite:///{path}", remove


def child_figures(argv: list[str], *, env: dict[str, str], timeout: float):
    """Run a bench child (`python -m ...`) and return the JSON it prints on its last line."""
    proc = subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"bench child {' '.join(argv)} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DEBUG", "true")
    env.setdefault("LOG_LEVEL", "WARNING")
    env.update(extra)
    return env


@contextlib.contextmanager
def server(argv: list[str], *, port: int, env: dict[str, str] | None = None, ready_path: str = "/healthz"):
    """Run a server command (which must listen on 127.0.0.1:`port`) until the block ends.

    Its output goes to a temporary file (a pipe nobody reads would block a chatty server) and is
    shown if it does not come up.
    """
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env or bench_env(), stdout=log, stderr=subprocess.STDOUT)
        try:
            try:
                wait_http(f"http://127.0.0.1:{port}{ready_path}", proc=proc)
            except RuntimeError as exc:
                log.seek(0)
                raise RuntimeError(f"{exc}; {' '.join(argv[:4])} said:\n{log.read()[-3000:]}") from None
            yield f"http://127.0.0.1:{port}"
        finally:
            stop_process(proc)


def daphne(port: int, env: dict[str, str] | None = None, ready_path: str = "/healthz"):
    """The project under one daphne worker as `manage.py serve` runs it (flashlearn/servers/daphne.py,
    `-v 0`: no access log line)."""
    argv = [sys.executable, "-m", "flashlearn.servers.daphne", "-v", "0", "--websocket_timeout", "-1",
            "-b", "127.0.0.1", "-p", str(port), "flashlearn.asgi:application"]
    return server(argv, port=port, env=env, ready_path=ready_path)
