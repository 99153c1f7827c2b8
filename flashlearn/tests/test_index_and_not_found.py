"""`/` is a small JSON index; every unknown /api/ path is the JSON error shape, DEBUG on or off."""

from __future__ import annotations

import pytest


@pytest.fixture(params=[True, False], ids=["debug", "production"])
def debug_mode(request, settings):
    settings.DEBUG = request.param
    return request.param


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/nope/", "/api/", "/api", "/api/v2/live_sessions/1"])
def test_unknown_api_paths_answer_the_json_error_shape(client, debug_mode, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}


@pytest.mark.django_db
def test_a_post_to_an_unknown_api_path_is_a_404_not_a_csrf_page(debug_mode):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/api/v1/nope", data="{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_root_is_a_json_index_of_docs_admin_and_health(client, debug_mode):
    response = client.get("/")
    assert response.status_code == 200
    links = response.json()["links"]
    assert links["docs"] == "/api/docs/" and links["admin"] == "/admin/" and links["health"] == "/healthz"
    for path in links.values():  # every link it gives is served
        assert client.get(path).status_code in (200, 302), path


@pytest.mark.django_db
def test_admin_view_site_link_leads_to_the_index(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert 'href="/"' in html
    assert admin_client.get("/").json()["name"] == "Flashlearn API"
