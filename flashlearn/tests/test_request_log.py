"""One structured line per request; X-Request-ID honoured and echoed; tokens never logged."""

from __future__ import annotations

import json
import logging
import re

import pytest

from flashlearn.logs import JsonFormatter
from flashlearn.middleware import redact_query, request_id_from

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def _request_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "flashlearn.request"]


@pytest.fixture
def request_log(caplog):
    caplog.set_level(logging.INFO, logger="flashlearn.request")
    return caplog


def test_one_line_per_request_with_every_field(client, request_log):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    (record,) = _request_records(request_log)
    assert (record.method, record.path, record.status, record.request_id) == ("GET", "/healthz", 200, "abc-123")
    assert isinstance(record.duration_ms, float) and record.duration_ms >= 0

    line = JsonFormatter().format(record)
    assert "\n" not in line
    payload = json.loads(line)
    assert {"time", "level", "logger", "method", "path", "status", "duration_ms", "request_id"} <= set(payload)
    assert payload["request_id"] == "abc-123" and payload["status"] == 200


@pytest.mark.parametrize("sent", [None, "", "has spaces", "x" * 129, "newline\r\nInjected: 1", "ünïcode"])
def test_missing_or_malformed_request_id_is_replaced(client, request_log, sent):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}
    response = client.get("/healthz", **headers)
    assert HEX32.match(response["X-Request-ID"])
    assert _request_records(request_log)[0].request_id == response["X-Request-ID"]


def test_each_request_gets_its_own_id(client):
    assert client.get("/healthz")["X-Request-ID"] != client.get("/healthz")["X-Request-ID"]


@pytest.mark.django_db
def test_error_responses_are_logged_with_their_status(client, request_log):
    client.get("/__dbcheck__", HTTP_X_REQUEST_ID="db-1")
    client.post("/healthz", HTTP_X_REQUEST_ID="post-1")
    statuses = {r.request_id: r.status for r in _request_records(request_log)}
    assert statuses == {"db-1": 200, "post-1": 405}


def test_token_in_query_string_is_redacted_in_the_log(client, request_log):
    client.get("/healthz?token=eyJhbGciOi.secret.part&page=2&access_token=abc&code=xyz")
    (record,) = _request_records(request_log)
    assert record.path == "/healthz?token=[redacted]&page=2&access_token=[redacted]&code=[redacted]"
    assert "secret" not in JsonFormatter().format(record)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("token=a", "token=[redacted]"),
        ("TOKEN=a&x=1", "TOKEN=[redacted]&x=1"),
        ("x=1&refresh=r&password=p", "x=1&refresh=[redacted]&password=[redacted]"),
        ("mytoken=keep", "mytoken=keep"),
        ("page=2", "page=2"),
    ],
)
def test_redact_query(query, expected):
    assert redact_query(query) == expected


def test_request_id_from_accepts_sane_ids_only():
    assert request_id_from("7f0c-11ee.a:b_c") == "7f0c-11ee.a:b_c"
    assert HEX32.match(request_id_from("<script>"))


async def test_the_async_path_logs_and_echoes_too(async_client, request_log):
    response = await async_client.get("/healthz?token=t", headers={"X-Request-ID": "async-1"})
    assert response.status_code == 200
    assert response["X-Request-ID"] == "async-1"
    (record,) = _request_records(request_log)
    assert (record.path, record.request_id) == ("/healthz?token=[redacted]", "async-1")


def test_project_middlewares_run_natively_under_asgi():
    """No sync-only middleware in the chain: each would cost a thread hop per request under daphne."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    sync_only = [
        path for path in settings.MIDDLEWARE
        if not getattr(import_string(path), "async_capable", False)
    ]
    assert sync_only == []
