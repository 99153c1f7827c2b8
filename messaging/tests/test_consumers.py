"""The live-session websocket: auth, membership, send/ack/broadcast, typing, presence, read, replay, bad frames."""

import asyncio
import json
import time

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import re_path

from accounts.websocket import TokenAuthMiddleware
from flashlearn.asgi import application
from messaging import presence, services
from messaging.consumers import LiveSessionConsumer
from messaging.events import channel_layer_alias, session_group
from messaging.models import Message
from messaging.tests.factories import (
    LiveSessionFactory,
    MessageFactory,
    UserFactory,
    client_for,
    token_for,
)
from messaging.tests.sockets import ORIGIN, closed_with, connect, frame, frame_of

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fast_presence(settings, fresh_presence):
    settings.MESSAGING_PRESENCE_COALESCE = 0.01


async def quiet(comm) -> bool:
    """Nothing arrives but presence deltas."""
    while not await comm.receive_nothing(timeout=0.2):
        data = await frame(comm)
        assert data["type"] == "presence", data
    return True


async def test_no_token_closes_4401(people):
    comm = WebsocketCommunicator(application, f"/ws/live_sessions/{people['session'].pk}/", headers=ORIGIN)
    await comm.connect()
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    await comm.disconnect()


@pytest.mark.parametrize("who", ["outsider", "missing", "huge"])
async def test_non_member_closes_4403(people, who):
    session_id = {"outsider": people["session"].pk, "missing": 999999, "huge": 10**30}[who]
    comm = await connect(people["outsider"], session_id, expect_open=False)
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}
    await comm.disconnect()


async def test_bearer_subprotocol_is_echoed(people):
    comm = WebsocketCommunicator(application, f"/ws/live_sessions/{people['session'].pk}/", headers=ORIGIN,
                                 subprotocols=["bearer", token_for(people["member"])])
    connected, subprotocol = await comm.connect(timeout=5)
    assert connected and subprotocol == "bearer"
    assert (await frame(comm))["type"] == "presence"
    await comm.disconnect()


async def test_send_is_stored_then_broadcast_with_ack(people):
    sender = await connect(people["member"], people["session"].pk)
    other = await connect(people["host"], people["session"].pk)
    await sender.send_json_to({"type": "message.send", "body": "hello", "client_id": "c-1"})
    ack = await frame_of(sender, "message.new")
    seen = await frame_of(other, "message.new")
    stored = await database_sync_to_async(Message.objects.get)()
    assert ack["message"]["id"] == seen["message"]["id"] == stored.pk
    assert ack["message"]["client_id"] == "c-1" and seen["message"]["client_id"] is None
    assert seen["message"]["body"] == "hello" and seen["message"]["author"]["id"] == people["member"].pk

    # A retry with the same client_id on the socket that already had the ack: nothing new is
    # stored, and the ack is not sent a second time.
    await sender.send_json_to({"type": "message.send", "body": "hello again", "client_id": "c-1"})
    await sender.send_json_to({"type": "ping"})
    assert (await frame_of(sender, "pong"))["type"] == "pong"
    assert await quiet(sender)
    # A retry after a reconnect (the ack was lost with the old socket): the first message, once, to the sender only.
    await sender.disconnect()
    sender = await connect(people["member"], people["session"].pk)
    await sender.send_json_to({"type": "message.send", "body": "hello again", "client_id": "c-1"})
    retry = await frame_of(sender, "message.new")
    assert retry["message"]["id"] == stored.pk and retry["message"]["body"] == "hello"
    assert retry["seq"] == retry["message"]["seq"] == stored.seq == 1
    assert await quiet(sender)
    assert await quiet(other)
    assert await database_sync_to_async(Message.objects.count)() == 1
    await sender.disconnect()
    await other.disconnect()


