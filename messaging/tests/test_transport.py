"""The fan-out helpers use what the running server's adapter offers (flashlearn.servers.socket_access),
and step aside without one or for another server's sockets (daphne itself: test_scale_out)."""

import json
import time
from functools import partial

import pytest

from flashlearn import servers
from messaging.transport import direct_writer, transport_backlog


async def other_server_send(message):
    return None


def test_helpers_step_aside_without_a_server_adapter():
    send = partial(other_server_send)
    assert servers.socket_access() is None  # nothing installs it at import time
    assert transport_backlog(send) == 0
    assert direct_writer(send) is None


# --- the direct writer behind the credential guard ------------------------------------------

class FakeFactory:
    def prepareMessage(self, payload: bytes, isBinary: bool = False):  # noqa: N802, N803 (autobahn's names)
        from autobahn.websocket.protocol import PreparedMessage

        return PreparedMessage(payload, isBinary, False, False)


class FakeProtocol:
    """Stands in for daphne's WebSocketProtocol: records the bytes autobahn would write."""

    STATE_OPEN = 1

    def __init__(self):
        self.state = self.STATE_OPEN
        self.factory = FakeFactory()
        self.send_queue = []
        self.written: list[bytes] = []
        self.transport = self

    def write(self, data: bytes):
        self.written.append(data)

    def sendPreparedMessage(self, prepared):  # noqa: N802
        self.written.append(prepared.payloadHybi)


class FakeServer:
    """daphne's Server as the adapter sees it: its connections and `handle_reply`."""


@pytest.fixture(autouse=True)
def daphne_serving():
    """Installed as flashlearn.servers.daphne's FlashlearnServer installs it when it starts."""
    yield
    servers.serving(None)


def guarded_send(*, expires_in: float = 60.0, recheck_seconds: float = 30.0):
    """(guard, protocol): a CredentialGuard over a daphne-shaped `send`, as TokenAuthMiddleware builds it."""
    from accounts.authentication import SocketCredentials
    from accounts.websocket import CredentialGuard
    from flashlearn.servers.daphne import DaphneSockets

    server, protocol = FakeServer(), FakeProtocol()
    server.connections = {protocol: {}}

    async def handle_reply(protocol, message):
        raise AssertionError("the direct writer does not go through the awaited send")

    server.handle_reply = handle_reply.__get__(server)
    servers.serving(DaphneSockets(server))
    credentials = SocketCredentials(user_id=1, token_version=0, expires_at=time.time() + expires_in)
    guard = CredentialGuard(credentials, partial(server.handle_reply, protocol), recheck_seconds=recheck_seconds)
    return guard, protocol


async def test_direct_writer_frames_once_and_asks_the_credential_guard_before_each_frame():
    guard, protocol = guarded_send()
    write = direct_writer(guard.send)
    assert write is not None  # the guard's synchronous check lets fan-out skip the awaited send
    text = json.dumps({"type": "message.new", "body": "é" * 10})
    assert write(text) is True
    payload = text.encode()
    assert protocol.written == [b"\x81" + bytes([len(payload)]) + payload]  # one unmasked text frame

    guard.valid = False  # the credentials lapsed (a token-version change seen by the guard's timer)
    assert write(text) is False  # not written: the frame takes the guard's send, which closes 4401
    assert len(protocol.written) == 1


async def test_direct_writer_steps_aside_when_the_token_expired_or_a_database_check_is_due():
    expired, protocol = guarded_send(expires_in=-1)
    assert direct_writer(expired.send)("x") is False and protocol.written == []
    due, protocol = guarded_send(recheck_seconds=0)
    assert direct_writer(due.send)("x") is False and protocol.written == []


def test_wrapper_without_a_synchronous_check_is_never_bypassed():
    class Checking:
        def __init__(self, send):
            self.wrapped_send = send

        async def send(self, message):
            await self.wrapped_send(message)

    guard, _ = guarded_send()
    assert direct_writer(Checking(guard.send).send) is None
