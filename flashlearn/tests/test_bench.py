"""The benchmark harness measures what it says: both load generators against a real server."""

from __future__ import annotations

import sys

import pytest

from bench.core import Row, free_port, server
from bench.loadgen import WRK, measure


@pytest.fixture(scope="module")
def ceiling():
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "bench.ceiling_app:app", "--port", str(port),
            "--log-level", "warning", "--no-access-log"]
    with server(argv, port=port) as base:
        yield base


@pytest.mark.parametrize("tool", ["python", pytest.param("wrk", marks=pytest.mark.skipif(not WRK, reason="no wrk"))])
def test_load_generator_counts_requests_and_latency(ceiling, tool):
    load = measure(f"{ceiling}/healthz", duration=1, connections=4, tool=tool)
    assert load.tool == tool and load.errors == 0
    assert load.requests > 10 and load.rps > 10
    assert 0 < load.p50_ms <= load.p99_ms


@pytest.mark.parametrize("tool", ["python", pytest.param("wrk", marks=pytest.mark.skipif(not WRK, reason="no wrk"))])
def test_error_responses_are_counted(ceiling, tool):
    load = measure(f"{ceiling}/missing", duration=1, connections=2, tool=tool)
    assert load.requests > 0 and load.errors == load.requests


def test_only_loopback_is_ever_targeted():
    with pytest.raises(ValueError, match="loopback"):
        measure("http://example.com/healthz", duration=1)


def test_ratio_reads_the_same_way_for_throughput_and_latency():
    assert Row("s", "n", 50, "req/s", "ref", 100, True).ratio == 0.5
    assert Row("s", "n", 200, "ms", "ref", 100, False).ratio == 0.5
    assert Row("s", "n", 1, "x").ratio is None


def test_compare_prints_each_rows_change_and_flags_a_drift_against_the_reference(tmp_path):
    """`python -m bench compare A.json B.json`: the regression guard between two saved runs."""
    import subprocess

    from bench.core import ROOT
    from bench.report import save

    a = save([Row("messaging", "fan-out to 1,000 p99", 200.0, "ms", "bare websockets", 50.0, False),
              Row("http", "/healthz req/s", 600.0, "req/s", "uvicorn", 800.0, True)], {}, tmp_path / "a.json")
    b = save([Row("messaging", "fan-out to 1,000 p99", 100.0, "ms", "bare websockets", 50.0, False),
              Row("http", "/healthz req/s", 300.0, "req/s", "uvicorn", 800.0, True)], {}, tmp_path / "b.json")
    run = subprocess.run([sys.executable, "-m", "bench", "compare", str(a), str(b), "--fail-below", "0.9"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    fanout, = [line for line in run.stdout.splitlines() if line.startswith("messaging ")]
    healthz, = [line for line in run.stdout.splitlines() if line.startswith("http ")]
    assert "2.00x" in fanout and "0.25x -> 0.50x" in fanout  # half the latency: twice as good
    assert "0.50x" in healthz and "0.75x -> 0.38x" in healthz
    assert run.returncode == 1 and "http: /healthz req/s (0.50x)" in run.stdout
