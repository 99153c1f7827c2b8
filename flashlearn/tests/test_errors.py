"""One error shape for every failure (API.md "Errors"), 503 for a database outage, generic 500s."""

from __future__ import annotations

import logging
import re

import pytest
from django.test import Client

from flashlearn.tests.urls import SECRET_IN_EXCEPTION

pytestmark = [pytest.mark.urls("flashlearn.tests.urls"), pytest.mark.django_db]


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def test_validation_error_lists_every_bad_field(api_client):
    response = api_client.post(
        "/api/v1/test/echo", {"email": "not-an-email", "age": -1, "address": {"city": "x" * 30}}, format="json"
    )
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == {"email", "age", "address.city"}
    assert all(isinstance(msg, str) for msgs in error["fields"].values() for msg in msgs)


def test_missing_required_fields_are_validation_errors(api_client):
    error = _error(api_client.post("/api/v1/test/echo", {}, format="json"))
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == {"email", "age"}


def test_malformed_json_is_a_400_not_a_500(api_client):
    response = api_client.generic("POST", "/api/v1/test/echo", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert _error(response)["code"] == "malformed_request"


def test_wrong_content_type_is_415(api_client):
    response = api_client.generic("POST", "/api/v1/test/echo", "email=x", content_type="text/plain")
    assert response.status_code == 415
    assert _error(response)["code"] == "unsupported_media_type"


def test_missing_token_is_401_with_www_authenticate(api_client):
    response = api_client.get("/api/v1/test/private")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    error = _error(response)
    assert error["code"] == "not_authenticated"
    assert "fields" not in error


def test_bad_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    response = api_client.get("/api/v1/test/private")
    assert response.status_code == 401
    assert re.fullmatch(r"[a-z]+(_[a-z]+)*", _error(response)["code"])  # the accounts app names the code


def test_valid_token_passes(auth_client, user):
    response = auth_client.get("/api/v1/test/private/")
    assert response.status_code == 200
    assert response.json() == {"email": user.email}


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("permission", 403, "forbidden"),
        ("drf-permission", 403, "forbidden"),
        ("http404", 404, "not_found"),
        ("conflict", 409, "conflict"),
        ("credits", 402, "insufficient_credits"),
    ],
)
def test_domain_and_django_errors_map_to_the_shape(api_client, kind, status, code):
    response = api_client.get(f"/api/v1/test/fail/{kind}")
    assert response.status_code == status
    assert _error(response)["code"] == code


def test_domain_error_fields_are_kept(api_client):
    error = _error(api_client.get("/api/v1/test/fail/conflict"))
    assert error == {"code": "conflict", "message": "That email is taken.", "fields": {"email": ["taken"]}}


def test_throttled_is_429_with_retry_after(api_client):
    response = api_client.get("/api/v1/test/fail/throttled")
    assert response.status_code == 429
    assert response["Retry-After"] == "42"
    assert _error(response)["code"] == "throttled"


def test_wrong_method_is_405_in_the_shape(api_client):
    response = api_client.get("/api/v1/test/echo")
    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"
    assert "POST" in response["Allow"]


@pytest.mark.parametrize("kind", ["operational", "interface"])
def test_database_error_in_a_drf_view_is_503_with_retry_after(api_client, kind):
    response = api_client.get(f"/api/v1/test/fail/{kind}")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert _error(response)["code"] == "database_unavailable"
    assert SECRET_IN_EXCEPTION not in response.content.decode()


def test_database_error_in_a_plain_view_is_503_with_retry_after(client):
    response = client.get("/test/plain/operational")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert _error(response)["code"] == "database_unavailable"
    assert SECRET_IN_EXCEPTION not in response.content.decode()


@pytest.mark.parametrize("path", ["/api/v1/test/fail/redis", "/test/plain/redis"])
def test_redis_down_in_a_view_is_503_cache_unavailable(client, path):
    response = client.get(path)
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert _error(response)["code"] == "cache_unavailable"


@pytest.mark.parametrize("path", ["/api/v1/test/fail/crash", "/test/plain/crash"])
def test_unhandled_exception_is_a_generic_500_and_the_traceback_is_logged(client, caplog, path):
    with caplog.at_level(logging.ERROR, logger="flashlearn.errors"):
        response = client.get(path, HTTP_X_REQUEST_ID="req-500-check")
    assert response.status_code == 500
    error = _error(response)
    assert error["code"] == "server_error"
    body = response.content.decode()
    assert SECRET_IN_EXCEPTION not in body and "Traceback" not in body
    assert "req-500-check" in error["message"]  # the caller can quote it
    records = [r for r in caplog.records if r.name == "flashlearn.errors" and r.levelno == logging.ERROR]
    assert len(records) == 1
    assert records[0].request_id == "req-500-check"
    assert records[0].exc_info and SECRET_IN_EXCEPTION in str(records[0].exc_info[1])


@pytest.fixture
def production_errors(settings):
    """DEBUG off and a middleware that can fail outside any view: Django's handler500 answers."""
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.MIDDLEWARE = [*settings.MIDDLEWARE[:1], "flashlearn.tests.urls.ExplodingMiddleware",
                           *settings.MIDDLEWARE[1:]]
    return Client(raise_request_exception=False)


def test_database_error_in_middleware_is_503(production_errors):
    response = production_errors.get("/healthz", HTTP_X_EXPLODE="operational")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert _error(response)["code"] == "database_unavailable"


def test_crash_in_middleware_is_a_generic_json_500(production_errors, caplog):
    with caplog.at_level(logging.ERROR, logger="flashlearn.errors"):
        response = production_errors.get("/healthz", HTTP_X_EXPLODE="crash", HTTP_X_REQUEST_ID="mw-crash")
    assert response.status_code == 500
    assert _error(response)["code"] == "server_error"
    assert SECRET_IN_EXCEPTION not in response.content.decode()
    assert response["X-Request-ID"] == "mw-crash"
    assert any(r.exc_info and getattr(r, "request_id", "") == "mw-crash" for r in caplog.records)


def test_unknown_route_is_a_json_404_in_production(production_errors):
    response = production_errors.get("/no/such/route")
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_unknown_host_is_a_json_400_in_production(production_errors):
    response = production_errors.get("/healthz", HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    assert _error(response)["code"] == "bad_request"
