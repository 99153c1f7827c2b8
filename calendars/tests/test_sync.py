"""Sync against the fake Google: paging, incremental changes, 410, retries, token expiry, revocation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db.models import Count
from django.utils import timezone

from calendars import services
from calendars.encryption import decrypt_token
from calendars.errors import CalendarAccessError, CalendarReauthRequired, GoogleUnavailable
from calendars.google import backoff
from calendars.models import CalendarConnection, CalendarEvent, CalendarSyncState

EMAIL = "ada.google@example.com"
pytestmark = pytest.mark.django_db


def local_ids(connection) -> set[str]:
    return set(CalendarEvent.objects.filter(connection=connection).values_list("google_id", flat=True))


def live_ids(google) -> set[str]:
    return {e.id for e in google.account(EMAIL).events.values() if e.status != "cancelled"}


def refresh_calls(google) -> list[dict]:
    return [c for c in google.calls("token") if c["form"].get("grant_type") == "refresh_token"]


def test_full_sync_stores_2500_events_over_several_pages(google, connection):
    google.add_events(EMAIL, 2500)

    result = services.connection_sync(connection_id=connection.pk)

    assert result.as_dict() == {"created": 2500, "updated": 0, "deleted": 0, "full_resync": True}
    assert local_ids(connection) == live_ids(google)
    assert not CalendarEvent.objects.values("google_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    calls = google.calls("events.list")
    assert len(calls) == 10  # 250 a page
    first = calls[0]["query"]
    assert {"timeMin", "timeMax", "singleEvents"} <= set(first) and "showDeleted" not in first
    for call in calls[1:]:
        assert call["query"]["pageToken"]
        assert {k: v for k, v in call["query"].items() if k != "pageToken"} == first  # same query each page
    state = CalendarSyncState.objects.get(connection=connection)
    assert state.sync_token and state.full_synced_at
    connection.refresh_from_db()
    assert connection.status == "active" and connection.last_synced_at and connection.last_error == ""


def test_full_sync_skips_cancelled_events(google, connection):
    kept, gone = google.add_event(EMAIL, summary="kept"), google.add_event(EMAIL, summary="gone")
    google.delete_event(EMAIL, gone.id)

    services.connection_sync(connection_id=connection.pk)

    assert local_ids(connection) == {kept.id}


def test_incremental_sync_applies_create_update_delete(google, connection):
    first, second, third = (google.add_event(EMAIL, summary=f"e{n}") for n in range(3))
    services.connection_sync(connection_id=connection.pk)
    token_before = CalendarSyncState.objects.get(connection=connection).sync_token
    google.update_event(EMAIL, first.id, summary="moved", location="Room 2")
    google.delete_event(EMAIL, second.id)
    created = google.add_event(EMAIL, summary="new")

    result = services.connection_sync(connection_id=connection.pk)

    assert result.as_dict() == {"created": 1, "updated": 1, "deleted": 1, "full_resync": False}
    assert local_ids(connection) == {first.id, third.id, created.id}
    moved = CalendarEvent.objects.get(google_id=first.id)
    assert (moved.summary, moved.location) == ("moved", "Room 2")
    query = google.calls("events.list")[-1]["query"]
    assert query["syncToken"] == token_before
    assert not {"timeMin", "timeMax", "q", "orderBy", "updatedMin", "showDeleted"} & set(query)
    assert CalendarSyncState.objects.get(connection=connection).sync_token != token_before


def test_incremental_sync_without_changes_writes_nothing(google, connection):
    google.add_events(EMAIL, 5)
    services.connection_sync(connection_id=connection.pk)

    result = services.connection_sync(connection_id=connection.pk)

    assert result.as_dict() == {"created": 0, "updated": 0, "deleted": 0, "full_resync": False}


def test_sync_token_is_saved_only_after_every_page(google, connection):
    services.connection_sync(connection_id=connection.pk)
    token_before = CalendarSyncState.objects.get(connection=connection).sync_token
    google.add_events(EMAIL, 600)  # three pages of changes
    google.inject("events.list", 500, times=10, after=1)  # page 2 never comes

    with pytest.raises(GoogleUnavailable):
        services.connection_sync(connection_id=connection.pk)

    assert CalendarSyncState.objects.get(connection=connection).sync_token == token_before
    assert CalendarEvent.objects.filter(connection=connection).count() == 250  # page 1 was stored
    google.injected.clear()
    result = services.connection_sync(connection_id=connection.pk)
    assert result.created == 350 and result.updated == 0
    assert local_ids(connection) == live_ids(google)


def test_gone_sync_token_triggers_full_resync_without_stale_events(google, connection):
    events = google.add_events(EMAIL, 12)
    services.connection_sync(connection_id=connection.pk)
    for event in events[:4]:
        google.delete_event(EMAIL, event.id)
    google.update_event(EMAIL, events[5].id, summary="renamed")
    added = google.add_event(EMAIL, summary="after 410")
    google.invalidate_sync_tokens(EMAIL)

    result = services.connection_sync(connection_id=connection.pk)

    assert result.full_resync is True
    assert (result.created, result.updated, result.deleted) == (1, 1, 4)
    assert local_ids(connection) == live_ids(google)
    assert added.id in local_ids(connection)
    assert CalendarEvent.objects.get(google_id=events[5].id).summary == "renamed"
    statuses = [c["query"].get("syncToken") is not None for c in google.calls("events.list")]
    assert statuses == [False, True, False]  # full, incremental answered 410, full again
    follow_up = services.connection_sync(connection_id=connection.pk)
    assert follow_up.full_resync is False


def test_two_rate_limit_answers_then_success(google, connection, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(backoff, "pause", waits.append)
    google.add_events(EMAIL, 3)
    google.inject("events.list", 403, reason="rateLimitExceeded")
    google.inject("events.list", 429, headers={"Retry-After": "7"})

    result = services.connection_sync(connection_id=connection.pk)

    assert result.created == 3
    assert len(google.calls("events.list")) == 3
    assert len(waits) == 2
    assert 0 <= waits[0] <= 0.5  # full jitter under base * 2**0
    assert waits[1] == 7  # Retry-After honoured
    connection.refresh_from_db()
    assert connection.consecutive_failures == 0 and connection.status == "active"


def test_user_rate_limit_and_server_errors_are_retried(google, connection):
    google.inject("events.list", 403, reason="userRateLimitExceeded")
    google.inject("events.list", 500)
    google.inject("events.list", 503)

    services.connection_sync(connection_id=connection.pk)

    assert len(google.calls("events.list")) == 4


def test_persistent_outage_gives_up_after_capped_attempts(google, connection, settings):
    settings.CALENDAR_RETRY_MAX_ATTEMPTS = 4
    google.inject("events.list", 503, times=50)

    with pytest.raises(GoogleUnavailable) as caught:
        services.connection_sync(connection_id=connection.pk)

    assert caught.value.retry_after >= 1
    assert len(google.calls("events.list")) == 4
    connection.refresh_from_db()
    assert connection.status == "active"  # transient: stays active, retried later
    assert connection.consecutive_failures == 1
    assert connection.next_retry_at > timezone.now()
    assert connection.last_error


def test_retry_after_beyond_the_cap_is_not_slept(google, connection, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(backoff, "pause", waits.append)
    google.inject("events.list", 429, headers={"Retry-After": "3600"})

    with pytest.raises(GoogleUnavailable) as caught:
        services.connection_sync(connection_id=connection.pk)

    assert waits == [] and caught.value.retry_after == 3600


@pytest.mark.parametrize(("status", "reason"), [(403, "forbidden"), (404, "notFound"), (403, "quotaExceeded")])
def test_other_client_errors_mark_the_connection_without_retrying(google, connection, status, reason):
    google.inject("events.list", status, reason=reason, times=5)

    with pytest.raises(CalendarAccessError):
        services.connection_sync(connection_id=connection.pk)

    assert len(google.calls("events.list")) == 1
    connection.refresh_from_db()
    assert connection.status == "error" and str(status) in connection.last_error
    assert connection.consecutive_failures == 1


def test_connection_errors_are_retried_then_unavailable(google, connection, settings):
    settings.GOOGLE_CALENDAR_API_ROOT = "http://127.0.0.1:9/"  # discard port: connection refused

    with pytest.raises(GoogleUnavailable):
        services.connection_sync(connection_id=connection.pk)

    connection.refresh_from_db()
    assert connection.consecutive_failures == 1


def test_token_expiring_in_the_middle_of_a_sync_is_refreshed_once(google, connection):
    google.add_events(EMAIL, 1000)
    google.expire_tokens_after_list_calls = 2  # page 3 meets a 401

    result = services.connection_sync(connection_id=connection.pk)

    assert result.created == 1000
    assert len(refresh_calls(google)) == 1
    assert [c["query"].get("pageToken") is not None for c in google.calls("events.list")] == [
        False, True, True, True, True]  # the 401'd page is asked again with the same token
    connection.refresh_from_db()
    assert connection.token_refreshed_at is not None


def test_expired_stored_token_is_refreshed_before_calling(google, user):
    from calendars.tests.factories import connection_create

    connection = connection_create(user=user, google=google, expires_in=0)
    refresh_before = decrypt_token(connection.refresh_token_encrypted)

    services.connection_sync(connection_id=connection.pk)

    assert len(refresh_calls(google)) == 1
    assert google.calls("events.list")[0]["headers"]["authorization"] != "Bearer "
    connection.refresh_from_db()
    assert decrypt_token(connection.refresh_token_encrypted) == refresh_before  # no new one: kept, not nulled
    assert connection.token_expires_at > timezone.now() + timedelta(minutes=50)


def test_rotated_refresh_token_is_saved(google, user):
    from calendars.tests.factories import connection_create

    connection = connection_create(user=user, google=google, expires_in=0)
    google.rotate_refresh_tokens = True

    services.connection_sync(connection_id=connection.pk)

    connection.refresh_from_db()
    new_refresh = decrypt_token(connection.refresh_token_encrypted)
    assert google.refresh_tokens[new_refresh]["revoked"] is False


def test_second_401_after_refresh_is_an_error_not_a_loop(google, connection):
    google.inject("events.list", 401, times=5)

    with pytest.raises(CalendarAccessError):
        services.connection_sync(connection_id=connection.pk)

    assert len(google.calls("events.list")) == 2
    assert len(refresh_calls(google)) == 1


def test_revoked_refresh_token_needs_reauth_and_emails_once(google, connection, django_capture_on_commit_callbacks):
    google.revoke_all(EMAIL)  # access and refresh tokens dead: the next call is a 401, the refresh invalid_grant

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CalendarReauthRequired):
        services.connection_sync(connection_id=connection.pk)

    connection.refresh_from_db()
    assert connection.status == CalendarConnection.Status.NEEDS_REAUTH
    assert connection.refresh_token_encrypted == "" and connection.access_token_encrypted == ""
    assert "invalid_grant" in connection.last_error
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.com"]
    assert "/settings/calendar" in mail.outbox[0].body
    token_calls = len(google.calls("token"))

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(CalendarReauthRequired):
            services.connection_sync(connection_id=connection.pk)

    assert len(google.calls("token")) == token_calls  # no retry loop against Google
    assert len(mail.outbox) == 1


def test_all_day_and_recurring_instances_are_stored(google, connection):
    start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=2)
    day = google.add_event(EMAIL, summary="holiday", start=start, duration=timedelta(days=1), all_day=True)
    instance = google.add_event(EMAIL, summary="standup", recurring_event_id="series1")
    services.connection_sync(connection_id=connection.pk)

    stored = CalendarEvent.objects.get(google_id=day.id)
    assert stored.all_day and stored.start == start and stored.end == start + timedelta(days=1)
    assert CalendarEvent.objects.get(google_id=instance.id).recurring_event_id == "series1"

    google.add_event(EMAIL, event_id="series1", summary="series")
    google.delete_event(EMAIL, "series1")  # the whole series cancelled
    services.connection_sync(connection_id=connection.pk)
    assert not CalendarEvent.objects.filter(recurring_event_id="series1").exists()


def test_forced_full_resync_drops_events_gone_at_google(google, connection):
    events = google.add_events(EMAIL, 5)
    services.connection_sync(connection_id=connection.pk)
    del google.account(EMAIL).events[events[0].id]  # gone without a trace (e.g. outside the window now)

    result = services.connection_sync(connection_id=connection.pk, full=True)

    assert result.full_resync and result.deleted == 1
    assert local_ids(connection) == live_ids(google)


def test_tokens_never_reach_the_logs(google, user, caplog):
    import logging

    from calendars.tests.factories import connection_create

    caplog.set_level(logging.DEBUG)
    connection = connection_create(user=user, google=google, expires_in=0)
    secrets = [decrypt_token(connection.refresh_token_encrypted), decrypt_token(connection.access_token_encrypted)]
    google.inject("events.list", 429, headers={"Retry-After": "0"})
    services.connection_sync(connection_id=connection.pk)
    connection.refresh_from_db()
    secrets.append(decrypt_token(connection.access_token_encrypted))
    google.revoke_all(EMAIL)
    google.expire_access_tokens()
    with pytest.raises(CalendarReauthRequired):
        services.connection_sync(connection_id=connection.pk)

    logged = "\n".join(f"{r.getMessage()} {r.__dict__!r}" for r in caplog.records)
    assert "access token refreshed" in logged and "needs reauthorization" in logged
    assert not any(secret in logged for secret in secrets)
