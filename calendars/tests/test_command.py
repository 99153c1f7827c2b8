"""manage.py sync_calendars."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from calendars.models import CalendarConnection, CalendarEvent
from calendars.tests.factories import connection_create

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("sync_calendars", *args, stdout=out)
    return out.getvalue()


def test_syncs_every_due_connection_with_a_line_each(google, user, django_user_model):
    other = django_user_model.objects.create_user(email="bo@example.com", password="x" * 12)
    connection_create(user=user, google=google)
    connection_create(user=other, google=google, email="bo.google@example.com")
    google.add_events("ada.google@example.com", 3)
    google.add_events("bo.google@example.com", 2)

    output = run("--now")

    lines = output.strip().splitlines()
    assert lines[0].startswith("[1/2] ada@example.com") and "full: created 3" in lines[0]
    assert lines[1].startswith("[2/2] bo@example.com") and "created 2" in lines[1]
    assert lines[-1] == "synced 2 of 2 connection(s)"
    assert CalendarEvent.objects.count() == 5


def test_user_and_full_options(google, user, django_user_model):
    connection_create(user=user, google=google)
    google.add_events("ada.google@example.com", 2)
    run("--user", "ada@example.com", "--now")

    output = run("--user", "ADA@example.com", "--full", "--now")

    assert "full: created 0, updated 0, deleted 0" in output


def test_skips_connections_in_backoff_or_needing_reauth(google, user, django_user_model):
    connection_create(user=user, google=google, next_retry_at=timezone.now() + timedelta(minutes=5))
    other = django_user_model.objects.create_user(email="bo@example.com", password="x" * 12)
    connection_create(user=other, google=google, email="bo.google@example.com", status="needs_reauth")

    assert run("--now").strip() == "synced 0 of 0 connection(s)"
    assert run().strip() == "queued 0 of 0 connection(s)"
    assert google.calls("events.list") == []


def test_failures_are_reported_per_connection(google, user):
    connection_create(user=user, google=google)
    google.inject("events.list", 404, reason="notFound")

    output = run("--now")

    assert "failed: calendar_access_error" in output
    assert CalendarConnection.objects.get().status == "error"


def test_unknown_user_is_an_error(google):
    with pytest.raises(CommandError):
        run("--user", "nobody@example.com")


def test_without_now_queues_one_task_per_connection(google, user, django_user_model):
    other = django_user_model.objects.create_user(email="bo@example.com", password="x" * 12)
    connection_create(user=user, google=google)
    connection_create(user=other, google=google, email="bo.google@example.com")
    google.add_events("ada.google@example.com", 3)

    output = run()

    assert output.strip().splitlines() == ["ada@example.com: queued", "bo@example.com: queued",
                                           "queued 2 of 2 connection(s)"]
    # Eager mode (no broker, as in these tests): each queued task ran inline.
    assert CalendarEvent.objects.count() == 3
    assert set(CalendarConnection.objects.values_list("last_sync_result", flat=True)) == {"ok"}


def test_a_connection_already_queued_is_not_queued_twice(google, user):
    connection_create(user=user, google=google, sync_queued_at=timezone.now())

    output = run()

    assert output.strip().splitlines() == ["ada@example.com: already queued", "queued 0 of 1 connection(s)"]
    assert google.calls("events.list") == []
