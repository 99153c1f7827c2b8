"""Accounts: login under daphne with the real Argon2 hasher, the bare hash cost, and an
authenticated GET of the profile, each beside a reference measured in the same run.

- login req/s, p50, p99 (POST /api/v1/auth/login, one correct password, C keep-alive clients)
  beside GET /healthz on the same daphne process with the same client: login is dominated by
  password hashing, so the figure is roughly one hash per request per process.
- hash time per call: FlashlearnArgon2PasswordHasher (19 MiB, t=2, p=1) beside Django's default
  PBKDF2 (1,000,000 iterations), in a child process. Ratio > 1: Argon2 is that much cheaper.
- GET /api/v1/auth/profile with a bearer token (our access token: decode + one user read + the
  profile read) beside GET /healthz, through bench.loadgen (wrk when installed).

A scratch SQLite file is used unless DATABASE_URL is set (then the bench user is deleted at the
end). Production-like settings: DEBUG off, real password hashers (flashlearn.settings).
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass

from bench.core import ROOT, Row, bench_env, daphne, free_port, load_rows
from bench.loadgen import WRK, measure

SECTION = "accounts"
LOGIN_CLIENTS = 4
GET_CONNECTIONS = 16
HASH_SECONDS = 1.5  # per hasher, bounded; at least 3 calls each
PASSWORD = "bench passphrase for accounts 2026"

FIXTURE = r"""
import json, sys, django
django.setup()
from rest_framework_simplejwt.tokens import AccessToken
from accounts.models import AuthEvent, User
action, email = sys.argv[1], sys.argv[2]
if action == "create":
    user = User.objects.create_user(email=email, password=sys.argv[3])
    print(json.dumps({"access": str(AccessToken.for_user(user))}))
else:
    AuthEvent.objects.filter(email=email).delete()
    User.objects.filter(email=email).delete()
"""

HASH_SCRIPT = r"""
import json, sys, time, django
django.setup()
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from accounts.hashers import FlashlearnArgon2PasswordHasher
budget = float(sys.argv[1])
out = {}
for name, hasher in (("argon2", FlashlearnArgon2PasswordHasher()), ("pbkdf2", PBKDF2PasswordHasher())):
    hasher.encode("warm up", hasher.salt())
    calls, started = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - started < budget:
        hasher.encode("correct horse battery staple", hasher.salt())
        calls += 1
    out[name] = {"ms": (time.perf_counter() - started) * 1000 / calls, "calls": calls,
                 "params": getattr(hasher, "iterations", None) or f"m={hasher.memory_cost},t={hasher.time_cost}"}
print(json.dumps(out))
"""


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def _client_load(port: int, method: str, path: str, body: bytes | None, *, duration: float, clients: int) -> Result:
    """`clients` threads, each on one keep-alive connection, for `duration` seconds."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + duration
    headers = {"Content-Type": "application/json", "Host": "127.0.0.1"} if body else {"Host": "127.0.0.1"}

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        try:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                mine.append(time.perf_counter() - started)
                if response.status >= 400:
                    with lock:
                        errors[0] += 1
        except OSError:
            with lock:
                errors[0] += 1
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + 60)
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0

    return Result(len(latencies) / elapsed, pct(0.5), pct(0.99), len(latencies), errors[0])


def run(args) -> list[Row]:
    duration = args.duration
    scratch = None
    extra = {}
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        scratch = tempfile.NamedTemporaryFile(prefix="bench-accounts-", suffix=".sqlite3", delete=False)
        scratch.close()
        extra["DATABASE_URL"] = f"sqlite:///{scratch.name}"
    env = bench_env(
        DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false", LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="flashlearn.settings",
        LOGIN_MAX_FAILURES="1000000", LOGIN_IP_MAX_FAILURES="1000000", **extra,
    )
    database = "PostgreSQL" if env.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    email = f"bench-accounts-{uuid.uuid4().hex[:8]}@bench.invalid"
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        hashes = json.loads(subprocess.run(
            [sys.executable, "-c", HASH_SCRIPT, str(HASH_SECONDS)], cwd=ROOT, env=env, check=True,
            capture_output=True, text=True, timeout=120,
        ).stdout)
        token = json.loads(subprocess.run(
            [sys.executable, "-c", FIXTURE, "create", email, PASSWORD], cwd=ROOT, env=env, check=True,
            capture_output=True, text=True, timeout=60,
        ).stdout)["access"]
        body = json.dumps({"email": email, "password": PASSWORD}).encode()
        port = free_port()
        with daphne(port, env) as base:
            _client_load(port, "POST", "/api/v1/auth/login", body, duration=1.0, clients=LOGIN_CLIENTS)  # warm up
            login = _client_load(port, "POST", "/api/v1/auth/login", body, duration=duration, clients=LOGIN_CLIENTS)
            health_same_client = _client_load(port, "GET", "/healthz", None, duration=duration, clients=LOGIN_CLIENTS)
            auth = {"Authorization": f"Bearer {token}"}
            measure(base + "/api/v1/auth/profile", duration=1.0, connections=GET_CONNECTIONS, headers=auth)
            profile = measure(base + "/api/v1/auth/profile", duration=duration, connections=GET_CONNECTIONS,
                              headers=auth)
            health = measure(base + "/healthz", duration=duration, connections=GET_CONNECTIONS)
    finally:
        subprocess.run([sys.executable, "-c", FIXTURE, "delete", email], cwd=ROOT, env=env, check=False,
                       capture_output=True, timeout=60)
        if scratch is not None:
            os.unlink(scratch.name)
    for name, load in (("login", login), ("profile", profile)):
        if load.errors:
            raise RuntimeError(f"{name}: {load.errors} errors under load")
    argon, pbkdf2 = hashes["argon2"], hashes["pbkdf2"]
    tool = "wrk" if WRK else "asyncio client"
    return [
        *load_rows(SECTION, "login (Argon2id, daphne)", login, "GET /healthz, same server and client",
                   health_same_client, f"{LOGIN_CLIENTS} keep-alive clients, {database}; one hash per login"),
        Row(SECTION, "password hash per call (Argon2id 19 MiB t=2 p=1)", argon["ms"], "ms",
            f"Django PBKDF2 ({pbkdf2['params']:,} iterations)", pbkdf2["ms"], False,
            f"{argon['calls']} and {pbkdf2['calls']} calls, one core"),
        *load_rows(SECTION, "GET /api/v1/auth/profile (bearer)", profile, "GET /healthz, same server", health,
                   f"{tool}, {GET_CONNECTIONS} conns, {database}"),
    ]