async def test_rest_post_reaches_websocket_members(people):
    listener = await connect(people["host"], people["session"].pk)

    def post():
        return client_for(people["member"]).post(
            "/api/v1/messages", {"session": people["session"].pk, "body": "via REST"}, format="json")

    response = await database_sync_to_async(post)()
    assert response.status_code == 201
    seen = await frame_of(listener, "message.new")
    assert seen["message"]["id"] == response.json()["id"] and seen["message"]["body"] == "via REST"

    def edit_and_delete():
        client = client_for(people["member"])
        assert client.patch(f"/api/v1/messages/{seen['message']['id']}", {"body": "edited"}, format="json"
                            ).status_code == 200
        assert client.delete(f"/api/v1/messages/{seen['message']['id']}").status_code == 204

    await database_sync_to_async(edit_and_delete)()
    updated = await frame_of(listener, "message.updated")
    deleted = await frame_of(listener, "message.deleted")
    assert updated["message"]["body"] == "edited"
    assert deleted["message"]["deleted"] is True and deleted["message"]["body"] == ""
    await listener.disconnect()


async def test_typing_is_broadcast_to_others_and_throttled(people, settings):
    settings.MESSAGING_TYPING_INTERVAL = 60
    typist = await connect(people["member"], people["session"].pk)
    other = await connect(people["host"], people["session"].pk)
    await typist.send_json_to({"type": "typing"})
    seen = await frame_of(other, "typing")
    assert seen["user"]["id"] == people["member"].pk
    await typist.send_json_to({"type": "typing"})  # within the interval: dropped
    await typist.send_json_to({"type": "ping"})
    assert (await frame_of(typist, "pong"))["type"] == "pong"  # and the typist never hears its own typing
    assert await quiet(other)
    assert not await database_sync_to_async(Message.objects.exists)()
    await typist.disconnect()
    await other.disconnect()


async def test_presence_join_and_leave(people):
    first = await connect(people["member"], people["session"].pk)
    comm = WebsocketCommunicator(application, f"/ws/live_sessions/{people['session'].pk}/?token="
                                 f"{token_for(people['host'])}", headers=ORIGIN)
    await comm.connect()
    snapshot = await frame(comm)
    assert {u["id"] for u in snapshot["online"]} == {people["member"].pk, people["host"].pk}
    joined = await frame(first)
    if people["host"].pk not in {u["id"] for u in joined["joined"]}:
        joined = await frame(first)  # the member's own join delta came first
    assert joined["type"] == "presence" and people["host"].pk in {u["id"] for u in joined["joined"]}
    assert joined["left"] == []
    await comm.disconnect()
    left = await frame(first)
    assert left["type"] == "presence" and [u["id"] for u in left["left"]] == [people["host"].pk]
    await first.disconnect()


async def test_second_tab_of_same_user_is_not_a_new_join_or_leave(people):
    watcher = await connect(people["host"], people["session"].pk)
    await frame(watcher)  # host's own join delta
    tab1 = await connect(people["member"], people["session"].pk)
    assert [u["id"] for u in (await frame(watcher))["joined"]] == [people["member"].pk]
    tab2 = await connect(people["member"], people["session"].pk)
    await tab2.disconnect()
    assert await watcher.receive_nothing(timeout=0.2)
    await tab1.disconnect()
    assert [u["id"] for u in (await frame(watcher))["left"]] == [people["member"].pk]
    await watcher.disconnect()


async def test_presence_entry_of_dead_process_expires(people, settings):
    """A socket whose process was killed never runs disconnect: its entry expires, a heartbeat announces it."""
    settings.MESSAGING_PRESENCE_TTL = 0.6
    ghost = UserFactory.build(pk=424242, display_name="Ghost")
    await presence.join(people["session"].pk, presence.entry("dead-process-channel", ghost.pk, "Ghost"))
    watcher = WebsocketCommunicator(application, f"/ws/live_sessions/{people['session'].pk}/?token="
                                    f"{token_for(people['host'])}", headers=ORIGIN)
    await watcher.connect()
    snapshot = await frame(watcher)
    assert ghost.pk in {u["id"] for u in snapshot["online"]}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        data = await frame(watcher, timeout=5)
        if data["type"] == "presence" and any(u["id"] == ghost.pk for u in data["left"]):
            break
    else:
        pytest.fail("the dead entry was never announced as left")
    assert ghost.pk not in {u["id"] for u in await presence.online(people["session"].pk)}
    assert people["host"].pk in {u["id"] for u in await presence.online(people["session"].pk)}  # refreshed
    await watcher.disconnect()


