"""A live server answers what its OpenAPI schema says (issue 11 item 8), checked by schemathesis.

Bounded and reproducible: a fixed seed and a fixed number of generated cases per operation, one
worker, the examples + coverage + fuzzing phases, against `manage.py serve` with production
settings (DEBUG off) on the PostgreSQL test database. Checks: no 5xx (`not_a_server_error`), only
documented status codes, bodies and content types as documented. Runs in CI's PostgreSQL pass.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection

from bench.core import free_port
from flashlearn.tests.live import ROOT, project_env, running

pytestmark = [pytest.mark.schemathesis, pytest.mark.postgres]

SEED = 20261129
EXAMPLES_PER_OPERATION = 5
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"
EMAIL = "schemathesis@example.com"
PASSWORD = "schemathesis password 1"


def _database_url() -> str:
    db = connection.settings_dict  # the test database pytest-django created
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _signup(base: str) -> str:
    """An account made the way a client makes one (the server's own password hasher); its access token."""
    import urllib.request

    request = urllib.request.Request(f"{base}/api/v1/auth/signup", method="POST",
                                     data=json.dumps({"email": EMAIL, "password": PASSWORD}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["access"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(420)
def test_a_live_server_keeps_to_its_schema(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = project_env(
        DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="127.0.0.1", SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING", DATABASE_URL=_database_url(), WEB_CONCURRENCY="1",
        REDIS_URL=settings.REDIS_URL, REDIS_PREFIX=f"{settings.REDIS_PREFIX}-st-{secrets.token_hex(4)}",
        # Calendars are configured, so `google/connect` answers its 200 rather than its deliberate 503.
        TOKEN_ENCRYPTION_KEY=Fernet.generate_key().decode(), GOOGLE_CLIENT_ID="schemathesis",
        GOOGLE_CLIENT_SECRET="schemathesis",
    )
    report = tmp_path / "report.json"
    argv = [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(port)]
    with running(argv, env=env, ready_url=f"{base}/healthz", log=tmp_path / "server.log") as server:
        token = _signup(base)
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", f"{base}/api/schema/", "--checks", CHECKS,
             "--max-examples", str(EXAMPLES_PER_OPERATION), "--seed", str(SEED), "--workers", "1",
             "--phases", "examples,coverage,fuzzing", "--no-shrink", "--request-timeout", "30",
             "--header", f"Authorization: Bearer {token}", "--warnings", "off",
             "--report", "json", "--report-json-path", str(report)],
            cwd=tmp_path, capture_output=True, text=True, timeout=360, env=project_env(),
        )
        server_log = server.output()
    result = json.loads(report.read_text())
    cases = result["test_cases"]
    summary = (f"schemathesis: {result['operations']['tested']} operations, {cases['generated']} cases, "
               f"{cases['with_failures']} with failures, {len(result['errors'])} errors, "
               f"{result['running_time']:.0f}s (seed {SEED}, {EXAMPLES_PER_OPERATION} examples per operation)")
    print(summary)
    assert result["operations"]["tested"] >= 40, summary
    assert result["failures"] == [] and result["errors"] == [], (
        f"{summary}\n{run.stdout[-8000:]}\n--- server log ---\n{server_log[-3000:]}"
    )
    assert run.returncode == 0, f"{summary}\n{run.stdout[-4000:]}{run.stderr[-2000:]}"
