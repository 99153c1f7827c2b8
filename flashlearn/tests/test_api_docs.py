"""/api/docs/ is something a front-end developer can learn from: operations grouped by app, each with a
summary, parameters described, request examples, every status it can answer with the shared error shape,
aliases left out; the document validates as OpenAPI 3; and the server refuses what the schema refuses."""

from __future__ import annotations

import pytest
import yaml
from openapi_spec_validator import validate

from flashlearn.openapi import TAGS

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def document(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def test_the_schema_is_a_valid_openapi_document(document):
    validate(document)


def test_every_operation_has_an_app_tag_and_a_summary(document):
    app_tags = {name for name, _ in TAGS.values()}
    assert {tag["name"] for tag in document["tags"]} == app_tags
    missing = [f"{m.upper()} {p}" for m, p, op in operations(document)
               if not op.get("summary") or not set(op.get("tags", [])) <= app_tags or not op.get("tags")]
    assert missing == [], "add @extend_schema(summary=...) or flashlearn.openapi.SUMMARIES for these"
    used = {tag for _, _, op in operations(document) for tag in op["tags"]}
    assert used == app_tags


def test_every_parameter_has_a_description(document):
    bare = [f"{m.upper()} {p} {param['name']}" for m, p, op in operations(document)
            for param in op.get("parameters", []) if not param.get("description")]
    assert bare == []


def test_aliases_stay_out_of_the_schema_and_are_listed_in_docs_api_md(document):
    from flashlearn.tests.live import ROOT

    assert all(path.startswith("/api/") for path in document["paths"])
    api_md = (ROOT / "docs" / "api.md").read_text()
    for alias in ("/signup", "/login", "/auth/profile", "/live_sessions", "/messages", "/status"):
        assert f"`{alias}`" in api_md, alias


def test_every_request_body_has_an_example(document):
    without = [f"{m.upper()} {p}" for m, p, op in operations(document)
               for media in op.get("requestBody", {}).get("content", {}).values()
               if "example" not in media and "examples" not in media]
    assert without == []


def test_errors_are_one_shared_component_under_each_status_an_operation_can_answer(document):
    error = document["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["code", "message"]
    for _, _, operation in operations(document):
        codes = set(operation["responses"])
        assert {"429", "503"} <= codes
        for code in codes - {"200", "201", "202", "204"}:
            response = operation["responses"][code]
            if "$ref" in response:
                name = response["$ref"].rsplit("/", 1)[-1]
                response = document["components"]["responses"][name]
            assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    paths = document["paths"]
    assert "401" in paths["/api/v1/live_sessions"]["get"]["responses"]
    assert "404" in paths["/api/v1/live_sessions/{session_id}"]["get"]["responses"]
    assert "402" in paths["/api/v1/simple/creator/{creator_id}/unlock"]["post"]["responses"]
    assert "503" in paths["/api/v1/calendars/google/connect"]["get"]["responses"]
    assert "401" in paths["/api/v1/auth/login"]["post"]["responses"]


def test_no_internal_comment_is_shown_as_a_description(document):
    for method, path, operation in operations(document):
        text = operation.get("description", "")
        assert "stale bearer header" not in text and "401 them" not in text, f"{method} {path}"
    login = document["paths"]["/api/v1/auth/login"]["post"]
    assert "Endpoints that authenticate" not in login.get("description", "")


@pytest.mark.parametrize("path", ["/api/v1/live_sessions", "/api/v1/calendars/events",
                                  "/api/v1/transcription/streams/{stream}/segments",
                                  "/api/v1/transcription/streams/{stream}/speakers"])
def test_paginated_lists_are_declared_as_pages_not_arrays(document, path):
    schema = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    assert schema["type"] == "object"
    assert {"results", "next", "previous"} <= set(schema["properties"])
    assert schema["properties"]["results"]["type"] == "array"


@pytest.mark.django_db
@pytest.mark.parametrize("title", [5, 12.5, True, ["a"], {"a": 1}])
def test_a_value_of_the_wrong_json_type_is_refused_not_coerced(auth_client, title):
    from messaging.models import LiveSession

    response = auth_client.post("/api/v1/live_sessions", {"title": title}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["title"] == ["Not a valid string."]
    assert not LiveSession.objects.exists()


def test_strict_types_adapter_was_written_for_this_drf():
    import rest_framework

    from flashlearn.strict_types import WRITTEN_FOR_DRF

    assert rest_framework.__version__.startswith(WRITTEN_FOR_DRF + "."), "re-check flashlearn/strict_types.py"
