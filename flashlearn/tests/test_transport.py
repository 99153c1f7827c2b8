"""The door, in process: websocket origins, body caps, bad JSON, frames a socket does not take, proxy headers.

The same behaviour against a real `manage.py serve` is in test_live_transport.py.
"""

from __future__ import annotations

import json
import logging

import pytest
from channels.db import database_sync_to_async
from channels.testing import ApplicationCommunicator, WebsocketCommunicator
from django.db import connections
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tests.factories import user_create
from flashlearn.asgi import application
from flashlearn.tests.settings_env import settings_from_env

API_HOST = "api.example.com"
FRONT_END = "https://app.example.com"


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.SECRET_KEY = "production-like-secret-" + "k" * 40
    settings.ALLOWED_HOSTS = [API_HOST]
    settings.CORS_ALLOWED_ORIGINS = [FRONT_END]
    settings.WEBSOCKET_ALLOWED_ORIGINS = []
    return settings


@pytest.fixture
async def release_thread_connections():
    yield
    await database_sync_to_async(connections.close_all)()


async def handshake(origin: str | None, path: str = "/ws/no-such-route/"):
    """(accepted, first event after the handshake): no token, so an admitted socket closes 4401."""
    headers = [(b"host", API_HOST.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    event = await communicator.receive_output(timeout=5) if connected else None
    await communicator.disconnect()
    return connected, event


# --- Item 15: who may open a websocket ------------------------------------------------------

pytestmark_ws = pytest.mark.django_db(transaction=True)


@pytestmark_ws
async def test_client_without_origin_reaches_the_token_check(production, release_thread_connections):
    assert await handshake(None) == (True, {"type": "websocket.close", "code": 4401})


@pytestmark_ws
async def test_front_end_listed_in_cors_allowed_origins_is_admitted(production, release_thread_connections):
    assert await handshake(FRONT_END) == (True, {"type": "websocket.close", "code": 4401})
    assert await handshake("HTTPS://APP.example.com:443") == (True, {"type": "websocket.close", "code": 4401})


@pytestmark_ws
async def test_page_on_the_api_host_itself_is_admitted(production, release_thread_connections):
    assert await handshake(f"https://{API_HOST}") == (True, {"type": "websocket.close", "code": 4401})


@pytestmark_ws
async def test_foreign_origin_is_refused_and_logged_once_with_the_setting(production, release_thread_connections,
                                                                           caplog):
    caplog.set_level(logging.WARNING, logger="flashlearn.origins")
    for _ in range(3):
        assert await handshake("https://evil-once.example") == (False, None)
    refusals = [r for r in caplog.records if r.name == "flashlearn.origins"]
    assert len(refusals) == 1
    assert "https://evil-once.example" in refusals[0].getMessage()
    assert "CORS_ALLOWED_ORIGINS" in refusals[0].getMessage()


@pytestmark_ws
async def test_null_and_lookalike_origins_are_refused(production, release_thread_connections):
    for origin in ("null", "https://app.example.com.evil.example", "http://app.example.com", "not a url"):
        assert await handshake(origin) == (False, None), origin


@pytestmark_ws
async def test_websocket_allowed_origins_replaces_the_cors_list(production, release_thread_connections, caplog):
    production.WEBSOCKET_ALLOWED_ORIGINS = ["https://ws-only.example.com"]
    caplog.set_level(logging.WARNING, logger="flashlearn.origins")
    assert await handshake("https://ws-only.example.com") == (True, {"type": "websocket.close", "code": 4401})
    assert await handshake(FRONT_END) == (False, None)
    assert any("WEBSOCKET_ALLOWED_ORIGINS" in r.getMessage() for r in caplog.records)


def test_websocket_allowed_origins_comes_from_env(monkeypatch):
    reloaded = settings_from_env(monkeypatch, DEBUG="false", SECRET_KEY="x" * 60,
                                 WEBSOCKET_ALLOWED_ORIGINS="https://a.example, https://b.example")
    assert reloaded.WEBSOCKET_ALLOWED_ORIGINS == ["https://a.example", "https://b.example"]


# --- Item 14: /ws/auth/whoami/ takes any frame ---------------------------------------------


@pytestmark_ws
async def test_whoami_answers_any_frame_with_an_error_and_stays_open(release_thread_connections):
    user = await database_sync_to_async(user_create)(email="frames@example.com")
    communicator = WebsocketCommunicator(application, f"/ws/auth/whoami/?token={AccessToken.for_user(user)}")
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["type"] == "whoami"
    for frame in ("hello", "{not json", json.dumps({"type": "anything"})):
        await communicator.send_to(text_data=frame)
        answer = await communicator.receive_json_from()
        assert answer["type"] == "error" and answer["code"] == "unsupported_message"
    await communicator.send_to(bytes_data=b"\x00\x01")
    assert (await communicator.receive_json_from())["code"] == "unsupported_message"
    assert await communicator.receive_nothing(timeout=0.2)  # still open: no close event
    await communicator.disconnect()


def test_stream_name_with_a_trailing_newline_is_refused():
    from transcription.access import stream_validate
    from transcription.errors import InvalidStream

    assert stream_validate("user-1") == "user-1"
    for name in ("user-1\n", "live-session-3\n", "ok\r\n"):
        with pytest.raises(InvalidStream):
            stream_validate(name)


# --- Item 13: deeply nested JSON -----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.urls("flashlearn.tests.urls")
def test_deeply_nested_json_is_a_400_invalid_json(api_client, caplog):
    body = "[" * 100_000 + "]" * 100_000
    with caplog.at_level(logging.ERROR):
        response = api_client.post("/api/v1/test/echo", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.django_db
@pytest.mark.urls("flashlearn.tests.urls")
def test_ordinary_malformed_json_keeps_its_code(api_client):
    response = api_client.post("/api/v1/test/echo", data="{nope", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_request"


# --- Item 12: bodies over the cap, in the application ---------------------------------------


def http_scope(headers: list[tuple[bytes, bytes]]) -> dict:
    return {"type": "http", "method": "POST", "path": "/api/v1/auth/login", "raw_path": b"/api/v1/auth/login",
            "query_string": b"", "http_version": "1.1", "scheme": "http", "server": ("localhost", 80),
            "client": ("127.0.0.1", 5000),
            "headers": [(b"host", b"localhost"), (b"content-type", b"application/json"), *headers]}


async def response_of(communicator) -> tuple[int, dict]:
    start = await communicator.receive_output(timeout=5)
    body = await communicator.receive_output(timeout=5)
    return start["status"], json.loads(body["body"])


async def test_declared_body_over_the_cap_is_413_before_any_is_read(settings):
    settings.HTTP_MAX_BODY_BYTES = 1024
    communicator = ApplicationCommunicator(application, http_scope([(b"content-length", b"104857600")]))
    # Nothing of the body is sent: the answer comes from the header alone.
    status, body = await response_of(communicator)
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    await communicator.wait(timeout=1)


async def test_streamed_body_is_refused_once_it_passes_the_cap(settings):
    settings.HTTP_MAX_BODY_BYTES = 1024
    communicator = ApplicationCommunicator(application, http_scope([(b"transfer-encoding", b"chunked")]))
    for _ in range(3):
        await communicator.send_input({"type": "http.request", "body": b"x" * 600, "more_body": True})
    status, body = await response_of(communicator)
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    await communicator.wait(timeout=1)


# --- Item 18: X-Forwarded-Proto is believed only behind a proxy ----------------------------


def test_forwarded_proto_is_ignored_unless_a_proxy_is_declared(monkeypatch):
    production = dict(DEBUG="false", SECRET_KEY="x" * 60, TRUST_PROXY_HEADERS=None, CLIENT_IP_PROXY_COUNT=None)
    assert not hasattr(settings_from_env(monkeypatch, **production), "SECURE_PROXY_SSL_HEADER")
    trusted = settings_from_env(monkeypatch, **{**production, "TRUST_PROXY_HEADERS": "true"})
    assert trusted.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")
    counted = settings_from_env(monkeypatch, **{**production, "CLIENT_IP_PROXY_COUNT": "1"})
    assert counted.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")


def test_client_written_forwarded_proto_does_not_make_a_request_secure(client, settings):
    settings.SECURE_SSL_REDIRECT = True  # the test settings' SECURE_PROXY_SSL_HEADER is the real one
    response = client.get("/api/v1/anything", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301 and response["Location"].startswith("https://")
