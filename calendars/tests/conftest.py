"""Fixtures: the fake Google on loopback, settings pointing at it, and connected users."""

from __future__ import annotations

import pytest

from calendars.tests.fakes.google import CLIENT_ID, CLIENT_SECRET, FakeGoogle
from flashlearn.tests.taskqueue import broker_without_worker  # noqa: F401 (fixture)


@pytest.fixture(scope="session")
def google_server():
    server = FakeGoogle().start()
    yield server
    server.stop()


@pytest.fixture
def google(google_server, settings, monkeypatch):
    google_server.reset()
    base = google_server.base_url
    settings.GOOGLE_CLIENT_ID = CLIENT_ID
    settings.GOOGLE_CLIENT_SECRET = CLIENT_SECRET
    settings.GOOGLE_REDIRECT_URI = "http://testserver/api/v1/calendars/google/callback"
    settings.GOOGLE_AUTH_URI = f"{base}/o/oauth2/auth"
    settings.GOOGLE_TOKEN_URI = f"{base}/token"
    settings.GOOGLE_REVOKE_URI = f"{base}/revoke"
    settings.GOOGLE_CALENDAR_API_ROOT = f"{base}/"
    settings.TOKEN_ENCRYPTION_KEY = "calendar-tests-token-encryption-key"
    settings.CALENDAR_RETRY_BASE_SECONDS = 0.5
    settings.CALENDAR_RETRY_SLEEP_SCALE = 0.001  # computed delays stay real; sleeps are a thousandth
    settings.CALENDAR_SYNC_PAGE_SIZE = 250
    settings.CALENDAR_SYNC_BATCH_SIZE = 100
    settings.CALENDAR_WEBHOOK_BASE_URL = None
    # The stand-in speaks plain HTTP on loopback; oauthlib insists on https unless told otherwise.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    yield google_server
    google_server.reset()


@pytest.fixture
def connection(google, user):
    from calendars.tests.factories import connection_create

    return connection_create(user=user, google=google)


@pytest.fixture
def watched_connection(google, connection):
    """A connection with a live push channel (as a sync with CALENDAR_WEBHOOK_BASE_URL leaves it)."""
    from datetime import timedelta

    from django.utils import timezone

    from calendars.models import CalendarSyncState, PushChannel

    state = CalendarSyncState.objects.create(connection=connection, calendar_id="primary")
    PushChannel.objects.create(calendar=state, channel_id="chan-1", token="channel-token",
                               resource_id=google.account(connection.account_email).resource_id,
                               expires_at=timezone.now() + timedelta(days=6))
    return connection


def notification_headers(*, channel_id: str = "chan-1", token: str = "channel-token", state: str = "exists") -> dict:
    return {"HTTP_X_GOOG_CHANNEL_ID": channel_id, "HTTP_X_GOOG_CHANNEL_TOKEN": token,
            "HTTP_X_GOOG_RESOURCE_STATE": state, "HTTP_X_GOOG_MESSAGE_NUMBER": "1"}
