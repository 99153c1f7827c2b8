"""An unreachable database is a 503 with Retry-After on every creators route, never an empty success."""

import json
import os
import subprocess
import sys

import pytest
from django.db import OperationalError
from django.urls import resolve

from bench.core import ROOT, free_port
from creators.tests.outage_probe import ROUTES


def test_every_creators_route_resolves_to_a_creators_view():
    for _method, url in ROUTES:
        match = resolve(url.split("?")[0])
        assert match.func.view_class.__module__ == "creators.apis", url


def test_every_route_is_503_with_retry_after_when_the_database_is_unreachable():
    """A real outage: a separate process whose DATABASE_URL points at a port nobody listens on."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_TEST_NAME"}}
    env.update(
        DATABASE_URL=f"postgres://flashlearn:secret-password@127.0.0.1:{free_port()}/flashlearn",
        DJANGO_SETTINGS_MODULE="flashlearn.test_settings",
        DB_POOL_TIMEOUT="0.3",  # the pooled path, as production runs it, but quick
        DB_CONNECT_TIMEOUT="1",
        LOG_LEVEL="CRITICAL",
    )
    proc = subprocess.run([sys.executable, "-m", "creators.tests.outage_probe"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    answers = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(answers) == len(ROUTES)
    for answer in answers:
        assert answer["status"] == 503, answer
        assert answer["retry_after"] and int(answer["retry_after"]) > 0, answer
        assert answer["body"]["error"]["code"] == "database_unavailable", answer
        assert "secret-password" not in json.dumps(answer)


@pytest.mark.django_db
@pytest.mark.parametrize("method,url", ROUTES)
def test_a_failing_connection_is_503_in_process(auth_client, monkeypatch, method, url):
    from django.db import connection

    auth_client.get("/api/v1/credits")  # authenticate once while the database is up

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = getattr(auth_client, method)(url)
    assert response.status_code == 503
    assert response["Retry-After"]
    assert response.json() == {"error": {"code": "database_unavailable",
                                         "message": "The database is unavailable. Retry later."}}
