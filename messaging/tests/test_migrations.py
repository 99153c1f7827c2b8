"""The visibility/invite-code migration on existing rows: each becomes private with its own code."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from messaging.tests.factories import UserFactory

BEFORE = [("messaging", "0001_initial")]
AFTER = [("messaging", "0003_livesession_invite_code_unique")]


@pytest.mark.django_db(transaction=True)
def test_existing_sessions_become_private_with_distinct_codes():
    host = UserFactory()
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps.get_model("messaging", "LiveSession")
        ids = [old.objects.create(host_id=host.pk, title=f"old {n}").pk for n in range(5)]
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps.get_model("messaging", "LiveSession")
        rows = list(new.objects.filter(pk__in=ids).values("visibility", "invite_code"))
        assert {row["visibility"] for row in rows} == {"private"}
        codes = {row["invite_code"] for row in rows}
        assert len(codes) == 5 and all(code and len(code) >= 22 for code in codes)
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_existing_messages_are_numbered_per_session_in_id_order():
    host = UserFactory()
    before, after = [("messaging", "0003_livesession_invite_code_unique")], [("messaging", "0004_message_seq")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        Session, Message = old.get_model("messaging", "LiveSession"), old.get_model("messaging", "Message")
        a, b = (Session.objects.create(host_id=host.pk, title=t).pk for t in ("a", "b"))
        for session_id in (a, b, a, a, b):
            Message.objects.create(session_id=session_id, author_id=host.pk, body="x")
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new = executor.loader.project_state(after).apps
        rows = new.get_model("messaging", "Message").objects.order_by("id").values_list("session_id", "seq")
        assert list(rows) == [(a, 1), (b, 1), (a, 2), (a, 3), (b, 2)]
        counters = dict(new.get_model("messaging", "LiveSession").objects.values_list("pk", "last_seq"))
        assert counters[a] == 3 and counters[b] == 2
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
