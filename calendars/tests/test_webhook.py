"""Push channels: creation, renewal, stop on disconnect, and the notification webhook."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from calendars import services
from calendars.models import CalendarEvent, PushChannel

pytestmark = pytest.mark.django_db
EMAIL = "ada.google@example.com"
HOOK = "/api/v1/calendars/google/notifications"


@pytest.fixture
def watched(google, connection, settings):
    settings.CALENDAR_WEBHOOK_BASE_URL = "https://hooks.example.test"
    google.add_events(EMAIL, 2)
    services.connection_sync(connection_id=connection.pk)
    return PushChannel.objects.get()


def notify(api_client, channel, *, state="exists", token=None, channel_id=None):
    return api_client.post(HOOK, HTTP_X_GOOG_CHANNEL_ID=channel_id or channel.channel_id,
                           HTTP_X_GOOG_CHANNEL_TOKEN=channel.token if token is None else token,
                           HTTP_X_GOOG_RESOURCE_STATE=state, HTTP_X_GOOG_RESOURCE_ID=channel.resource_id,
                           HTTP_X_GOOG_MESSAGE_NUMBER="1")


def test_sync_creates_a_watch_channel(google, watched):
    body = google.calls("events.watch")[0]["json"]
    assert body["type"] == "web_hook" and body["id"] == watched.channel_id
    assert body["address"] == "https://hooks.example.test/api/v1/calendars/google/notifications"
    assert body["token"] == watched.token
    assert watched.resource_id == google.account(EMAIL).resource_id
    assert watched.expires_at > timezone.now() + timedelta(days=6)


def test_sync_notification_is_acknowledged_without_syncing(google, watched, api_client):
    calls = len(google.calls("events.list"))

    response = notify(api_client, watched, state="sync")

    assert response.status_code == 200 and response.json() == {"status": "acknowledged"}
    assert len(google.calls("events.list")) == calls


def test_exists_notification_queues_an_incremental_sync(google, watched, api_client):
    added = google.add_event(EMAIL, summary="pushed")

    response = notify(api_client, watched)

    assert response.status_code == 200 and response.json() == {"status": "queued"}
    # Eager mode (no broker, as in these tests): the queued task ran inline.
    assert CalendarEvent.objects.filter(google_id=added.id).exists()
    assert "syncToken" in google.calls("events.list")[-1]["query"]


def test_notification_for_a_connection_needing_reauth_is_ignored(google, watched, api_client, connection):
    from calendars.models import CalendarConnection

    CalendarConnection.objects.filter(pk=connection.pk).update(status="needs_reauth")
    calls = len(google.calls("events.list"))

    response = notify(api_client, watched)

    assert response.status_code == 200 and response.json() == {"status": "ignored"}
    assert len(google.calls("events.list")) == calls


def test_wrong_channel_token_is_refused(google, watched, api_client):
    added = google.add_event(EMAIL)

    response = notify(api_client, watched, token="not-the-token")

    assert response.status_code == 403 and response.json()["error"]["code"] == "invalid_channel_token"
    assert not CalendarEvent.objects.filter(google_id=added.id).exists()


def test_unknown_channel_is_a_404(google, watched, api_client):
    response = notify(api_client, watched, channel_id="no-such-channel")

    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_channel"


def test_notification_without_headers_is_a_404(google, api_client):
    assert api_client.post(HOOK).status_code == 404


def test_channel_near_expiry_is_renewed_and_the_old_one_stopped(google, watched, connection):
    PushChannel.objects.filter(pk=watched.pk).update(expires_at=timezone.now() + timedelta(hours=1))

    services.connection_sync(connection_id=connection.pk)

    fresh = PushChannel.objects.get()
    assert fresh.channel_id != watched.channel_id
    stop = google.calls("channels.stop")[-1]["json"]
    assert stop == {"id": watched.channel_id, "resourceId": watched.resource_id}
    assert google.channels[watched.channel_id]["stopped"] is True


def test_live_channel_is_kept(google, watched, connection):
    services.connection_sync(connection_id=connection.pk)

    assert PushChannel.objects.get().pk == watched.pk
    assert len(google.calls("events.watch")) == 1


def test_refused_watch_does_not_fail_the_sync(google, connection, settings):
    settings.CALENDAR_WEBHOOK_BASE_URL = "https://hooks.example.test"
    google.inject("events.watch", 400, reason="pushNotSupportedForRequestedResource")

    result = services.connection_sync(connection_id=connection.pk)

    assert result.full_resync and not PushChannel.objects.exists()


def test_disconnect_stops_channels(google, watched, auth_client):
    assert auth_client.delete("/api/v1/calendars/connection").status_code == 204

    assert google.channels[watched.channel_id]["stopped"] is True
    assert not PushChannel.objects.exists()


def test_notification_during_a_sync_is_queued_and_honoured(google, watched, connection, api_client):
    from calendars.models import CalendarConnection

    CalendarConnection.objects.filter(pk=connection.pk).update(
        sync_lock_until=timezone.now() + timedelta(minutes=5), sync_lock_owner="running")

    response = notify(api_client, watched)

    assert response.json() == {"status": "queued"}
    assert CalendarConnection.objects.get(pk=connection.pk).sync_requested_at is not None


def test_sync_requested_meanwhile_runs_once_more(google, connection, monkeypatch):
    from calendars.models import CalendarConnection

    real = services.calendar_sync
    rounds = []

    def sync_and_receive_a_notification(**kwargs):
        result = real(**kwargs)
        if not rounds:  # a notification lands while the first round runs
            CalendarConnection.objects.filter(pk=connection.pk).update(sync_requested_at=timezone.now())
        rounds.append(kwargs["full"])
        return result

    monkeypatch.setattr(services, "calendar_sync", sync_and_receive_a_notification)

    services.connection_sync(connection_id=connection.pk)

    assert rounds == [False, False] and len(google.calls("events.list")) == 2
