"""Outages answer fast and say so: a live `manage.py serve` whose PostgreSQL or Redis sits behind a
fault proxy (flashlearn/tests/faults.py) that refuses or stalls on command.

Without the breaker every request in a database outage waited out the pool (DB_POOL_TIMEOUT,
2 s here) and /readyz with it; a websocket handshake hung and was dropped; with Redis down the
handshake was an HTTP 500. Client timeouts below are bounds on a hang, not measurements: the
figures are in bench/ and the report, the bounds only leave the old behaviour no way to pass.
"""

from __future__ import annotations

import json
import sys

import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from accounts.tokens import token_pair_issue
from bench.core import free_port
from flashlearn.tests.faults import FaultProxy, RedisServer
from flashlearn.tests.live import get, project_env, running

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

POOL_TIMEOUT = 2  # what each request waited before the breaker
# 1013 "try again later": `serve` runs each server through its adapter (flashlearn/servers/), which sends it
TRY_AGAIN = (1013,)


def serve_env(*, database_url: str, redis_url: str | None = None) -> dict[str, str]:
    return project_env(
        DEBUG="false", SECRET_KEY="outage-test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        JWT_SECRET_KEY=settings.SIMPLE_JWT["SIGNING_KEY"], ALLOWED_HOSTS="127.0.0.1", SECURE_SSL_REDIRECT="false",
        DATABASE_URL=database_url, REDIS_URL=redis_url, REDIS_PREFIX=f"{settings.REDIS_PREFIX}-outage",
        DB_POOL_TIMEOUT=str(POOL_TIMEOUT), DB_POOL_MIN_SIZE="1", LOG_LEVEL="WARNING", WEB_CONCURRENCY="1",
    )


def database_url(port: int) -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    secret = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{secret}@127.0.0.1:{port}/{db['NAME']}"


def upstream() -> tuple[str, int]:
    db = settings.DATABASES["default"]
    return db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432)


def origin_of(url: str) -> str:
    """A page served by the API itself (its host is in ALLOWED_HOSTS): let in by every origin policy."""
    return "http://" + url.split("://", 1)[1].split("/", 1)[0]


def websocket_refusal(url: str, *, timeout: float) -> tuple[list[dict], int | None]:
    """(frames received, close code) of a websocket handshake the server refuses."""
    frames = []
    with connect(url, origin=origin_of(url), open_timeout=timeout, close_timeout=timeout) as ws:
        try:
            while True:
                frames.append(json.loads(ws.recv(timeout=timeout)))
        except ConnectionClosed as closed:
            return frames, closed.rcvd.code if closed.rcvd else None
        except TimeoutError:  # still open: not refused
            return frames, None


@pytest.fixture
def member(django_user_model):
    user = django_user_model.objects.create_user(email="outage@example.com", password="correct horse battery")
    return user, token_pair_issue(user)["access"]


def test_database_outage_is_503_at_once_and_health_answers_within_a_second(tmp_path, member):
    _, token = member
    auth = {"Authorization": f"Bearer {token}"}
    port = free_port()
    with FaultProxy(*upstream()) as proxy:
        env = serve_env(database_url=database_url(proxy.port))
        argv = [sys.executable, "manage.py", "serve", "--port", str(port)]
        base = f"http://127.0.0.1:{port}"
        with running(argv, env=env, ready_url=f"{base}/healthz", log=tmp_path / "serve.log") as server:
            assert get(f"{base}/readyz")[0] == 200
            assert get(f"{base}/api/v1/auth/profile", headers=auth)[0] == 200

            proxy.refuse()
            status, headers, body = get(f"{base}/api/v1/auth/profile", headers=auth, timeout=10)
            assert status == 503 and int(headers["Retry-After"]) > 0
            assert json.loads(body)["error"]["code"] == "database_unavailable"
            for _ in range(5):  # each used to wait the whole pool timeout again
                status, headers, body = get(f"{base}/api/v1/auth/profile", headers=auth, timeout=POOL_TIMEOUT * 0.75)
                assert status == 503 and int(headers["Retry-After"]) > 0
                assert json.loads(body)["error"]["code"] == "database_unavailable"
            for path in ("/readyz", "/__dbcheck__"):
                status, headers, _ = get(f"{base}{path}", timeout=POOL_TIMEOUT * 0.75)
                assert status == 503 and int(headers["Retry-After"]) > 0

            proxy.stall()  # accepts, then says nothing: only the checks' own deadline ends the wait
            for path in ("/readyz", "/__dbcheck__"):
                status, _, body = get(f"{base}{path}", timeout=POOL_TIMEOUT + 0.5)
                assert status == 503

            proxy.pass_through()
            assert get(f"{base}/readyz", timeout=POOL_TIMEOUT)[0] == 200  # closes the breaker at once
            assert get(f"{base}/api/v1/auth/profile", headers=auth, timeout=POOL_TIMEOUT + 1)[0] == 200
    log = server.output()
    # The 503's log line says why (the driver's message), once per request, never with a password.
    assert "dependency unavailable: OperationalError: " in log
    assert log.count("database unavailable: ") >= 1  # the breaker's one line per outage
    assert "database available again" in log
    assert "Traceback" not in log


