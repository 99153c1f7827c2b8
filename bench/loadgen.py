"""HTTP load from a second process: wrk when installed (Debian `wrk`), else a small asyncio client.

`measure(url, duration=..., connections=...)` returns req/s and p50/p99 latency in ms. Loopback only.
The asyncio fallback runs as `python -m bench.loadgen URL --duration S --connections N` and prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

WRK = shutil.which("wrk")


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    tool: str


def _check_loopback(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError(f"benchmarks only target loopback, not {host}")


def measure(url: str, *, duration: float, connections: int = 16, headers: dict[str, str] | None = None,
            tool: str | None = None, cpus: str | None = None) -> Load:
    """`cpus` (e.g. "1"): run the load generator pinned to those cores (`taskset -c`)."""
    _check_loopback(url)
    tool = tool or ("wrk" if WRK else "python")
    pin = ["taskset", "-c", cpus] if cpus else []
    if tool == "wrk":
        return _wrk(url, duration, connections, headers or {}, pin)
    return _python(url, duration, connections, headers or {}, pin)


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNIT_MS[unit]


def _wrk(url: str, duration: float, connections: int, headers: dict[str, str], pin: list[str]) -> Load:
    argv = [*pin, WRK, "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency", "--timeout", "10s"]
    for key, value in headers.items():
        argv += ["-H", f"{key}: {value}"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, timeout=duration + 30, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1))
    p99 = _ms(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(match.group(1))
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(n) for n in match.groups())
    return Load(rps, p50, p99, requests, errors, "wrk")


def _python(url: str, duration: float, connections: int, headers: dict[str, str], pin: list[str]) -> Load:
    argv = [*pin, sys.executable, "-m", "bench.loadgen", url, "--duration", str(duration),
            "--connections", str(connections)]
    for key, value in headers.items():
        argv += ["--header", f"{key}: {value}"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    return Load(**json.loads(out), tool="python")


# --- the asyncio client (runs in its own process) ----------------------------------------


async def _worker(host: str, port: int, request: bytes, stop_at: float, latencies: list[float], errors: list[int]):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length, status = 0, int(status_line.split()[1])
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status >= 400:
                errors[0] += 1
    except (OSError, asyncio.IncompleteReadError, IndexError, ValueError):
        errors[0] += 1
    finally:
        writer.close()


async def _run(url: str, duration: float, connections: int, headers: list[str]) -> dict:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target or '/'} HTTP/1.1", f"Host: {parts.netloc}", *headers, "", ""]
    request = "\r\n".join(lines).encode()
    latencies: list[float] = []
    errors = [0]
    started = time.perf_counter()
    stop_at = started + duration
    await asyncio.gather(*(_worker(parts.hostname, parts.port or 80, request, stop_at, latencies, errors)
                           for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0

    return {"rps": len(latencies) / elapsed, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "requests": len(latencies), "errors": errors[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description="asyncio HTTP/1.1 keep-alive load generator (loopback only)")
    parser.add_argument("url")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    _check_loopback(args.url)
    print(json.dumps(asyncio.run(_run(args.url, args.duration, args.connections, args.header))))


if __name__ == "__main__":
    main()
