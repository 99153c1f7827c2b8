"""/healthz, /readyz and /__dbcheck__ (API.md "Operations")."""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError

from bench.core import free_port
from flashlearn import health
from flashlearn.tests.live import get, project_env, serve


@pytest.mark.parametrize("path", ["/healthz", "/healthz/"])
def test_healthz_is_ok_without_touching_the_database(client, path):
    # No django_db mark: any database access here would raise instead of answering.
    response = client.get(path)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_answers_head_for_load_balancers(client):
    assert client.head("/healthz").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/readyz", "/readyz/"])
def test_readyz_reports_every_check(client, path):
    response = client.get(path)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "channel_layer", "transcription", "broker"}
    assert all(check["ok"] for check in body["checks"].values())
    assert "Retry-After" not in response


@pytest.mark.django_db
@pytest.mark.parametrize("failing", ["database", "channel_layer", "transcription"])
def test_readyz_is_503_with_retry_after_when_one_check_fails(client, monkeypatch, failing):
    monkeypatch.setitem(health.READINESS_CHECKS, failing, lambda: {"ok": False, "error": "Down"})
    response = client.get("/readyz")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"][failing] == {"ok": False, "error": "Down"}
    assert all(check["ok"] for name, check in body["checks"].items() if name != failing)


@pytest.mark.django_db
def test_readyz_check_that_raises_is_a_503_not_a_500(client, monkeypatch):
    def broken():
        raise ImportError("transcription.health")

    monkeypatch.setitem(health.READINESS_CHECKS, "transcription", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["transcription"] == {"ok": False, "error": "ImportError"}


def test_readyz_database_check_catches_a_real_driver_error(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError("connection refused")

    connection = health.connections["default"]
    if connection.vendor == "postgresql":  # probed over a connection of its own: point it at a closed port
        monkeypatch.setitem(connection.settings_dict, "PORT", free_port())
    else:
        monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {"ok": False, "error": "OperationalError"}


@pytest.mark.redis
def test_channel_layer_check_fails_when_redis_is_unreachable(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    result = health.check_channel_layer()
    assert result["ok"] is False and result["backend"] == "redis"


@pytest.mark.redis
def test_channel_layer_check_pings_redis():
    assert health.check_channel_layer() == {"ok": True, "backend": "redis"}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/__dbcheck__", "/__dbcheck__/"])
def test_dbcheck_runs_select_1(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.json() == {"ok": True}


def test_health_routes_refuse_writes(client):
    assert client.post("/healthz").status_code == 405


def test_database_down_gives_503_with_retry_after_from_a_real_server(tmp_path):
    """DATABASE_URL at a closed loopback port: /__dbcheck__ and /readyz answer 503, /healthz 200."""
    closed = free_port()  # nothing listens there: connection refused, at once
    env = project_env(
        DEBUG="true", DATABASE_URL=f"postgres://postgres:hunter2@127.0.0.1:{closed}/flashlearn",
        DB_POOL_TIMEOUT="1", DB_CONNECT_TIMEOUT="1", LOG_LEVEL="WARNING",
    )
    with serve(env=env, log=tmp_path / "serve.log") as server:
        base = server.base
        status, headers, body = get(f"{base}/__dbcheck__")
        assert status == 503
        assert int(headers["Retry-After"]) > 0
        payload = json.loads(body)
        assert payload["ok"] is False
        assert payload["error"] == "database_unavailable"

        status, headers, body = get(f"{base}/readyz/")
        assert status == 503 and int(headers["Retry-After"]) > 0
        assert json.loads(body)["checks"]["database"]["ok"] is False

        assert get(f"{base}/healthz")[0] == 200
    assert "hunter2" not in server.output()