async def test_read_moves_marker_and_is_broadcast(people):
    ids = [m.pk for m in await database_sync_to_async(
        lambda: [MessageFactory(session=people["session"], author=people["host"]) for _ in range(3)])()]
    reader = await connect(people["member"], people["session"].pk)
    other = await connect(people["host"], people["session"].pk)
    await reader.send_json_to({"type": "read", "message_id": ids[1]})
    own = await frame_of(reader, "read")
    assert own["message_id"] == ids[1] and own["unread_count"] == 1 and own["user_id"] == people["member"].pk
    seen = await frame_of(other, "read")
    assert seen["user_id"] == people["member"].pk and seen["message_id"] == ids[1] and "unread_count" not in seen
    await reader.send_json_to({"type": "read", "message_id": ids[0]})  # older: marker stays
    assert (await frame_of(reader, "read"))["message_id"] == ids[1]
    await reader.send_json_to({"type": "read", "message_id": "nope"})
    assert (await frame_of(reader, "error"))["code"] == "validation_error"
    await reader.disconnect()
    await other.disconnect()


async def test_replay_after_id_then_live_without_duplicate(people):
    ids = [m.pk for m in await database_sync_to_async(
        lambda: [MessageFactory(session=people["session"], author=people["host"]) for _ in range(5)])()]
    comm = await connect(people["member"], people["session"].pk, query=f"&after={ids[1]}")
    replayed = [(await frame_of(comm, "message.new")) for _ in range(3)]
    assert [f["message"]["id"] for f in replayed] == ids[2:] and all(f["replay"] for f in replayed)
    done = await frame_of(comm, "replay.done")
    assert done["count"] == 3 and done["has_more"] is False and done["last_id"] == ids[-1]
    # A broadcast of an already replayed message (committed just before we joined) is not sent twice.
    layer = __import__("channels.layers", fromlist=["get_channel_layer"]).get_channel_layer(channel_layer_alias())
    await layer.group_send(session_group(people["session"].pk), {
        "type": "message.new", "session_id": people["session"].pk, "message": {**replayed[0]["message"]}})
    await database_sync_to_async(services.message_send)(user=people["host"], session_id=people["session"].pk,
                                                        body="live")
    live = await frame_of(comm, "message.new")
    assert live["message"]["body"] == "live" and "replay" not in live
    assert await quiet(comm)
    await comm.disconnect()


async def test_replay_races_with_concurrent_posts_no_gap_no_duplicate(people):
    first = await database_sync_to_async(MessageFactory)(session=people["session"], author=people["host"])

    async def post_many():
        for i in range(15):
            await database_sync_to_async(services.message_send)(
                user=people["host"], session_id=people["session"].pk, body=f"m{i}")

    poster = asyncio.ensure_future(post_many())
    comm = await connect(people["member"], people["session"].pk, query=f"&after={first.pk}")
    await poster
    expected = set(await database_sync_to_async(
        lambda: list(Message.objects.filter(id__gt=first.pk).values_list("id", flat=True)))())
    got = []
    while len(got) < len(expected):
        data = await frame(comm)
        if data["type"] == "message.new":
            got.append(data["message"]["id"])
    assert sorted(got) == sorted(expected) and len(got) == len(set(got))
    while not await comm.receive_nothing(timeout=0.2):
        assert (await frame(comm))["type"] in {"presence", "replay.done"}
    await comm.disconnect()


