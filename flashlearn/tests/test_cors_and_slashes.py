"""CORS from env, and every route answering with and without its trailing slash, never redirecting."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from flashlearn.tests.settings_env import settings_from_env

FRONT_END = "https://app.flashlearn.example"


def test_no_cors_origin_is_allowed_by_default_outside_debug(monkeypatch):
    reloaded = settings_from_env(monkeypatch, DEBUG="false", SECRET_KEY="x" * 60, CORS_ALLOWED_ORIGINS=None)
    assert reloaded.CORS_ALLOWED_ORIGINS == []


def test_cors_origins_come_from_env(monkeypatch):
    reloaded = settings_from_env(
        monkeypatch, DEBUG="false", SECRET_KEY="x" * 60, CORS_ALLOWED_ORIGINS=f" {FRONT_END}, http://localhost:5173 "
    )
    assert reloaded.CORS_ALLOWED_ORIGINS == [FRONT_END, "http://localhost:5173"]


@pytest.fixture
def cors(settings):
    settings.CORS_ALLOWED_ORIGINS = [FRONT_END]
    return settings


pytest_urls = pytest.mark.urls("flashlearn.tests.urls")


@pytest_urls
@pytest.mark.parametrize("path", ["/api/v1/test/echo", "/api/v1/test/echo/", "/echo", "/echo/"])
def test_preflight_answers_on_both_forms_without_redirect(client, cors, path):
    response = client.options(
        path,
        HTTP_ORIGIN=FRONT_END,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == FRONT_END
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "authorization" in response["Access-Control-Allow-Headers"]


@pytest_urls
@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/test/echo", "/api/v1/test/echo/", "/echo", "/echo/"])
def test_post_answers_on_both_forms_without_redirect(client, cors, path):
    response = client.post(path, {"email": "ada@example.com", "age": 36}, content_type="application/json",
                           HTTP_ORIGIN=FRONT_END)
    assert response.status_code == 201, response.content
    assert response.json() == {"echo": "ada@example.com"}
    assert response["Access-Control-Allow-Origin"] == FRONT_END


@pytest_urls
@pytest.mark.django_db
def test_front_end_on_another_origin_can_read_retry_after_and_request_id(client, cors):
    """A page on another origin only sees response headers the server exposes: without this a
    429/503's Retry-After is invisible to it (found by the browser tests of the web client)."""
    response = client.post("/api/v1/test/echo", {"email": "ada@example.com", "age": 36},
                           content_type="application/json", HTTP_ORIGIN=FRONT_END)
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {"retry-after", "x-request-id"} <= exposed


@pytest_urls
def test_unknown_origin_gets_no_cors_headers(client, cors):
    response = client.options("/api/v1/test/echo", HTTP_ORIGIN="https://evil.example",
                              HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in response


def _routes(patterns, prefix: str = "") -> list[str]:
    routes = []
    for entry in patterns:
        if not isinstance(entry.pattern, RoutePattern):
            continue  # admin internals and regex routes
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            routes.extend(_routes(entry.url_patterns, route))
        elif isinstance(entry, URLPattern):
            routes.append(route)
    return routes


def test_every_project_route_exists_with_and_without_trailing_slash():
    """APPEND_SLASH is off, so each HTTP route must be declared in both forms (flashlearn.paths.both)."""
    routes = set(_routes(get_resolver().url_patterns))
    assert {"healthz", "healthz/", "readyz", "__dbcheck__/", "api/schema", "api/docs/"} <= routes
    missing = sorted(
        route for route in routes
        if not route.startswith("admin/") and route and (route.rstrip("/") not in routes or
                                                           route.rstrip("/") + "/" not in routes)
    )
    assert missing == [], f"routes without their twin form: {missing}"


def test_append_slash_is_off(settings):
    assert settings.APPEND_SLASH is False
