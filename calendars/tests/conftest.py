"""Fixtures: the fake Google on loopback, settings pointing at it, and connected users."""

from __future__ import annotations

import pytest

from calendars.tests.fakes.google import CLIENT_ID, CLIENT_SECRET, FakeGoogle


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
