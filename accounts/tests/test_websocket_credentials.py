"""An open websocket ends (4401) when its credentials do: logout, password change, deactivation,
token expiry. Checked on a timer and before each delivery."""

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.authentication import SocketCredentials
from accounts.models import User
from accounts.tests.factories import PASSWORD, user_create
from accounts.websocket import CredentialGuard
from flashlearn.asgi import application
from messaging.tests.sockets import ORIGIN

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("release_thread_connections")]
CLOSED_4401 = {"type": "websocket.close", "code": 4401}


@pytest.fixture(autouse=True)
def quick_recheck(settings):
    settings.WS_AUTH_RECHECK_SECONDS = 0.1


def login_sync() -> tuple[User, dict]:
    user = user_create()
    tokens = APIClient().post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json").json()
    return user, tokens


async def connected(token: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/ws/auth/whoami/?token={token}", headers=ORIGIN)
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["type"] == "whoami"
    return communicator


async def assert_closed_4401(communicator: WebsocketCommunicator) -> None:
    assert await communicator.receive_output(timeout=3) == CLOSED_4401
    await communicator.wait(timeout=3)  # the consumer saw the disconnect and finished


async def test_logout_closes_the_sessions_socket():
    user, tokens = await database_sync_to_async(login_sync)()
    communicator = await connected(tokens["access"])
    response = await database_sync_to_async(APIClient().post)(
        "/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json"
    )
    assert response.status_code == 204
    await assert_closed_4401(communicator)


async def test_rotation_keeps_the_sessions_socket_open():
    user, tokens = await database_sync_to_async(login_sync)()
    communicator = await connected(tokens["access"])
    response = await database_sync_to_async(APIClient().post)(
        "/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json"
    )
    assert response.status_code == 200
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_password_change_closes_open_sockets():
    user, tokens = await database_sync_to_async(login_sync)()
    communicator = await connected(tokens["access"])

    def change():
        user.set_password("a brand new password 9")
        user.save()

    await database_sync_to_async(change)()
    await assert_closed_4401(communicator)


async def test_deactivation_closes_open_sockets():
    user = await database_sync_to_async(user_create)()
    communicator = await connected(str(AccessToken.for_user(user)))

    def deactivate():
        user.is_active = False
        user.save()

    await database_sync_to_async(deactivate)()
    await assert_closed_4401(communicator)


async def test_token_expiry_closes_the_socket():
    user = await database_sync_to_async(user_create)()
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=timedelta(seconds=2))
    communicator = WebsocketCommunicator(application, f"/ws/auth/whoami/?token={token}", headers=ORIGIN)
    assert (await communicator.connect())[0]
    output = await communicator.receive_output(timeout=5)
    if output["type"] == "websocket.send":  # whoami, unless the box was so slow the token expired first
        output = await communicator.receive_output(timeout=5)
    assert output == CLOSED_4401
    await communicator.wait(timeout=3)


async def test_a_logged_out_sessions_access_token_cannot_open_a_socket():
    user, tokens = await database_sync_to_async(login_sync)()
    await database_sync_to_async(APIClient().post)("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json")
    communicator = WebsocketCommunicator(application, f"/ws/auth/whoami/?token={tokens['access']}", headers=ORIGIN)
    await communicator.connect()
    assert await communicator.receive_output(timeout=3) == CLOSED_4401
    await communicator.wait(timeout=3)


async def test_no_frame_is_delivered_once_credentials_lapsed():
    """The check before each delivery, on its own (no timer): the frame is dropped, the close goes out."""
    user = await database_sync_to_async(user_create)()
    sent = []

    async def server_send(message):
        sent.append(message)

    guard = CredentialGuard(SocketCredentials(user.pk, user.token_version, 2e9), server_send, recheck_seconds=0)
    await guard.send({"type": "websocket.send", "text": "before"})

    def change():
        user.set_password("a brand new password 9")
        user.save()

    await database_sync_to_async(change)()
    await guard.send({"type": "websocket.send", "text": "after"})
    await guard.send({"type": "websocket.send", "text": "later"})
    assert sent == [{"type": "websocket.send", "text": "before"}, CLOSED_4401]
    assert await guard.receive(asyncio.Event().wait) == {"type": "websocket.disconnect", "code": 4401}
