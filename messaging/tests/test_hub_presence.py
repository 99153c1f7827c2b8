"""The hub's presence heartbeat: one refresh of all a process's entries in a session per interval."""

import asyncio

import pytest

from messaging import presence
from messaging.tests.factories import LiveSessionFactory, MembershipFactory, UserFactory
from messaging.tests.test_consumers import connect, fast_presence  # noqa: F401 (an autouse fixture)

pytestmark = [pytest.mark.django_db(transaction=True)]


async def test_one_heartbeat_refreshes_every_socket_of_the_session_in_one_call(settings, monkeypatch):
    from channels.db import database_sync_to_async

    settings.MESSAGING_PRESENCE_TTL = 0.6  # a heartbeat every 0.2 s
    host = await database_sync_to_async(UserFactory)()
    session = await database_sync_to_async(LiveSessionFactory)(host=host)
    users = [host]
    for _ in range(2):
        user = await database_sync_to_async(UserFactory)()
        await database_sync_to_async(MembershipFactory)(session=session, user=user)
        users.append(user)
    calls = []
    real = presence.refresh_many

    async def counting(session_id, members):
        calls.append((session_id, sorted(members)))
        await real(session_id, members)

    async def one_by_one(*args, **kwargs):
        raise AssertionError("a socket refreshed its own entry")

    monkeypatch.setattr(presence, "refresh_many", counting)
    monkeypatch.setattr(presence, "refresh", one_by_one)
    socks = [await connect(user, session.pk) for user in users]
    calls.clear()
    await asyncio.sleep(0.5)  # two or three intervals
    assert 1 <= len(calls) <= 3  # one call per interval for all three sockets, not one per socket
    assert all(session_id == session.pk and len(members) == 3 for session_id, members in calls)
    online = {u["id"] for u in await presence.online(session.pk)}
    assert online == {u.pk for u in users}
    for sock in socks:
        await sock.disconnect()


async def test_a_leave_is_announced_when_the_users_last_socket_goes_whatever_others_are_called():
    session_id = 987654
    first, second = presence.entry("tab-1", 42, "Ann"), presence.entry("tab-2", 42, "Ann")
    lookalike = presence.entry("tab-3", 7, '",42,"')  # a name that spells the pattern Redis matches on
    for member in (first, second, lookalike):
        await presence.join(session_id, member)
    assert await presence.leave(session_id, first) is False  # the second tab is still there
    assert await presence.leave(session_id, second) is True
    assert await presence.leave(session_id, lookalike) is True
    assert await presence.online(session_id) == []


async def test_a_join_reads_the_online_set_once(monkeypatch):
    from channels.db import database_sync_to_async

    host = await database_sync_to_async(UserFactory)()
    session = await database_sync_to_async(LiveSessionFactory)(host=host)
    store = presence.backend()
    reads = []
    real = type(store).live

    async def counting(self, session_id, now):
        reads.append(session_id)
        return await real(self, session_id, now)

    monkeypatch.setattr(type(store), "live", counting)
    sock = await connect(host, session.pk)  # asserts the snapshot frame
    assert reads == [session.pk]
    await sock.disconnect()
