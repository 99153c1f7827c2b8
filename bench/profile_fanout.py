"""`python -m bench.profile_fanout [--members 1000] [--messages 40]`: where one broadcast's time goes.

Runs the project's daphne (flashlearn.servers.daphne, as `manage.py serve` does) under cProfile
with the same fixtures and client as the messaging bench, sends `--messages` chat messages one at
a time to `--members` receivers, stops the server with SIGTERM (its drain ends the reactor, so the
profile is written), and prints the functions that cost the most per broadcast, from the layer's
receive to the bytes handed to the socket. REDIS_URL must be set, as for the messaging bench.
docs/benchmarks.md has the findings.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import pstats
import sys
import tempfile
import uuid

from bench.core import bench_env, free_port, server
from bench.messaging import Room, fixture, raise_fd_limit


async def drive(url: str, tokens: list[str], members: int, messages: int) -> None:
    room = Room(url, tokens)
    try:
        await room.open(members)
        seqs = []
        for _ in range(messages):
            seqs.append(await room.send())
            await room.wait_delivered(seqs[-1:], members, 10)
            await asyncio.sleep(0.02)
        _, missing = room.collect(seqs, members)
        if missing:
            print(f"[profile] {missing} deliveries missing")
    finally:
        await room.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    raise_fd_limit()
    tag = uuid.uuid4().hex[:8]
    data = json.loads(fixture("create", str(args.members), tag))
    out = tempfile.NamedTemporaryFile(suffix=".prof", delete=False).name
    port = free_port()
    argv = [sys.executable, "-m", "cProfile", "-o", out, "-m", "flashlearn.servers.daphne", "-v", "0",
            "--websocket_timeout", "-1", "-b", "127.0.0.1", "-p", str(port), "flashlearn.asgi:application"]
    env = bench_env(MESSAGING_WS_RATE="1000000", MESSAGING_WS_BURST="1000000")
    try:
        with server(argv, port=port, env=env):
            asyncio.run(drive(f"ws://127.0.0.1:{port}/ws/live_sessions/{data['session']}/", data["tokens"],
                              args.members, args.messages))
    finally:
        fixture("delete", tag)
    stream = io.StringIO()
    stats = pstats.Stats(out, stream=stream)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats("fan_out|deliver|push_text|DirectWriter|sendPreparedMessage|"
                                                "handleRead|doWrite|_run_once|receive")
    print(stream.getvalue())
    print(f"[profile] {args.messages} broadcasts to {args.members}: divide per-call totals by {args.messages}; "
          f"raw profile in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