def test_websocket_handshake_in_a_database_outage_is_a_prompt_try_again(tmp_path, member):
    _, token = member
    port = free_port()
    with FaultProxy(*upstream()) as proxy:
        env = serve_env(database_url=database_url(proxy.port))
        argv = [sys.executable, "manage.py", "serve", "--port", str(port)]
        url = f"ws://127.0.0.1:{port}/ws/auth/whoami/?token={token}"
        with running(argv, env=env, ready_url=f"http://127.0.0.1:{port}/healthz", log=tmp_path / "serve.log") as server:
            with connect(url, origin=origin_of(url), open_timeout=10) as ws:
                assert json.loads(ws.recv(timeout=10))["type"] == "whoami"

            proxy.refuse()
            # The first one finds the pool's connections gone and waits for it at most DB_POOL_TIMEOUT;
            # the ones after it are refused without touching the database.
            for timeout in (POOL_TIMEOUT + 8, POOL_TIMEOUT * 0.75, POOL_TIMEOUT * 0.75):
                frames, code = websocket_refusal(url, timeout=timeout)
                assert code in TRY_AGAIN
                assert [frame["code"] for frame in frames] == ["database_unavailable"]
                assert frames[0]["type"] == "error" and frames[0]["retry_after"] > 0

            proxy.pass_through()
            assert get(f"http://127.0.0.1:{port}/readyz", timeout=POOL_TIMEOUT)[0] == 200
            with connect(url, origin=origin_of(url), open_timeout=POOL_TIMEOUT + 1) as ws:
                assert json.loads(ws.recv(timeout=5))["type"] == "whoami"
    log = server.output()
    assert "Traceback" not in log and token not in log


def test_websocket_handshake_with_redis_down_is_never_a_500(tmp_path, member):
    from messaging.services import live_session_create

    user, token = member
    session = live_session_create(host=user, title="Outage drill")
    port = free_port()
    with RedisServer() as redis_server, FaultProxy("127.0.0.1", redis_server.port) as proxy:
        env = serve_env(database_url=database_url(upstream()[1]), redis_url=proxy.url("redis://127.0.0.1:{port}/0"))
        argv = [sys.executable, "manage.py", "serve", "--port", str(port)]
        url = f"ws://127.0.0.1:{port}/ws/live_sessions/{session.pk}/?token={token}"
        with running(argv, env=env, ready_url=f"http://127.0.0.1:{port}/healthz", log=tmp_path / "serve.log") as server:
            with connect(url, origin=origin_of(url), open_timeout=10) as ws:
                assert ws.recv(timeout=10)

            proxy.refuse()
            for _ in range(3):
                try:
                    frames, code = websocket_refusal(url, timeout=10)
                except InvalidStatus as exc:  # an HTTP answer instead of a websocket: only a 503 will do
                    assert exc.response.status_code == 503
                    continue
                # Either the socket works without Redis (chat degrades, presence catches up), or it
                # is refused with "try again": never a dropped handshake or a 500.
                if code in TRY_AGAIN:
                    assert frames[-1]["code"] in ("cache_unavailable", "database_unavailable")
                    assert frames[-1]["retry_after"] > 0
                else:
                    assert code is None and frames
                    assert all(frame.get("code") != "server_error" for frame in frames)
            assert get(f"http://127.0.0.1:{port}/readyz", timeout=POOL_TIMEOUT)[0] == 503
    assert "Exception inside application" not in server.output()  # daphne's words for a 500 / 1011
