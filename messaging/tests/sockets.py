"""What the websocket tests share (accounts' socket auth tests and messaging's consumer tests):
the Origin header, a chat socket, reading frames by type, close codes, and the fixtures that leave
no presence entry nor thread database connection behind. Fixtures reach a test module through
its package's conftest.py."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from flashlearn.asgi import application
from messaging import presence
from messaging.tests.factories import LiveSessionFactory, MembershipFactory, UserFactory, token_for

ORIGIN = [(b"origin", b"http://localhost")]


@pytest.fixture
async def release_thread_connections():
    """Return the connection the auth middleware's worker thread opened before the test database
    is dropped (otherwise teardown finds "other sessions" on it)."""
    yield
    await database_sync_to_async(connections.close_all)()


@pytest.fixture
async def fresh_presence():
    """Nobody online after the test, in this process or in Redis."""
    yield
    await presence.clear()


@pytest.fixture
def people(transactional_db):
    """A live session with its host and a participant, and an outsider."""
    host, member, outsider = UserFactory(), UserFactory(), UserFactory()
    session = LiveSessionFactory(host=host)
    MembershipFactory(session=session, user=member)
    return {"host": host, "member": member, "outsider": outsider, "session": session}


async def connect(user, session_id, *, token: str | None = None, query: str = "", app=application,
                      expect_open: bool = True) -> WebsocketCommunicator:
    """A connected chat socket; with `expect_open`, its presence snapshot is read and checked."""
    comm = WebsocketCommunicator(app, f"/ws/live_sessions/{session_id}/?token={token or token_for(user)}{query}",
                                 headers=ORIGIN)
    connected, _ = await comm.connect(timeout=5)
    assert connected
    if expect_open:
        snapshot = await frame(comm)
        assert snapshot["type"] == "presence" and "online" in snapshot
    return comm


async def frame(comm, timeout=3) -> dict:
    data = await comm.receive_json_from(timeout=timeout)
    assert isinstance(data.get("type"), str) and data.get("timestamp"), data
    return data


async def frame_of(comm, type_: str, timeout=3) -> dict:
    """The next frame of `type_`, skipping presence deltas (asserted in their own tests)."""
    while True:
        data = await frame(comm, timeout)
        if data["type"] == type_:
            return data
        assert data["type"] == "presence", data


async def closed_with(comm, code: int, timeout=3) -> None:
    """The socket closes with `code`, after any frames still on their way."""
    while True:
        out = await comm.receive_output(timeout=timeout)
        if out["type"] == "websocket.close":
            assert out.get("code") == code, out
            return
        assert out["type"] == "websocket.send", out
