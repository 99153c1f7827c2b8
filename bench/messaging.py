"""Messaging: websocket fan-out latency, sustained message rate, history GET latency.

One worker of the default server (`manage.py serve --workers 1`; `--server NAME` where the bench
has that option) serves the project with the Redis channel layer (REDIS_URL must be set;
PostgreSQL through DATABASE_URL is better than the SQLite default). One client process holds
every socket: one sender (the session host) and 100 or 1,000 receivers, all members of one
session. A message's latency is the time from the sender writing `message.send` to a receiver
reading its `message.new`, so it includes the INSERT, the commit, the channel layer and the
client's own parsing. The reference is a bare `websockets` broadcast server (no auth, no
database, no channel layer) measured the same way in the same run: the ceiling.

Figures, each beside the reference:
- fan-out p50 / p99 to 100 and to 1,000 receivers, one message at a time (each is delivered
  everywhere before the next is sent), with the pub/sub layer (the project's choice) and with
  channels_redis' core layer (MESSAGING_CHANNEL_LAYER=core);
- sustained messages per second from one sender to 100 receivers: the rate is raised step by
  step until p99 passes 100 ms (or deliveries go missing or arrive out of order); the last rate
  that held is reported;
- history GET (`/api/v1/live_sessions/{id}/messages?limit=50`) p50 / p99, beside GET /healthz
  on the same process.

The benchmark server lifts the per-connection frame limit (MESSAGING_WS_RATE) so one sender
can push hundreds of messages per second. Users, session and messages are created in a child
process (its own Django settings) and deleted at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import time
import uuid

from bench.core import ROOT, Row, bench_env, free_port, server

SECTION = "messaging"
FANOUT_SIZES = (100, 1000)
SUSTAINED_RECEIVERS = 100
# Steps of at most 1.5x, so a ratio against the reference is not an artefact of coarse doubling.
SUSTAINED_RATES = (10, 25, 50, 100, 150, 200, 300, 400, 600, 800, 1200, 1600)
P99_TARGET_MS = 100.0
CONNECT_BATCH = 50
ORIGIN = "http://localhost"


# --- fixtures (child process: Django settings never leak into other sections) ----------

FIXTURE_SCRIPT = r"""
import json, sys, django
django.setup()
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken
from messaging.models import LiveSession, Membership, Message
User = get_user_model()
action, arg = sys.argv[1], sys.argv[2]
if action == "create":
    n, tag = int(arg), sys.argv[3]
    users = User.objects.bulk_create([
        User(email=f"bench-{tag}-{i}@bench.invalid", display_name=f"bench {i}", password="!") for i in range(n + 1)])
    users = list(User.objects.filter(email__startswith=f"bench-{tag}-").order_by("id"))
    session = LiveSession.objects.create(host=users[0], title=f"bench {tag}", status="live")
    Membership.objects.bulk_create([Membership(session=session, user=u, role="host" if i == 0 else "participant")
                                    for i, u in enumerate(users)])
    Message.objects.bulk_create([Message(session=session, author=users[0], body=f"seed {i}", seq=i + 1)
                                 for i in range(200)])
    LiveSession.objects.filter(pk=session.pk).update(last_seq=200)  # bulk_create skips Message.save()
    print(json.dumps({"session": session.pk, "tokens": [str(AccessToken.for_user(u)) for u in users]}))
else:
    LiveSession.objects.filter(title=f"bench {arg}").delete()
    User.objects.filter(email__startswith=f"bench-{arg}-").delete()
