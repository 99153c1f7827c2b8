"""Open listener sockets lose a live session's captions once the listener loses access (no speech)."""

import time

import pytest
from channels.layers import get_channel_layer

from messaging import services as messaging
from messaging.models import LiveSession
from transcription import groups
from transcription.errors import CLOSE_FORBIDDEN
from transcription.tests.conftest import adb, connect, make_user, token_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def recheck_every_event(settings):
    settings.TRANSCRIPTION_ACCESS_RECHECK_SECONDS = 0


async def caption(stream: str, seq: int, text: str) -> None:
    """What the engine sends for a partial: to the stream's group and to `/ws`'s."""
    event = {"type": "transcription.event", "stream": stream, "text": text, "final": False, "seq": seq,
             "timestamp": time.time()}
    layer = get_channel_layer()
    await layer.group_send(groups.stream_group(stream), event)
    await layer.group_send(groups.ALL_STREAMS, event)


async def live_session(*members):
    host = await adb(make_user)("host@example.com")
    session = await adb(messaging.live_session_create)(host=host, title="Captions",
                                                       visibility=LiveSession.Visibility.PUBLIC)
    for member in members:
        await adb(messaging.live_session_join)(user=member, session_id=session.pk)
    return host, session, f"live-session-{session.pk}"


async def assert_closed_forbidden(socket) -> None:
    frame = await socket.receive_json_from(timeout=10)
    assert frame["type"] == "error" and frame["code"] == "stream_forbidden", frame
    assert (await socket.receive_output(timeout=10)) == {"type": "websocket.close", "code": CLOSE_FORBIDDEN,
                                                         "reason": "You may no longer listen to this stream."}


async def test_listener_who_leaves_is_closed_4403_and_one_who_stays_keeps_receiving():
    leaver, stayer = await adb(make_user)("leaver@example.com"), await adb(make_user)("stayer@example.com")
    _, session, stream = await live_session(leaver, stayer)
    leaving, _ = await connect(f"/ws/transcription/{stream}/", token_for(leaver))
    staying, _ = await connect(f"/ws/transcription/{stream}/", token_for(stayer))
    await caption(stream, 1, "before")
    for socket in (leaving, staying):
        assert (await socket.receive_json_from(timeout=10))["text"] == "before"

    await adb(messaging.live_session_leave)(user=leaver, session_id=session.pk)
    await caption(stream, 2, "after")
    await caption(stream, 3, "later")
    await assert_closed_forbidden(leaving)
    assert await leaving.receive_nothing(timeout=0.3)
    for seq, text in ((2, "after"), (3, "later")):
        frame = await staying.receive_json_from(timeout=10)
        assert (frame["seq"], frame["text"]) == (seq, text)
    await leaving.disconnect()
    await staying.disconnect()


async def test_listeners_are_closed_4403_when_the_session_is_deleted():
    member = await adb(make_user)("member@example.com")
    host, session, stream = await live_session(member)
    sockets = [(await connect(f"/ws/transcription/{stream}/", token_for(user)))[0] for user in (host, member)]
    await adb(messaging.live_session_delete)(user=host, session_id=session.pk)
    await caption(stream, 1, "gone")
    for socket in sockets:
        await assert_closed_forbidden(socket)
        await socket.disconnect()


async def test_all_streams_socket_stops_delivering_a_stream_after_leave():
    leaver, stayer = await adb(make_user)("leaver@example.com"), await adb(make_user)("stayer@example.com")
    _, session, stream = await live_session(leaver, stayer)
    own = f"user-{leaver.pk}"
    leaving, _ = await connect("/ws", token_for(leaver))
    staying, _ = await connect("/ws", token_for(stayer))
    await caption(stream, 1, "before")
    for socket in (leaving, staying):
        assert (await socket.receive_json_from(timeout=10))["text"] == "before"

    await adb(messaging.live_session_leave)(user=leaver, session_id=session.pk)
    await caption(stream, 2, "after")
    await caption(own, 1, "mine")
    frame = await leaving.receive_json_from(timeout=10)
    assert (frame["stream"], frame["text"]) == (own, "mine")  # the socket stays open for what it may still see
    assert await leaving.receive_nothing(timeout=0.3)
    frame = await staying.receive_json_from(timeout=10)
    assert (frame["stream"], frame["text"]) == (stream, "after")
    await leaving.disconnect()
    await staying.disconnect()


class FakeEngine:
    """Stands in for the engine client: the speaker socket's side only, no model."""

    def __init__(self, **kwargs):
        self.fed, self.closed = [], False

    async def open(self):
        pass

    async def feed(self, data):
        self.fed.append(data)

    async def flush(self):
        pass

    async def close(self):
        self.closed = True


async def test_speaker_whose_grant_is_revoked_is_closed_4403(monkeypatch):
    from transcription import consumers, services

    engines = []

    def fake_client(**kwargs):
        engines.append(FakeEngine(**kwargs))
        return engines[-1]

    monkeypatch.setattr(consumers, "engine_client", fake_client)
    guest = await adb(make_user)("guest@example.com")
    host, session, stream = await live_session(guest)
    await adb(services.speaker_grant)(actor=host, stream=stream, user_id=guest.pk)
    speaker, _ = await connect(f"/ws/transcription/{stream}/audio/", token_for(guest))
    assert (await speaker.receive_json_from(timeout=10))["type"] == "ready"
    await speaker.send_to(bytes_data=b"\x00" * 3200)
    await speaker.send_json_to({"type": "ping"})
    assert (await speaker.receive_json_from(timeout=10))["type"] == "pong"

    await adb(services.speaker_revoke)(actor=host, stream=stream, user_id=guest.pk)
    await speaker.send_to(bytes_data=b"\x00" * 3200)
    frame = await speaker.receive_json_from(timeout=10)
    assert frame["type"] == "error" and frame["code"] == "stream_forbidden", frame
    assert (await speaker.receive_output(timeout=10))["code"] == CLOSE_FORBIDDEN
    assert len(engines[0].fed) == 1 and engines[0].closed
    await speaker.disconnect()
