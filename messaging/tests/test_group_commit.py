"""Group commit of websocket sends (messaging/group_commit.py, services.message_send_many): order,
nothing lost, errors per request, a failed batch stores nothing and acknowledges nothing."""

import asyncio
import threading
import time

import pytest
from channels.db import database_sync_to_async
from django.db import OperationalError, connection, connections
from django.db.models import Max

from flashlearn.errors import InvalidInput, NotFound
from messaging import services
from messaging.models import LiveSession, Message
from messaging.services import SendRequest, SessionEnded
from messaging.tests.factories import LiveSessionFactory, MembershipFactory, MessageFactory, UserFactory
from messaging.tests.listeners import GroupListener
from messaging.tests.test_consumers import connect, fast_presence, frame, quiet  # noqa: F401 (an autouse fixture)


@pytest.fixture
def people(transactional_db):
    host, member = UserFactory(), UserFactory()
    session = LiveSessionFactory(host=host)
    MembershipFactory(session=session, user=member)
    return {"host": host, "member": member, "session": session}


@pytest.fixture
def unthrottled(settings):
    settings.MESSAGING_WS_RATE = 10_000
    settings.MESSAGING_WS_BURST = 10_000


def send_many(requests, **kwargs):
    return services.message_send_many(requests=requests, **kwargs)


