"""A database outage during a socket's credential re-check is not a revocation: the socket keeps
delivering, is still closed (4401) at `exp`, the timer survives errors, and a write loop that fails
closes its socket instead of leaving it open and silent."""

import asyncio
import logging
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import OperationalError
from django.urls import re_path
from rest_framework_simplejwt.tokens import AccessToken

from accounts import websocket
from accounts.websocket import TokenAuthMiddleware
from flashlearn.asgi import application
from messaging import services
from messaging.consumers import LiveSessionConsumer
from messaging.tests.factories import UserFactory
from messaging.tests.sockets import ORIGIN, closed_with, connect, frame_of

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("release_thread_connections", "fresh_presence")]


@pytest.fixture(autouse=True)
def quick_recheck(settings):
    settings.WS_AUTH_RECHECK_SECONDS = 0.1
    settings.MESSAGING_PRESENCE_COALESCE = 0.01


class FlakyHold:
    """Stands in for `socket_credentials_hold`: raises each of `errors` in turn, then answers
    `then` (or raises it on every later call when it is an exception)."""

    def __init__(self, *errors: Exception, then: bool | Exception):
        self.errors = list(errors)
        self.then = then
        self.calls = 0

    def __call__(self, credentials) -> bool:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        if isinstance(self.then, Exception):
            raise self.then
        return self.then


def database_down() -> OperationalError:
    return OperationalError('connection to server at "127.0.0.1", port 5432 failed: password=hunter2')


async def post(people, body: str) -> None:
    await database_sync_to_async(services.message_send)(
        user=people["host"], session_id=people["session"].pk, body=body)


async def test_recheck_during_database_outage_keeps_delivering_and_expiry_still_closes(people, monkeypatch, caplog):
    token = AccessToken.for_user(people["member"])
    token.set_exp(lifetime=timedelta(seconds=4))
    comm = await connect(people["member"], people["session"].pk, token=str(token))

    hold = FlakyHold(then=database_down())  # every re-check fails from now on
    monkeypatch.setattr(websocket, "socket_credentials_hold", hold)
    caplog.set_level(logging.WARNING, logger="accounts.websocket")
    for i in range(3):
        await asyncio.sleep(0.25)  # a re-check is due before each frame
        await post(people, f"during the outage {i}")
        assert (await frame_of(comm, "message.new"))["message"]["body"] == f"during the outage {i}"

    await closed_with(comm, 4401, timeout=6)  # `exp` needs no database
    await comm.wait(timeout=3)
    assert hold.calls >= 2
    warnings = [r for r in caplog.records if r.name == "accounts.websocket"]
    assert len(warnings) == 1, warnings  # one per outage, not one per retry
    assert "OperationalError" in warnings[0].getMessage() and "hunter2" not in warnings[0].getMessage()


async def test_the_timer_survives_errors_and_still_closes_a_silent_socket_on_revocation(monkeypatch):
    user = await database_sync_to_async(UserFactory)()
    comm = WebsocketCommunicator(application, f"/ws/auth/whoami/?token={AccessToken.for_user(user)}",
                                 headers=ORIGIN)
    assert (await comm.connect(timeout=5))[0]
    assert (await comm.receive_json_from(timeout=3))["type"] == "whoami"

    # Two outage rounds, one unexpected error, then the credentials are found revoked.
    hold = FlakyHold(database_down(), database_down(), RuntimeError("boom"), then=False)
    monkeypatch.setattr(websocket, "socket_credentials_hold", hold)
    assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    await comm.wait(timeout=3)
    assert hold.calls == 4


async def test_unexpected_error_in_the_write_path_closes_1011_not_a_silent_socket(people, monkeypatch):
    comm = await connect(people["member"], people["session"].pk)
    monkeypatch.setattr(websocket, "socket_credentials_hold", FlakyHold(then=RuntimeError("bug")))
    await asyncio.sleep(0.25)
    await post(people, "hello")
    await closed_with(comm, 1011)
    await comm.disconnect(code=1011)


class DatabaseDownOnSend(LiveSessionConsumer):
    async def send(self, text_data=None, bytes_data=None, close=False):
        raise database_down()


async def test_dependency_error_in_the_write_path_closes_1013(people):
    app = TokenAuthMiddleware(URLRouter([re_path(r"^ws/live_sessions/(?P<session_id>\d+)/$",
                                                 DatabaseDownOnSend.as_asgi())]))
    comm = await connect(people["member"], people["session"].pk, app=app, expect_open=False)
    await closed_with(comm, 1013)  # the first frame (the presence snapshot) fails
    await comm.disconnect(code=1013)
