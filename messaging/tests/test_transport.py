"""The daphne-specific helpers step aside under other ASGI servers (daphne itself: test_scale_out)."""

import json
import time
from functools import partial

from messaging.transport import daphne_parts, direct_writer, transport_backlog


async def other_server_send(message):
    return None


def test_helpers_step_aside_for_other_servers():
    send = partial(other_server_send)
    assert daphne_parts(send) is None and daphne_parts(other_server_send) is None
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


# daphne's Server, subclassed as flashlearn/daphne_server.py does (a class of `__main__` under `python -m`)
DaphneServer = type("Server", (), {"__module__": "daphne.server"})
FakeServer = type("FlashlearnServer", (DaphneServer,), {"__module__": "__main__"})


def guarded_send(*, expires_in: float = 60.0, recheck_seconds: float = 30.0):
    """(guard, protocol): a CredentialGuard over a daphne-shaped `send`, as TokenAuthMiddleware builds it."""
    from accounts.authentication import SocketCredentials
    from accounts.websocket import CredentialGuard

    server, protocol = FakeServer(), FakeProtocol()
    server.connections = {protocol: {}}

    async def handle_reply(protocol, message):
        raise AssertionError("the direct writer does not go through the awaited send")

    server.handle_reply = handle_reply.__get__(server)
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