# --- the service ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_batch_takes_consecutive_seqs_in_request_order_and_announces_after_commit(
        cast, memory_layers, django_capture_on_commit_callbacks):
    MessageFactory(session=cast.session, author=cast.host)  # seq 1
    listener = GroupListener(cast.session.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        results = send_many([SendRequest(cast.member, cast.session.pk, f"m{i}", f"c{i}") for i in range(5)])
        assert listener.events() == []  # nothing before commit
    assert [(m.seq, m.body, created) for m, created in results] == [(i + 2, f"m{i}", True) for i in range(5)]
    assert LiveSession.objects.get(pk=cast.session.pk).last_seq == 6
    assert [m.seq for m in Message.objects.filter(session=cast.session).order_by("id")] == [1, 2, 3, 4, 5, 6]
    [callback] = callbacks
    callback()
    sent = listener.events()
    assert [e["message"]["seq"] for e in sent] == [2, 3, 4, 5, 6]
    assert [e["message"]["client_id"] for e in sent] == [f"c{i}" for i in range(5)]


@pytest.mark.django_db
def test_each_request_gets_its_own_error_and_the_rest_is_stored(cast):
    ended = LiveSessionFactory(host=cast.host, status="ended")
    results = send_many([
        SendRequest(cast.member, cast.session.pk, "ok 1"),
        SendRequest(cast.outsider, cast.session.pk, "not a member"),
        SendRequest(cast.member, cast.session.pk, "   "),
        SendRequest(cast.host, ended.pk, "too late"),
        SendRequest(cast.member, 2**70, "no such session"),
        SendRequest(cast.member, cast.session.pk, "ok 2"),
    ])
    assert isinstance(results[1], NotFound) and isinstance(results[4], NotFound)
    assert isinstance(results[2], InvalidInput) and isinstance(results[3], SessionEnded)
    assert [(results[i][0].body, results[i][0].seq) for i in (0, 5)] == [("ok 1", 1), ("ok 2", 2)]
    assert list(Message.objects.values_list("body", flat=True)) == ["ok 1", "ok 2"]


@pytest.mark.django_db
def test_a_client_id_repeated_or_already_stored_is_stored_once(cast):
    first, _ = services.message_send(user=cast.member, session_id=cast.session.pk, body="old", client_id="old")
    results = send_many([
        SendRequest(cast.member, cast.session.pk, "new", "k"),
        SendRequest(cast.member, cast.session.pk, "new again", "k"),
        SendRequest(cast.member, cast.session.pk, "old again", "old"),
        SendRequest(cast.host, cast.session.pk, "other author", "k"),
    ])
    assert [created for _, created in results] == [True, False, False, True]
    assert results[1][0].pk == results[0][0].pk and results[2][0].pk == first.pk
    assert [m.seq for m in Message.objects.order_by("seq")] == [1, 2, 3]  # no seq lost to the repeats
    assert LiveSession.objects.get(pk=cast.session.pk).last_seq == 3


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_fails_midway_stores_nothing_and_moves_no_seq(cast, monkeypatch):
    """As if the worker died after the counter moved: the transaction takes both back."""
    announced = []

    def broken(self, objs, *args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(type(Message.objects), "bulk_create", broken)
    with pytest.raises(OperationalError):
        send_many([SendRequest(cast.member, cast.session.pk, f"m{i}") for i in range(3)], announce=announced.extend)
    assert announced == [] and not Message.objects.exists()
    assert LiveSession.objects.get(pk=cast.session.pk).last_seq == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_client_id_committed_by_someone_else_meanwhile_returns_their_row():
    """The batch looked, found nothing, then another process committed the same client_id first:
    the unique constraint refuses the batch and each request is retried alone."""
    session = LiveSessionFactory()
    author = UserFactory()
    MembershipFactory(session=session, user=author)
    inserted, release = threading.Event(), threading.Event()

    def other_process():
        conn = connections.create_connection("default")
        try:
            with conn.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(f"INSERT INTO {Message._meta.db_table} (session_id, author_id, body, client_id, seq, "
                               "created_at) VALUES (%s, %s, 'theirs', 'k', 1000, now())", [session.pk, author.pk])
                inserted.set()
                release.wait(10)
                cursor.execute("COMMIT")
        finally:
            conn.close()

    holder = threading.Thread(target=other_process)
    holder.start()
    inserted.wait(5)
    threading.Timer(0.3, release.set).start()  # commit while our INSERT waits on the unique index
    try:
        results = send_many([SendRequest(author, session.pk, "mine", "k"), SendRequest(author, session.pk, "free")])
    finally:
        release.set()
        holder.join(10)
    (theirs, created_k), (free, created_free) = results
    assert theirs.body == "theirs" and not created_k
    assert free.body == "free" and created_free
    assert Message.objects.filter(session=session, client_id="k").count() == 1


# --- through the websocket -----------------------------------------------------------------

async def acks(comm, client_ids: set[str], timeout=10) -> list[dict]:
    """message.new frames until every one of `client_ids` was acknowledged (fails on an error frame)."""
    got = []
    while client_ids - {f["message"]["client_id"] for f in got}:
        data = await frame(comm, timeout)
        assert data["type"] in ("presence", "message.new"), data
        if data["type"] == "message.new":
            got.append(data)
    return got


@pytest.mark.django_db(transaction=True)
async def test_rapid_sends_from_one_socket_share_transactions_and_keep_their_order(people, unthrottled, monkeypatch):
    sizes = []
    real = services.message_send_many

    def counting(**kwargs):
        sizes.append(len(kwargs["requests"]))
        time.sleep(0.02)  # a commit that takes a while: the sends read meanwhile share the next one
        return real(**kwargs)

    monkeypatch.setattr(services, "message_send_many", counting)
    sender = await connect(people["member"], people["session"].pk)
    watcher = await connect(people["host"], people["session"].pk)
    for i in range(30):
        await sender.send_json_to({"type": "message.send", "body": f"m{i}", "client_id": f"c{i}"})
    mine = await acks(sender, {f"c{i}" for i in range(30)})
    seen = []
    while len(seen) < 30:
        data = await frame(watcher, 10)
        if data["type"] == "message.new":
            seen.append(data)
    assert [f["message"]["client_id"] for f in mine] == [f"c{i}" for i in range(30)]
    assert [f["seq"] for f in mine] == list(range(1, 31))
    assert [f["seq"] for f in seen] == list(range(1, 31)) and all(f["message"]["client_id"] is None for f in seen)
    assert sum(sizes) == 30 and max(sizes) > 1  # batched: fewer transactions than messages
    await sender.disconnect()
    await watcher.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_failed_batch_answers_every_sender_with_an_error_and_no_ack(people, unthrottled, monkeypatch):
    from messaging.runtime import runtime

    sender = await connect(people["member"], people["session"].pk)
    while not runtime().hub.caught_up(people["session"].pk):
        await asyncio.sleep(0.01)

    def down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(services, "message_send_many", down)
    for i in range(3):
        await sender.send_json_to({"type": "message.send", "body": f"m{i}", "client_id": f"c{i}"})
    errors = []
    while len(errors) < 3:
        data = await frame(sender)
        assert data["type"] in ("presence", "error"), data  # never a message.new: nothing was stored
        if data["type"] == "error":
            errors.append(data)
    assert sorted(e["client_id"] for e in errors) == ["c0", "c1", "c2"]
    assert {e["code"] for e in errors} == {"service_unavailable"}
    assert not await database_sync_to_async(Message.objects.exists)()
    await sender.disconnect()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
async def test_concurrent_sockets_and_another_process_lose_nothing_and_keep_each_senders_order(people, unthrottled):
    """Three sockets send at once while another process (a thread with its own connection, through
    message_send) writes to the same session: seqs 1..N without gaps or repeats, every socket's
    messages in the order it sent them, every receiver sees seq rise by one."""
    authors = [people["host"], people["member"]]
    user = await database_sync_to_async(UserFactory)()
    await database_sync_to_async(MembershipFactory)(session=people["session"], user=user)
    authors.append(user)
    socks = [await connect(user, people["session"].pk) for user in authors]
    per_socket = 25

    def other_process():
        try:
            for i in range(per_socket):
                services.message_send(user=authors[0], session_id=people["session"].pk, body=f"rest {i}",
                                      client_id=f"rest-{i}")
        finally:
            connection.close()

    thread = threading.Thread(target=other_process)
    thread.start()
    for i in range(per_socket):
        for n, sock in enumerate(socks):
            await sock.send_json_to({"type": "message.send", "body": f"s{n} {i}", "client_id": f"s{n}-{i}"})
    await asyncio.to_thread(thread.join, 30)
    total = per_socket * (len(socks) + 1)
    for n, sock in enumerate(socks):
        frames = []
        while len(frames) < total:
            data = await frame(sock, 10)
            assert data["type"] in ("presence", "message.new"), data
            if data["type"] == "message.new":
                frames.append(data)
        assert [f["seq"] for f in frames] == list(range(1, total + 1))
        own = [f["message"]["client_id"] for f in frames if f["message"]["client_id"] is not None
               and f["message"]["client_id"].startswith(f"s{n}-")]
        assert own == [f"s{n}-{i}" for i in range(per_socket)]
    rows = await database_sync_to_async(list)(Message.objects.filter(session=people["session"]).order_by("seq")
                                               .values_list("seq", "client_id"))
    assert [seq for seq, _ in rows] == list(range(1, total + 1))
    for n in range(len(socks)):
        assert [c for _, c in rows if c.startswith(f"s{n}-")] == [f"s{n}-{i}" for i in range(per_socket)]
    assert [c for _, c in rows if c.startswith("rest-")] == [f"rest-{i}" for i in range(per_socket)]
    last = await database_sync_to_async(
        lambda: LiveSession.objects.filter(pk=people["session"].pk).aggregate(m=Max("last_seq"))["m"])()
    assert last == total
    for sock in socks:
        await sock.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_socket_with_too_many_sends_waiting_stops_reading_until_one_is_stored(people, unthrottled,
                                                                                     monkeypatch):
    from messaging import consumers

    monkeypatch.setattr(consumers, "MAX_SENDS_IN_FLIGHT", 3)
    gate = threading.Event()
    real = services.message_send_many

    def held(**kwargs):
        gate.wait(10)
        return real(**kwargs)

    monkeypatch.setattr(services, "message_send_many", held)
    sender = await connect(people["member"], people["session"].pk)
    for i in range(4):
        await sender.send_json_to({"type": "message.send", "body": f"m{i}", "client_id": f"c{i}"})
    await sender.send_json_to({"type": "ping"})
    try:
        assert await quiet(sender)  # the 4th send waits for a slot: no pong, no ack yet
    finally:
        gate.set()
    got = []
    while len([f for f in got if f["type"] == "message.new"]) < 4 or "pong" not in [f["type"] for f in got]:
        data = await frame(sender, 10)
        if data["type"] != "presence":
            got.append(data)
    assert [f["message"]["client_id"] for f in got if f["type"] == "message.new"] == ["c0", "c1", "c2", "c3"]
    await sender.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_this_processes_sockets_get_a_stored_message_without_the_layer(people, settings, monkeypatch):
    """The committed message goes to the local hub at once; the layer's copy (here: lost) is only
    for other processes."""
    from channels.layers import get_channel_layer

    from messaging.events import channel_layer_alias

    settings.MESSAGING_HUB_SWEEP_INTERVAL = 60  # no repair from the database during this test
    sender = await connect(people["member"], people["session"].pk)
    watcher = await connect(people["host"], people["session"].pk)
    layer = get_channel_layer(channel_layer_alias())
    real = layer.group_send

    async def lost(group, message):
        if message.get("type") == "message.new":
            raise ConnectionError("the layer dropped it")
        await real(group, message)

    monkeypatch.setattr(layer, "group_send", lost)
    await sender.send_json_to({"type": "message.send", "body": "local", "client_id": "l1"})
    [ack] = await acks(sender, {"l1"}, timeout=1)
    seen = await frame(watcher, 1)
    while seen["type"] != "message.new":
        seen = await frame(watcher, 1)
    assert ack["seq"] == seen["seq"] == 1 and seen["message"]["body"] == "local"
    await sender.disconnect()
    await watcher.disconnect()
