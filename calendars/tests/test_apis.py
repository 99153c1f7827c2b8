"""The REST surface: connection state, sync, events window, disconnect, error shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from calendars.encryption import decrypt_token
from calendars.models import CalendarConnection, CalendarEvent, CalendarSyncState, PushChannel

pytestmark = pytest.mark.django_db
EMAIL = "ada.google@example.com"


def test_connection_not_connected_is_404(google, auth_client):
    response = auth_client.get("/api/v1/calendars/connection")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "calendar_not_connected"


def test_connection_shows_sync_state_and_never_tokens(google, auth_client, connection):
    google.add_events(EMAIL, 3)
    auth_client.post("/api/v1/calendars/sync")

    response = auth_client.get("/api/v1/calendars/connection/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "active" and body["event_count"] == 3 and body["last_synced_at"]
    assert body["last_error"] == "" and body["account_email"] == EMAIL
    assert body["calendars"][0]["calendar_id"] == "primary" and body["calendars"][0]["incremental"] is True
    text = response.content.decode()
    assert decrypt_token(connection.refresh_token_encrypted) not in text
    assert decrypt_token(connection.access_token_encrypted) not in text
    assert "token_encrypted" not in text


def test_sync_is_accepted_and_its_state_shows_the_outcome(google, auth_client, connection):
    google.add_events(EMAIL, 4)

    first = auth_client.post("/api/v1/calendars/sync", {}, format="json")
    google.add_event(EMAIL)
    second = auth_client.post("/api/v1/calendars/sync/", {"full": False}, format="json")

    # Eager mode (no broker, as in these tests): the queued sync ran before the answer.
    assert first.status_code == 202 and second.status_code == 202
    assert second.json()["state"] == "idle" and second.json()["queued_at"] is None
    assert second.json()["last_result"] == "ok" and second.json()["last_finished_at"]
    assert CalendarEvent.objects.count() == 5
    assert "syncToken" in google.calls("events.list")[-1]["query"]
    assert auth_client.get("/api/v1/calendars/connection").json()["sync"] == second.json()


def test_sync_while_another_runs_is_accepted_and_honoured_by_the_running_one(google, auth_client, connection):
    CalendarConnection.objects.filter(pk=connection.pk).update(
        sync_lock_until=timezone.now() + timedelta(minutes=5), sync_lock_owner="someone")

    response = auth_client.post("/api/v1/calendars/sync")

    assert response.status_code == 202 and response.json()["state"] == "running"
    assert google.calls("events.list") == []
    connection.refresh_from_db()
    assert connection.sync_requested_at is not None and connection.sync_queued_at is None


def _outcome(auth_client) -> dict:
    response = auth_client.post("/api/v1/calendars/sync")
    assert response.status_code == 202
    return response.json()


def test_google_outage_is_recorded_not_returned(google, auth_client, connection, settings):
    settings.GOOGLE_CALENDAR_API_ROOT = "http://127.0.0.1:9/"

    assert _outcome(auth_client)["last_result"] == "google_unavailable"
    body = auth_client.get("/api/v1/calendars/connection").json()
    assert body["status"] == "active" and body["consecutive_failures"] == 1 and body["next_retry_at"]


def test_token_endpoint_outage_is_recorded(google, auth_client, user):
    from calendars.tests.factories import connection_create

    connection_create(user=user, google=google, expires_in=0)
    google.inject("token", 500, times=10)

    assert _outcome(auth_client)["last_result"] == "google_unavailable"
    assert CalendarConnection.objects.get().status == "active"


def test_token_endpoint_answering_a_json_list_is_an_outage_not_a_crash(google, auth_client, user):
    from calendars.tests.factories import connection_create

    connection_create(user=user, google=google, expires_in=0)
    google.inject("token", 502, body=["Bad Gateway"], times=10)

    assert _outcome(auth_client)["last_result"] == "google_unavailable"


def test_sync_after_revocation_needs_reauth_and_then_is_a_409(google, auth_client, connection):
    google.revoke_all(EMAIL)

    assert _outcome(auth_client)["last_result"] == "calendar_reauth_required"
    assert auth_client.get("/api/v1/calendars/connection").json()["status"] == "needs_reauth"
    response = auth_client.post("/api/v1/calendars/sync")
    assert response.status_code == 409 and response.json()["error"]["code"] == "calendar_reauth_required"


def test_sync_bad_body_is_a_400(google, auth_client, connection):
    response = auth_client.post("/api/v1/calendars/sync", {"full": "perhaps"}, format="json")

    assert response.status_code == 400 and "full" in response.json()["error"]["fields"]


def test_events_list_and_connection_queries_do_not_grow_with_rows(
        google, auth_client, connection, django_assert_max_num_queries):
    google.add_events(EMAIL, 30)
    auth_client.post("/api/v1/calendars/sync")
    window = {"start": "2000-01-01T00:00:00Z", "end": "2000-12-31T00:00:00Z"}
    CalendarEvent.objects.update(start=datetime(2000, 6, 1, tzinfo=UTC), end=datetime(2000, 6, 1, 1, tzinfo=UTC))

    with django_assert_max_num_queries(4):  # user, count, page
        page = auth_client.get("/api/v1/calendars/events", window)
    with django_assert_max_num_queries(4):  # user, connection, event count, calendars with their channels
        state = auth_client.get("/api/v1/calendars/connection")

    assert page.status_code == 200 and len(page.json()["results"]) == 20 and page.json()["next"]
    assert state.status_code == 200 and state.json()["event_count"] == 30


def test_events_in_a_window(google, auth_client, connection):
    base = datetime(2030, 1, 10, 9, tzinfo=UTC)
    for hours, summary in [(0, "inside"), (30, "later"), (-30, "earlier")]:
        CalendarEvent.objects.create(connection=connection, calendar_id="primary", google_id=summary,
                                     summary=summary, start=base + timedelta(hours=hours),
                                     end=base + timedelta(hours=hours + 1))

    response = auth_client.get("/api/v1/calendars/events", {"start": "2030-01-10T00:00:00Z",
                                                             "end": "2030-01-11T00:00:00Z"})

    assert response.status_code == 200
    assert [e["summary"] for e in response.json()["results"]] == ["inside"]
    assert response.json()["results"][0]["start"] == "2030-01-10T09:00:00Z"


def test_events_of_another_user_are_not_listed(google, auth_client, connection, django_user_model):
    from calendars.tests.factories import connection_create

    other = connection_create(user=django_user_model.objects.create_user(email="bo@example.com", password="x" * 12),
                              google=google, email="bo.google@example.com")
    now = timezone.now()
    CalendarEvent.objects.create(connection=other, calendar_id="primary", google_id="theirs",
                                 start=now + timedelta(hours=1), end=now + timedelta(hours=2))

    assert auth_client.get("/api/v1/calendars/events").json()["results"] == []


@pytest.mark.parametrize("query", [
    {"start": "yesterday"},
    {"start": "2030-01-10T00:00:00Z", "end": "2030-01-09T00:00:00Z"},
    {"start": "2030-01-10T00:00:00Z", "end": "2032-01-10T00:00:00Z"},
    {"start": "9999-12-31T23:59:59Z"},  # the default 30-day end would overflow: 400, not 500
])
def test_events_bad_window_is_a_400(google, auth_client, connection, query):
    response = auth_client.get("/api/v1/calendars/events", query)

    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"


def test_disconnect_revokes_and_deletes(google, auth_client, connection):
    google.add_events(EMAIL, 5)
    auth_client.post("/api/v1/calendars/sync")
    refresh = decrypt_token(connection.refresh_token_encrypted)

    response = auth_client.delete("/api/v1/calendars/connection")

    assert response.status_code == 204
    assert google.calls("revoke")[-1]["form"]["token"] == refresh
    assert google.refresh_tokens[refresh]["revoked"] is True
    connection.refresh_from_db()
    assert connection.status == "revoked"
    assert connection.access_token_encrypted == "" and connection.refresh_token_encrypted == ""
    assert not CalendarEvent.objects.exists() and not CalendarSyncState.objects.exists()
    assert auth_client.post("/api/v1/calendars/sync").status_code == 404
    assert auth_client.delete("/api/v1/calendars/connection").status_code == 404


def test_disconnect_when_google_is_down_still_disconnects(google, auth_client, connection, settings):
    settings.GOOGLE_REVOKE_URI = "http://127.0.0.1:9/revoke"

    assert auth_client.delete("/api/v1/calendars/connection").status_code == 204
    assert CalendarConnection.objects.get().status == "revoked"


def test_routes_need_authentication(google, api_client):
    for method, path in [("get", "/api/v1/calendars/connection"), ("post", "/api/v1/calendars/sync"),
                         ("get", "/api/v1/calendars/events"), ("delete", "/api/v1/calendars/connection")]:
        assert getattr(api_client, method)(path).status_code == 401


def test_disconnect_during_a_sync_stops_it_and_leaves_no_events(google, auth_client, connection, monkeypatch):
    from calendars.errors import CalendarNotConnected
    from calendars.google import sync as sync_module
    from calendars.services import connection_disconnect, connection_sync

    google.add_events(EMAIL, 600)
    real_store = sync_module._store_page
    pages = []

    def store_then_disconnect(**kwargs):
        real_store(**kwargs)
        pages.append(1)
        if len(pages) == 1:
            connection_disconnect(user=connection.user)  # the user disconnects while page 2 is on its way

    monkeypatch.setattr(sync_module, "_store_page", store_then_disconnect)

    with pytest.raises(CalendarNotConnected):
        connection_sync(connection_id=connection.pk)

    assert not CalendarEvent.objects.exists() and not CalendarSyncState.objects.exists()
    connection.refresh_from_db()
    assert connection.status == "revoked" and connection.sync_lock_owner == ""


def test_token_endpoint_timeout_is_recorded(google, auth_client, user, settings):
    from calendars.tests.factories import connection_create

    connection_create(user=user, google=google, expires_in=0)
    settings.CALENDAR_HTTP_TIMEOUT = 0.05
    google.token_delay = 0.3

    assert _outcome(auth_client)["last_result"] == "google_unavailable"


def test_connection_page_costs_the_same_queries_whatever_the_number_of_calendars(
        google, auth_client, connection, django_assert_num_queries):
    now = timezone.now()
    for index in range(6):
        state = CalendarSyncState.objects.create(connection=connection, calendar_id=f"cal-{index}", sync_token="t")
        for days in (1, index + 2):  # the latest channel is the one shown
            PushChannel.objects.create(calendar=state, channel_id=f"chan-{index}-{days}", token="tok",
                                       expires_at=now + timedelta(days=days))
    CalendarSyncState.objects.create(connection=connection, calendar_id="no-channel")

    with django_assert_num_queries(4):  # user, connection, event count, calendars with their latest channel
        response = auth_client.get("/api/v1/calendars/connection")

    assert response.status_code == 200
    calendars = {row["calendar_id"]: row for row in response.json()["calendars"]}
    assert len(calendars) == 7 and calendars["no-channel"]["push_channel_expires_at"] is None
    for index in range(6):
        shown = datetime.fromisoformat(calendars[f"cal-{index}"]["push_channel_expires_at"])
        assert shown == now + timedelta(days=index + 2)
        assert calendars[f"cal-{index}"]["incremental"] is True
    assert calendars["no-channel"]["incremental"] is False
