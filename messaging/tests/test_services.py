"""Services: rows, events after commit, idempotency under races."""

import threading

import pytest
from django.db import transaction

from accounts.tests.races import errors_of, run_together
from flashlearn.errors import NotFound
from messaging import services
from messaging.models import Message
from messaging.tests.factories import LiveSessionFactory, MembershipFactory, MessageFactory, UserFactory
from messaging.tests.listeners import GroupListener

pytestmark = pytest.mark.django_db


def test_message_send_broadcasts_after_commit(cast, memory_layers, django_capture_on_commit_callbacks):
    listener = GroupListener(cast.session.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        message, created = services.message_send(user=cast.member, session_id=cast.session.pk, body="hello",
                                                  client_id="c1")
        assert listener.events() == []  # nothing before commit
    assert created and len(callbacks) == 1
    callbacks[0]()
    [event] = listener.events()
    assert event["type"] == "message.new"
    assert event["message"]["id"] == message.pk and event["message"]["client_id"] == "c1"
    assert event["message"]["author"] == {"id": cast.member.pk, "display_name": cast.member.display_name}


def test_rolled_back_send_broadcasts_nothing(cast, memory_layers, django_capture_on_commit_callbacks):
    listener = GroupListener(cast.session.pk)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.message_send(user=cast.member, session_id=cast.session.pk, body="doomed")
            raise RuntimeError
    assert callbacks == []
    assert listener.events() == []
    assert not Message.objects.exists()


def test_outsider_send_stores_and_broadcasts_nothing(cast, memory_layers, django_capture_on_commit_callbacks):
    listener = GroupListener(cast.session.pk)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(NotFound):
        services.message_send(user=cast.outsider, session_id=cast.session.pk, body="hi")
    assert listener.events() == [] and not Message.objects.exists()


def test_retry_with_client_id_is_not_broadcast_again(cast, memory_layers, django_capture_on_commit_callbacks):
    listener = GroupListener(cast.session.pk)
    with django_capture_on_commit_callbacks(execute=True):
        first, _ = services.message_send(user=cast.member, session_id=cast.session.pk, body="a", client_id="k")
        again, created = services.message_send(user=cast.member, session_id=cast.session.pk, body="b", client_id="k")
    assert again.pk == first.pk and not created
    assert [e["type"] for e in listener.events()] == ["message.new"]


def test_client_id_is_per_author_and_session(cast):
    a, _ = services.message_send(user=cast.member, session_id=cast.session.pk, body="a", client_id="same")
    b, created = services.message_send(user=cast.host, session_id=cast.session.pk, body="b", client_id="same")
    assert created and a.pk != b.pk


def test_edit_delete_and_lifecycle_events(cast, memory_layers, django_capture_on_commit_callbacks):
    message = MessageFactory(session=cast.session, author=cast.member)
    listener = GroupListener(cast.session.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.message_edit(user=cast.member, message_id=message.pk, body="edited")
        services.message_delete(user=cast.member, message_id=message.pk)
        services.live_session_start(user=cast.host, session_id=cast.session.pk)
        services.membership_mark_read(user=cast.host, session_id=cast.session.pk, message_id=message.pk)
    events = listener.events()
    assert [e["type"] for e in events] == ["message.updated", "message.deleted", "session.updated", "read"]
    assert events[0]["message"]["body"] == "edited"
    assert events[1]["message"]["deleted"] is True and events[1]["message"]["body"] == ""
    assert events[2]["session"]["status"] == "live"
    assert events[3] == {"type": "read", "user_id": cast.host.pk, "message_id": message.pk,
                         "session_id": cast.session.pk}


def test_broadcast_failure_does_not_fail_the_write(cast, settings, django_capture_on_commit_callbacks):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"},
        "messaging": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                      "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}},  # nothing listens there
    }
    with django_capture_on_commit_callbacks(execute=True):
        message, created = services.message_send(user=cast.member, session_id=cast.session.pk, body="kept")
    assert created and Message.objects.filter(pk=message.pk).exists()


def _race(n: int, target) -> list:
    outcomes = run_together(*[target] * n)
    assert errors_of(outcomes) == [None] * n
    return outcomes


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_with_same_client_id_store_one_message():
    session = LiveSessionFactory()
    author = UserFactory()
    MembershipFactory(session=session, user=author)
    for attempt in range(3):  # a few rounds so the race really happens
        results = _race(6, lambda a=attempt: services.message_send(
            user=author, session_id=session.pk, body="once", client_id=f"dup-{a}"))
        assert len({message.pk for message, _ in results}) == 1
        assert sum(created for _, created in results) == 1
    assert Message.objects.filter(session=session).count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_joins_make_one_membership():
    session = LiveSessionFactory(visibility="public")
    joiner = UserFactory()
    results = _race(6, lambda: services.live_session_join(user=joiner, session_id=session.pk))
    assert sum(created for _, created in results) == 1
    assert session.memberships.filter(user=joiner).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_read_markers_only_move_forward():
    session = LiveSessionFactory()
    reader = UserFactory()
    MembershipFactory(session=session, user=reader)
    ids = [MessageFactory(session=session).pk for _ in range(8)]
    pending = list(ids)
    lock = threading.Lock()

    def mark():
        with lock:
            message_id = pending.pop()
        return services.membership_mark_read(user=reader, session_id=session.pk, message_id=message_id)

    _race(8, mark)
    assert session.memberships.get(user=reader).last_read_message_id == max(ids)