async def test_replay_is_capped(people, settings):
    settings.MESSAGING_REPLAY_LIMIT = 2
    ids = [m.pk for m in await database_sync_to_async(
        lambda: [MessageFactory(session=people["session"], author=people["host"]) for _ in range(4)])()]
    comm = await connect(people["member"], people["session"].pk, query="&after=0")
    assert [(await frame_of(comm, "message.new"))["message"]["id"] for _ in range(2)] == ids[:2]
    done = await frame_of(comm, "replay.done")
    assert done["has_more"] is True and done["last_id"] == ids[1]
    await comm.disconnect()


@pytest.mark.parametrize(
    "raw, code",
    [("{oops", "malformed_json"), (json.dumps([1, 2]), "missing_type"), (json.dumps({"type": "dance"}), "unknown_type"),
     (json.dumps({"type": "message.send", "body": "x" * 4001, "client_id": "long"}), "body_too_long"),
     (json.dumps({"type": "message.send", "body": "  "}), "validation_error"),
     (json.dumps({"type": "message.send", "body": 5}), "validation_error"),
     (json.dumps({"type": "message.send", "body": "x" * 70_000}), "frame_too_large"),
     (json.dumps({"type": "message.send", "body": "nul \u0000 byte", "client_id": "n1"}), "invalid_message"),
     ('{"type": "message.send", "body": "lone \\ud800 half", "client_id": "s1"}', "invalid_message"),
     ('{"type": "message.send", "body": "ok", "client_id": "\\udfff"}', "invalid_message"),
     ('{"type": "message.send", "body": ' + "[" * 30_000 + "]" * 30_000 + "}", "invalid_message")],
    ids=lambda value: value if value in {"malformed_json", "missing_type"} or len(str(value)) < 30 else "frame",
)
async def test_bad_frames_get_error_and_socket_stays_open(people, raw, code, caplog):
    comm = await connect(people["member"], people["session"].pk)
    await comm.send_to(text_data=raw)
    error = await frame_of(comm, "error")
    assert error["code"] == code and error["message"]
    if code == "body_too_long":
        assert error["client_id"] == "long" and "body" in error["fields"]
    if code == "invalid_message" and '"client_id": "' in raw and "udfff" not in raw:
        assert error["client_id"] in {"n1", "s1"} and "body" in error["fields"]
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    await comm.send_json_to({"type": "ping"})
    assert (await frame_of(comm, "pong"))["type"] == "pong"
    assert not await database_sync_to_async(Message.objects.exists)()
    await comm.disconnect()


async def test_largest_valid_body_fully_escaped_fits_in_a_frame(people):
    comm = await connect(people["member"], people["session"].pk)
    await comm.send_to(text_data=json.dumps({"type": "message.send", "body": "\u00e9" * 4000}, ensure_ascii=True))
    assert (await frame_of(comm, "message.new"))["message"]["body"] == "\u00e9" * 4000
    await comm.disconnect()


async def test_binary_frame_is_an_error(people):
    comm = await connect(people["member"], people["session"].pk)
    await comm.send_to(bytes_data=b"\x00\x01")
    assert (await frame_of(comm, "error"))["code"] == "unsupported_frame"
    await comm.disconnect()


async def test_rate_limit_per_connection(people, settings):
    settings.MESSAGING_WS_BURST = 3
    settings.MESSAGING_WS_RATE = 0.01
    comm = await connect(people["member"], people["session"].pk)
    for i in range(4):
        await comm.send_json_to({"type": "message.send", "body": f"m{i}", "client_id": f"r{i}"})
    frames = []
    while len(frames) < 4:
        data = await frame(comm)
        if data["type"] != "presence":
            frames.append(data)
    acks = [f["message"]["client_id"] for f in frames if f["type"] == "message.new"]
    [error] = [f for f in frames if f["type"] == "error"]
    assert acks == ["r0", "r1", "r2"] and error["code"] == "rate_limited" and error["retry_after"] > 0
    assert await database_sync_to_async(Message.objects.count)() == 3
    await comm.send_to(text_data="still open?")  # limited frames are answered, the socket stays
    assert (await frame_of(comm, "error"))["code"] == "rate_limited"
    await comm.disconnect()