"""


def fixture(action: str, *args: str) -> str:
    env = bench_env(DJANGO_SETTINGS_MODULE="flashlearn.settings", DEBUG="true")
    env.pop("DIRECT_DATABASE_URL", None)
    out = subprocess.run([sys.executable, "-c", FIXTURE_SCRIPT, action, *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    if out.returncode:
        raise RuntimeError(f"fixture {action} failed: {out.stderr[-2000:]}")
    return out.stdout


# --- the reference: a bare websockets broadcast server ----------------------------------

def serve_reference(port: int) -> None:
    from http import HTTPStatus

    from websockets.asyncio.server import broadcast, serve

    clients: set = set()

    def health(connection, request):
        if request.path == "/healthz":
            return connection.respond(HTTPStatus.OK, "ok\n")
        return None

    async def handler(ws):
        clients.add(ws)
        try:
            async for raw in ws:
                data = json.loads(raw)
                if data.get("type") == "message.send":
                    frame = {"type": "message.new", "message": {"body": data["body"], "client_id": data["client_id"]},
                             "timestamp": time.time()}
                    broadcast(clients, json.dumps(frame))
        finally:
            clients.discard(ws)

    async def main():
        async with serve(handler, "127.0.0.1", port, process_request=health, max_size=2**20, ping_interval=None):
            await asyncio.Future()

    asyncio.run(main())


# --- measurements ------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Room:
    """A sender and N receivers connected to one server; records per-delivery latency."""

    def __init__(self, url: str, tokens: list[str]):
        self.url = url
        self.tokens = tokens
        self.sent_at: dict[int, float] = {}
        self.latencies: dict[int, list[float]] = {}
        self.sockets: list = []
        self.readers: list[asyncio.Task] = []
        self.run_id = uuid.uuid4().hex[:8]
        self.seq = 0
        self.last_frame = time.monotonic()
        self.reordered = 0  # deliveries that arrived after a later message on the same socket

    async def open(self, receivers: int) -> None:
        import websockets

        async def one(token: str):
            ws = await websockets.connect(f"{self.url}?token={token}", origin=ORIGIN, open_timeout=60,
                                          ping_interval=None, max_size=2**24, max_queue=None)
            self.sockets.append(ws)
            self.readers.append(asyncio.ensure_future(self.read(ws)))
            return ws

        self.sender = await one(self.tokens[0])
        for start in range(1, receivers + 1, CONNECT_BATCH):
            await asyncio.gather(*(one(t) for t in self.tokens[start:min(start + CONNECT_BATCH, receivers + 1)]))
        await self.settle()

    async def settle(self, quiet: float = 0.5, limit: float = 30.0) -> None:
        """Until no frame arrived for `quiet` seconds: the connect burst's presence frames (each join
        tells every member) are not part of a broadcast's latency."""
        self.last_frame = time.monotonic()
        deadline = self.last_frame + limit
        while time.monotonic() < deadline and time.monotonic() - self.last_frame < quiet:
            await asyncio.sleep(0.1)

    async def read(self, ws) -> None:
        own = ws is getattr(self, "sender", None)
        newest = 0
        try:
            async for raw in ws:
                self.last_frame = time.monotonic()
                if not raw.startswith('{"type": "message.new"'):
                    continue
                now = time.perf_counter()
                body = json.loads(raw)["message"]["body"]
                if own or not body.startswith(f"b {self.run_id} "):
                    continue
                seq = int(body.rsplit(" ", 1)[1])
                if seq < newest:
                    self.reordered += 1
                newest = max(newest, seq)
                self.latencies.setdefault(seq, []).append((now - self.sent_at[seq]) * 1000)
        except Exception:
            return

    async def send(self) -> int:
        self.seq += 1
        seq = self.seq
        self.sent_at[seq] = time.perf_counter()
        await self.sender.send(json.dumps({"type": "message.send", "body": f"b {self.run_id} {seq}",
                                           "client_id": f"{self.run_id}-{seq}"}))
        return seq

    async def wait_delivered(self, seqs: list[int], receivers: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(len(self.latencies.get(s, ())) >= receivers for s in seqs):
                return
            await asyncio.sleep(0.05)

    def collect(self, seqs: list[int], receivers: int) -> tuple[list[float], int]:
        values = [v for s in seqs for v in self.latencies.get(s, ())]
        return values, len(seqs) * receivers - len(values)

    async def close(self) -> None:
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


def progress(text: str) -> None:
    print(f"[bench] messaging: {text}", flush=True)


async def fanout(url: str, tokens: list[str], receivers: int, messages: int, gap: float) -> tuple[float, float, int]:
    progress(f"fan-out to {receivers} via {url.split('/')[2]}")
    room = Room(url, tokens)
    try:
        await room.open(receivers)
        for _ in range(3):  # warm-up
            await room.send()
        await room.wait_delivered([1, 2, 3], receivers, 10)
        seqs = []
        for _ in range(messages):  # closed loop: latency of one message, not of a backlog
            seqs.append(await room.send())
            await room.wait_delivered(seqs[-1:], receivers, 10)
            await asyncio.sleep(gap)
        values, missing = room.collect(seqs, receivers)
        return pct(values, 0.5), pct(values, 0.99), missing + room.reordered
    finally:
        await room.close()


async def sustained(url: str, tokens: list[str], receivers: int, step_seconds: float) -> tuple[float, str]:
    """Highest send rate whose p99 stays within P99_TARGET_MS with nothing lost."""
    progress(f"sustained rate to {receivers} via {url.split('/')[2]}")
    room = Room(url, tokens)
    best, detail = 0.0, ""
    try:
        await room.open(receivers)
        warm = [await room.send() for _ in range(10)]  # connections, pools and caches warm
        await room.wait_delivered(warm, receivers, 10)
        for rate in SUSTAINED_RATES:
            seqs, start = [], time.perf_counter()
            count = max(10, int(rate * step_seconds))
            for i in range(count):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                seqs.append(await room.send())
            achieved = count / max(time.perf_counter() - start, 1e-9)
            await room.wait_delivered(seqs, receivers, 5)
            values, missing = room.collect(seqs, receivers)
            p99 = pct(values, 0.99)
            if missing or room.reordered or p99 > P99_TARGET_MS or achieved < rate * 0.9:
                detail = (f"at {rate}/s: p99 {p99:.0f} ms, {missing} missing, {room.reordered} out of order, "
                          f"sent {achieved:.0f}/s")
                break
            best, detail = achieved, f"p99 {p99:.0f} ms at {rate}/s"
            await asyncio.sleep(0.5)
    finally:
        await room.close()
    return best, detail


def history_latency(base: str, session_id: int, token: str, seconds: float) -> tuple[tuple[float, float],
                                                                                   tuple[float, float]]:
    import httpx

    def timed(client, path, headers) -> list[float]:
        values, end = [], time.monotonic() + seconds
        while time.monotonic() < end and len(values) < 5000:
            t0 = time.perf_counter()
            response = client.get(path, headers=headers)
            values.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: HTTP {response.status_code}")
        return values

    with httpx.Client(base_url=base, timeout=10) as client:
        auth = {"Authorization": f"Bearer {token}"}
        path = f"/api/v1/live_sessions/{session_id}/messages?limit=50"
        timed(client, path, auth)  # warm-up
        history = timed(client, path, auth)
        health = timed(client, "/healthz", {})
    return (pct(history, 0.5), pct(history, 0.99)), (pct(health, 0.5), pct(health, 0.99))


def raise_fd_limit(want: int = 8192) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def serving(name: str, port: int, env: dict[str, str]):
    """The project as `manage.py serve --server NAME --workers 1` runs it (the default server unless
    `--server` says otherwise)."""
    argv = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--server", name]
    return server(argv, port=port, env=env)


def run(args) -> list[Row]:
    if not os.environ.get("REDIS_URL"):
        print("[bench] messaging: REDIS_URL is unset; the fan-out benchmark needs the Redis channel layer. Skipped.")
        return []
    from flashlearn.servers import DEFAULT

    name = getattr(args, "server", None) or DEFAULT
    raise_fd_limit()
    step = min(max(args.duration / 2, 1.0), 3.0)
    tag = uuid.uuid4().hex[:8]
    data = json.loads(fixture("create", str(max(FANOUT_SIZES)), tag))
    session_id, tokens = data["session"], data["tokens"]
    ws_path = f"/ws/live_sessions/{session_id}/"
    rows: list[Row] = []
    try:
        ref_port = free_port()
        ref_argv = [sys.executable, "-m", "bench.messaging", "--serve-reference", str(ref_port)]
        ref_url = f"ws://127.0.0.1:{ref_port}/"
        server_env = {"MESSAGING_WS_RATE": "1000000", "MESSAGING_WS_BURST": "1000000", "LOG_LEVEL": "WARNING"}
        # Both servers run at once and each figure is measured on the reference, then at once on the
        # project: on a shared machine the load drifts within minutes, and a ratio is only fair when
        # both sides saw the same load.
        with server(ref_argv, port=ref_port, env=bench_env()):
            for layer in getattr(args, "layers", "pubsub,core").split(","):
                port = free_port()
                with serving(name, port, bench_env(MESSAGING_CHANNEL_LAYER=layer, **server_env)) as base:
                    url = f"ws://127.0.0.1:{port}{ws_path}"
                    for n in FANOUT_SIZES:
                        messages = 30 if n > 100 else 60
                        r50, r99, _ = asyncio.run(fanout(ref_url, tokens, n, messages=messages, gap=0.05))
                        p50, p99, missing = asyncio.run(fanout(url, tokens, n, messages=messages, gap=0.05))
                        note = f"{name}, {layer} layer"
                        if missing:
                            note += f"; {missing} deliveries missing or out of order"
                        rows.append(Row(SECTION, f"fan-out to {n:,} p50 ({layer})", p50, "ms", "bare websockets", r50,
                                        False, note))
                        rows.append(Row(SECTION, f"fan-out to {n:,} p99 ({layer})", p99, "ms", "bare websockets", r99,
                                        False, note))
                    if layer == "pubsub":
                        sus_ref = asyncio.run(sustained(ref_url, tokens, SUSTAINED_RECEIVERS, step))
                        rate, detail = asyncio.run(sustained(url, tokens, SUSTAINED_RECEIVERS, step))
                        rows.append(Row(SECTION, f"sustained msg/s to {SUSTAINED_RECEIVERS} (p99<=100ms)", rate,
                                        "msg/s", "bare websockets", sus_ref[0], True, f"{detail}; ref {sus_ref[1]}"))
                        (h50, h99), (z50, z99) = history_latency(base, session_id, tokens[1], step)
                        rows.append(Row(SECTION, "history GET limit=50 p50", h50, "ms", "GET /healthz", z50, False))
                        rows.append(Row(SECTION, "history GET limit=50 p99", h99, "ms", "GET /healthz", z99, False))
    finally:
        fixture("delete", tag)
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-reference":
        serve_reference(int(sys.argv[2]))
    else:
        print("usage: python -m bench messaging  (or: python -m bench.messaging --serve-reference PORT)")
