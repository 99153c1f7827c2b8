"""Websocket token auth through the real ASGI application."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tests.factories import SUPABASE_SECRET, external_token, user_create
from flashlearn.asgi import application
from messaging.tests.sockets import ORIGIN

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("release_thread_connections")]


async def make_user(**extra):
    return await database_sync_to_async(user_create)(**extra)


async def connect(path, *, subprotocols=None):
    communicator = WebsocketCommunicator(application, path, headers=ORIGIN, subprotocols=subprotocols)
    connected, subprotocol = await communicator.connect()
    return communicator, connected, subprotocol


async def test_good_token_in_query_string():
    user = await make_user()
    communicator, connected, subprotocol = await connect(f"/ws/auth/whoami/?token={AccessToken.for_user(user)}")
    assert connected
    assert subprotocol is None
    frame = await communicator.receive_json_from()
    assert frame["type"] == "whoami"
    assert frame["user_id"] == user.pk
    assert frame["email"] == user.email
    await communicator.disconnect()


async def test_good_token_in_subprotocol_is_echoed():
    user = await make_user()
    communicator, connected, subprotocol = await connect(
        "/ws/auth/whoami/", subprotocols=["bearer", str(AccessToken.for_user(user))]
    )
    assert connected
    assert subprotocol == "bearer"
    assert (await communicator.receive_json_from())["user_id"] == user.pk
    await communicator.disconnect()


async def test_external_token_works_too(settings):
    settings.SUPABASE_JWT_SECRET = SUPABASE_SECRET
    communicator, connected, _ = await connect(f"/ws/auth/whoami/?token={external_token(email='ws@example.com')}")
    assert connected
    assert (await communicator.receive_json_from())["email"] == "ws@example.com"
    await communicator.disconnect()


@pytest.mark.parametrize("kind", ["expired", "none", "garbage", "inactive"])
async def test_bad_or_missing_token_closes_4401(kind):
    user = await make_user(is_active=kind != "inactive")
    token = AccessToken.for_user(user)
    if kind == "expired":
        token.set_exp(lifetime=timedelta(seconds=-1))
    query = {"none": "", "garbage": "?token=abc.def.ghi"}.get(kind, f"?token={token}")
    communicator, connected, _ = await connect(f"/ws/auth/whoami/{query}")
    assert connected  # accepted first, so that a browser can read the close code
    assert await communicator.receive_output() == {"type": "websocket.close", "code": 4401}
    await communicator.disconnect()


def test_request_log_redacts_tokens_in_query_strings():
    from flashlearn.middleware import redact_query

    redacted = redact_query("after=12&token=eyJhbGciOi.payload.sig&x=1")
    assert "eyJ" not in redacted
    assert redacted == "after=12&token=[redacted]&x=1"


@pytest.mark.django_db
def test_request_log_line_never_holds_the_token(client, caplog):
    import logging

    secret = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.c2lnbmF0dXJl"
    with caplog.at_level(logging.INFO, logger="flashlearn.request"):
        client.get(f"/api/v1/auth/profile?after=3&token={secret}")
    records = [r for r in caplog.records if r.name == "flashlearn.request"]
    assert records
    assert all(secret not in str(vars(r)) for r in records)
    assert any("token=[redacted]" in str(vars(r)) for r in records)