class StalledConsumer(LiveSessionConsumer):
    """A client that never reads: the server's writes never complete."""

    async def send(self, text_data=None, bytes_data=None, close=False):
        await asyncio.Event().wait()


async def test_slow_consumer_is_dropped_with_4408(people, settings):
    settings.MESSAGING_SEND_QUEUE = 3
    app = TokenAuthMiddleware(URLRouter([re_path(r"^ws/live_sessions/(?P<session_id>\d+)/$",
                                                 StalledConsumer.as_asgi())]))
    slow = await connect(people["member"], people["session"].pk, app=app, expect_open=False)
    for i in range(6):
        await database_sync_to_async(services.message_send)(
            user=people["host"], session_id=people["session"].pk, body=f"m{i}")
    await closed_with(slow, 4408)
    await slow.disconnect()


async def test_leaving_closes_the_leavers_sockets(people):
    comm = await connect(people["member"], people["session"].pk)
    response = await database_sync_to_async(
        lambda: client_for(people["member"]).post(f"/api/v1/live_sessions/{people['session'].pk}/leave"))()
    assert response.status_code == 204
    assert (await frame_of(comm, "error"))["code"] == "not_a_member"
    await closed_with(comm, 4403)
    await comm.disconnect()


async def test_session_deleted_closes_4404(people):
    comm = await connect(people["member"], people["session"].pk)
    response = await database_sync_to_async(
        lambda: client_for(people["host"]).delete(f"/api/v1/live_sessions/{people['session'].pk}"))()
    assert response.status_code == 204
    assert (await frame_of(comm, "session.deleted"))["session_id"] == people["session"].pk
    await closed_with(comm, 4404)
    await comm.disconnect()


async def test_session_lifecycle_is_broadcast(people):
    comm = await connect(people["member"], people["session"].pk)
    await database_sync_to_async(services.live_session_start)(user=people["host"], session_id=people["session"].pk)
    assert (await frame_of(comm, "session.updated"))["session"]["status"] == "live"
    await comm.disconnect()


async def test_database_down_on_connect_closes_1013(people, monkeypatch):
    from django.db import OperationalError

    from messaging import selectors

    def down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(selectors, "session_role", down)
    comm = await connect(people["member"], people["session"].pk, expect_open=False)
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 1013}
    await comm.disconnect()


async def test_database_down_during_replay_closes_1013_and_detaches(people, monkeypatch):
    from django.db import OperationalError

    from messaging import selectors
    from messaging.runtime import runtime

    def down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(selectors, "messages_after", down)
    comm = await connect(people["member"], people["session"].pk, query="&after=0")
    error = await frame_of(comm, "error")
    assert error["code"] == "service_unavailable" and error["retry_after"] > 0
    await closed_with(comm, 1013)
    await comm.disconnect()
    assert runtime().hub.watching(people["session"].pk) == 0


async def test_layer_failure_on_disconnect_still_clears_presence(people, monkeypatch):
    from messaging.runtime import runtime

    comm = await connect(people["member"], people["session"].pk)
    layer = runtime().hub.layer

    async def broken(*args, **kwargs):
        raise ConnectionError("redis went away")

    monkeypatch.setattr(layer, "group_discard", broken)
    await comm.disconnect()
    assert await presence.online(people["session"].pk) == []
    assert runtime().hub.watching(people["session"].pk) == 0


async def test_frames_carry_seq_and_resync_fills_a_gap(people):
    """A client that noticed a jump in `seq` asks for what it missed; each message comes once, in order."""
    for i in range(3):
        await database_sync_to_async(services.message_send)(user=people["host"], session_id=people["session"].pk,
                                                            body=f"old {i}", client_id=f"h{i}")
    comm = await connect(people["member"], people["session"].pk)
    await comm.send_json_to({"type": "message.send", "body": "new", "client_id": "m1"})
    ack = await frame_of(comm, "message.new")
    assert ack["seq"] == ack["message"]["seq"] == 4 and ack["message"]["client_id"] == "m1"
    await comm.send_json_to({"type": "resync", "after_seq": 1})
    got = [await frame_of(comm, "message.new") for _ in range(3)]
    assert [f["seq"] for f in got] == [2, 3, 4] and all(f["replay"] for f in got)
    assert [f["message"]["client_id"] for f in got] == [None, None, "m1"]  # others' keys stay hidden
    done = await frame_of(comm, "resync.done")
    assert done["count"] == 3 and done["last_seq"] == 4 and done["has_more"] is False
    await comm.send_json_to({"type": "resync", "after_seq": -1})
    error = await frame_of(comm, "error")
    assert error["code"] == "validation_error" and "after_seq" in error["fields"]
    assert await quiet(comm)
    await comm.disconnect()


