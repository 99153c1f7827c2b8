"""`python -m bench.profile_fanout [--members 1000] [--messages 40] [--server daphne|uvicorn]`: where one
broadcast's time goes.

Runs the project under the default server (or `--server`), configured as `manage.py serve` does (daphne:
flashlearn.servers.daphne; uvicorn: flashlearn.servers.uvicorn's config) under cProfile
with the same fixtures and client as the messaging bench, sends `--messages` chat messages one at
a time to `--members` receivers, has the profile written (daphne: SIGTERM, whose drain ends the
reactor; uvicorn: a GET of DUMP_PATH) and prints the functions that cost the most per broadcast, from the layer's
receive to the bytes handed to the socket. REDIS_URL must be set, as for the messaging bench.
docs/benchmarks.md has the findings.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import sys
import tempfile
import urllib.request
import uuid

from bench.core import bench_env, free_port, server
from bench.messaging import Room, fixture, raise_fd_limit
from flashlearn.servers import DEFAULT

DUMP_PATH = "/__profile_fanout_dump"


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
    parser.add_argument("--server", choices=("daphne", "uvicorn"), default=DEFAULT)
    args = parser.parse_args()
    raise_fd_limit()
    tag = uuid.uuid4().hex[:8]
    data = json.loads(fixture("create", str(args.members), tag))
    out = tempfile.NamedTemporaryFile(suffix=".prof", delete=False).name
    port = free_port()
    if args.server == "daphne":
        argv = [sys.executable, "-m", "cProfile", "-o", out, "-m", "flashlearn.servers.daphne", "-v", "0",
                "--websocket_timeout", "-1", "-b", "127.0.0.1", "-p", str(port), "flashlearn.asgi:application"]
    else:
        argv = [sys.executable, "-m", "bench.profile_fanout", "--serve-uvicorn", str(port), out]
    env = bench_env(MESSAGING_WS_RATE="1000000", MESSAGING_WS_BURST="1000000")
    try:
        with server(argv, port=port, env=env):
            asyncio.run(drive(f"ws://127.0.0.1:{port}/ws/live_sessions/{data['session']}/", data["tokens"],
                              args.members, args.messages))
            if args.server == "uvicorn":  # uvicorn has no clean exit under cProfile: ask for the profile
                urllib.request.urlopen(f"http://127.0.0.1:{port}{DUMP_PATH}", timeout=60).read()
    finally:
        fixture("delete", tag)
    stream = io.StringIO()
    stats = pstats.Stats(out, stream=stream)
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats("fan_out|deliver|push_text|DirectWriter|sendPreparedMessage|"
                                                "handleRead|doWrite|_run_once|receive|write_loop|asgi_send|"
                                                "write_frame|group_commit")
    print(stream.getvalue())
    print(f"[profile] {args.messages} broadcasts to {args.members}: divide per-call totals by {args.messages}; "
          f"raw profile in {out}")
    return 0


def serve_uvicorn(port: int, out: str) -> None:
    """The project under uvicorn as its adapter configures it (flashlearn/servers/uvicorn.py), profiled
    from start-up until a GET of DUMP_PATH writes the profile to `out`."""
    import uvicorn

    from flashlearn.servers import uvicorn as adapter

    profile = cProfile.Profile()
    project = adapter.application()

    async def app(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == DUMP_PATH:
            profile.disable()
            profile.dump_stats(out)
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"written\n"})
            return
        await project(scope, receive, send)

    config = adapter.config()
    config.app, config.factory, config.host, config.port = app, False, "127.0.0.1", port
    profile.enable()
    uvicorn.Server(config).run()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-uvicorn":
        serve_uvicorn(int(sys.argv[2]), sys.argv[3])
    else:
        raise SystemExit(main())
