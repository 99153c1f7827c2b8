"""OpenAPI at /api/schema/ and /api/docs/ with local assets; the admin under uvicorn and daphne, DEBUG off."""

from __future__ import annotations

import re
import secrets
import sys

import pytest
import yaml

from bench.core import free_port
from flashlearn.openapi import drop_trailing_slash_twins
from flashlearn.tests.live import get, manage, project_env, running

ADMIN_EMAIL = "root@example.com"
ADMIN_PASSWORD = "admin password for tests 1"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/schema/", "/api/schema"])
def test_schema_is_an_openapi_3_document(client, path):
    response = client.get(path, HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Flashlearn API"
    assert not {"/", "/healthz", "/readyz", "/__dbcheck__"} & set(document["paths"])  # plain views are not listed
    assert all(path.startswith("/api/v1/") for path in document["paths"])


@pytest.mark.django_db
def test_schema_lists_each_route_once_and_declares_bearer_auth(client):
    document = yaml.safe_load(client.get("/api/schema/").content)
    paths = set(document["paths"])
    twins = sorted(p for p in paths if p.endswith("/") and p.rstrip("/") in paths)
    assert twins == []
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert document["paths"]["/api/v1/auth/profile"]["get"]["security"] == [{"bearerAuth": []}]
    assert document["paths"]["/api/v1/auth/login"]["post"]["security"] == [{}]  # no token needed to get one


@pytest.mark.urls("flashlearn.tests.urls")
@pytest.mark.django_db
def test_nested_serializers_get_distinct_component_names(client):
    document = yaml.safe_load(client.get("/api/schema/").content)
    components = set(document["components"]["schemas"])
    assert "EchoInputRequest" in components  # EchoApi.InputSerializer, not a bare "InputRequest"


def test_trailing_slash_twins_are_dropped_but_lone_slashed_routes_kept():
    endpoints = [("/a", "", "GET", None), ("/a/", "", "GET", None), ("/b/", "", "GET", None), ("/", "", "GET", None)]
    assert [e[0] for e in drop_trailing_slash_twins(endpoints)] == ["/a", "/b/", "/"]


def _asset_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)


@pytest.mark.django_db
def test_docs_page_uses_only_local_assets_and_they_are_served(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    assert not re.search(r"https?://(?!127\.0\.0\.1|localhost|testserver)", html), "a CDN URL in the docs page"
    assets = [url for url in _asset_urls(html) if url.startswith("/static/")]
    assert any(url.endswith(".js") for url in assets) and any(url.endswith(".css") for url in assets)
    for url in assets:
        asset = client.get(url)
        assert asset.status_code == 200, url
        content = b"".join(asset.streaming_content) if asset.streaming else asset.content
        assert len(content) > 100, url


@pytest.fixture(scope="module", params=["uvicorn", "daphne"])
def production_server(request, tmp_path_factory):
    """The project under `manage.py serve` (uvicorn worker, and daphne), DEBUG off, on a free loopback port."""
    port = free_port()
    env = project_env(
        DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false", LOG_LEVEL="WARNING",
        # Plain-http test server: secure-only cookies would never come back to it.
        SESSION_COOKIE_SECURE="false", CSRF_COOKIE_SECURE="false",
        DATABASE_URL=f"sqlite:///{tmp_path_factory.mktemp('db') / 'admin.sqlite3'}",
    )
    for command in (["migrate", "--noinput", "-v", "0"],
                    ["shell", "-c", f"from accounts.models import User; User.objects.create_superuser("
                                    f"email='{ADMIN_EMAIL}', password='{ADMIN_PASSWORD}')"]):
        result = manage(*command, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
    argv = [sys.executable, "manage.py", "serve", "--port", str(port), "--server", request.param]
    base = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp(request.param) / "server.log"
    with running(argv, env=env, ready_url=f"{base}/healthz", log=log) as server:
        yield base, server


def test_admin_login_and_its_css_are_served_with_debug_off(production_server):
    base, _ = production_server
    status, _, body = get(f"{base}/admin/login/")
    assert status == 200
    html = body.decode()
    assert 'name="username"' in html
    stylesheets = [u for u in _asset_urls(html) if u.endswith(".css")]
    assert stylesheets and all(u.startswith("/static/admin/") for u in stylesheets)
    for url in stylesheets:
        status, headers, css = get(f"{base}{url}")
        assert status == 200, url
        assert headers["Content-Type"].startswith("text/css")
        assert len(css) > 0


def test_docs_assets_are_served_with_debug_off(production_server):
    base, _ = production_server
    status, _, body = get(f"{base}/api/docs/")
    assert status == 200
    assets = [u for u in _asset_urls(body.decode()) if u.startswith("/static/")]
    assert assets
    for url in assets:
        assert get(f"{base}{url}")[0] == 200, url
    status, headers, _ = get(f"{base}/api/schema/")
    assert status == 200 and "openapi" in headers["Content-Type"]


def test_unknown_route_is_json_404_from_a_real_server(production_server):
    base, _ = production_server
    status, headers, body = get(f"{base}/nope")
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert b'"not_found"' in body


def test_admin_login_round_trip_under_a_real_server(production_server):
    """CSRF check, session save and messages run under ASGI (flashlearn.middleware's async hooks)."""
    import http.cookiejar
    import urllib.parse
    import urllib.request

    base, _ = production_server
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(f"{base}/admin/login/?next=/admin/", timeout=15).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    assert any(cookie.name == "csrftoken" for cookie in jar)

    def login(password: str, csrf: str) -> tuple[int, str]:
        form = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, "username": ADMIN_EMAIL,
                                       "password": password, "next": "/admin/"}).encode()
        request = urllib.request.Request(f"{base}/admin/login/?next=/admin/", data=form,
                                         headers={"Referer": f"{base}/admin/login/"})
        try:
            with opener.open(request, timeout=15) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    assert login(ADMIN_PASSWORD, "forged" * 6)[0] == 403  # CSRF still enforced
    status, page = login("wrong password", token)
    assert status == 200 and "errornote" in page
    status, page = login(ADMIN_PASSWORD, token)  # redirected to /admin/ and followed with the session cookie
    assert status == 200
    assert "Flashlearn admin" in page and "Where things stand" in page
    assert any(cookie.name == "sessionid" for cookie in jar)
