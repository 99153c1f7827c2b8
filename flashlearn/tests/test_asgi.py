"""The ASGI stack: HTTP through Django; websockets through origin check, token auth, then one URLRouter."""

from __future__ import annotations

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from accounts.websocket import TokenAuthMiddleware
from flashlearn.asgi import application
from flashlearn.origins import WebsocketOriginValidator
from flashlearn.routing import websocket_router, websocket_urlpatterns
from flashlearn.ws_guard import DependencyGuard


def test_websocket_stack_is_origin_then_token_then_router():
    websocket = application.application_mapping["websocket"]
    assert isinstance(websocket, WebsocketOriginValidator)
    assert isinstance(websocket.application, DependencyGuard)  # outages: a prompt "try again"
    assert isinstance(websocket.application.inner, TokenAuthMiddleware)
    assert websocket.application.inner.inner is websocket_router
    assert isinstance(websocket_router, URLRouter)
    assert websocket_router.routes == websocket_urlpatterns


def test_every_app_contributes_its_websocket_routes():
    import importlib

    for app in ("accounts", "messaging", "calendars", "creators", "transcription"):
        for route in importlib.import_module(f"{app}.routing").websocket_urlpatterns:
            assert route in websocket_urlpatterns


# The denier closes old DB connections (channels does this per event), so it needs DB access.
@pytest.mark.django_db(transaction=True)
async def test_foreign_origin_is_refused_before_auth():
    communicator = WebsocketCommunicator(application, "/ws/anything/", headers=[(b"origin", b"https://evil.example")])
    connected, _ = await communicator.connect()
    assert connected is False
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_missing_token_is_closed_with_4401_before_routing():
    communicator = WebsocketCommunicator(application, "/ws/no-such-route/", headers=[(b"origin", b"http://localhost")])
    connected, _ = await communicator.connect()
    assert connected is True  # accept-then-close: the only way a browser sees the code
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    await communicator.disconnect()


async def test_http_goes_through_django():
    from channels.testing import ApplicationCommunicator

    scope = {"type": "http", "method": "GET", "path": "/healthz", "headers": [(b"host", b"localhost")],
             "query_string": b"", "http_version": "1.1", "scheme": "http", "server": ("localhost", 80)}
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(timeout=5)
    body = await communicator.receive_output(timeout=5)
    assert start["status"] == 200
    assert body["body"] == b'{"status": "ok"}'