async def test_connect_after_seq_replays_then_live_once(people):
    for i in range(3):
        await database_sync_to_async(services.message_send)(user=people["host"], session_id=people["session"].pk,
                                                            body=f"m{i}")
    comm = await connect(people["member"], people["session"].pk, query="&after_seq=2")
    replayed = await frame_of(comm, "message.new")
    assert replayed["seq"] == 3 and replayed["replay"] is True
    assert (await frame_of(comm, "replay.done"))["last_seq"] == 3
    await database_sync_to_async(services.message_send)(user=people["host"], session_id=people["session"].pk,
                                                        body="live")
    live = await frame_of(comm, "message.new")
    assert live["seq"] == 4 and "replay" not in live
    assert await quiet(comm)
    await comm.disconnect()


async def test_failed_send_error_names_its_client_id_and_fails_fast_while_down(people, monkeypatch):
    from django.db import OperationalError

    calls = []

    def down(**kwargs):
        calls.append([r.client_id for r in kwargs["requests"]])
        raise OperationalError("connection refused")

    from messaging.runtime import runtime

    comm = await connect(people["member"], people["session"].pk)
    while not runtime().hub.caught_up(people["session"].pk):  # the hub's own first read is done
        await asyncio.sleep(0.01)
    monkeypatch.setattr(services, "message_send_many", down)
    await comm.send_json_to({"type": "message.send", "body": "a", "client_id": "first"})
    first = await frame_of(comm, "error")
    await comm.send_json_to({"type": "message.send", "body": "b", "client_id": "second"})
    second = await frame_of(comm, "error")
    assert (first["code"], first["client_id"]) == ("service_unavailable", "first") and first["retry_after"] >= 1
    assert (second["code"], second["client_id"]) == ("service_unavailable", "second")
    assert calls == [["first"]]  # the second failed at once: the database was known to be down
    await comm.disconnect()


@pytest.mark.postgres
async def test_a_stalled_database_call_does_not_hold_up_other_sockets(people):
    """Session A's row is locked by another transaction: A's send waits, B's send in another session does not."""
    import threading

    from django.db import connections

    other_session = await database_sync_to_async(LiveSessionFactory)(host=people["host"])
    stalled = await connect(people["member"], people["session"].pk)
    free = await connect(people["host"], other_session.pk)
    locked, release = threading.Event(), threading.Event()

    def hold_lock():
        from messaging.models import LiveSession

        conn = connections.create_connection("default")
        try:
            with conn.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(f"SELECT id FROM {LiveSession._meta.db_table} WHERE id = %s FOR UPDATE",
                               [people["session"].pk])
                locked.set()
                release.wait(10)
                cursor.execute("ROLLBACK")
        finally:
            conn.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        await asyncio.to_thread(locked.wait, 5)
        await stalled.send_json_to({"type": "message.send", "body": "waits", "client_id": "a1"})
        await free.send_json_to({"type": "message.send", "body": "goes", "client_id": "b1"})
        ack = await frame_of(free, "message.new", timeout=5)
        assert ack["message"]["client_id"] == "b1"
        assert await quiet(stalled)  # no ack: still waiting for the lock
    finally:
        release.set()
        await asyncio.to_thread(holder.join, 10)
    assert (await frame_of(stalled, "message.new", timeout=5))["message"]["client_id"] == "a1"
    await stalled.disconnect()
    await free.disconnect()
