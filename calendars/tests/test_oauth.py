"""OAuth: consent URL, callback authenticated by the signed state, single use, PKCE, storage."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone

from calendars.encryption import decrypt_token
from calendars.models import CalendarConnection, CalendarEvent, OAuthState

pytestmark = pytest.mark.django_db
CONNECT = "/api/v1/calendars/google/connect"


def consent(authorization_url: str) -> str:
    """What the browser does: visit Google's consent page, come back with the redirect (path + query)."""
    answer = requests.get(authorization_url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    return f"{location.path}?{location.query}"


def test_connect_builds_an_offline_pkce_consent_url(google, auth_client):
    response = auth_client.get(CONNECT)

    assert response.status_code == 200
    url = urlsplit(response.json()["authorization_url"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{google.base_url}/o/oauth2/auth"
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["redirect_uri"] == "http://testserver/api/v1/calendars/google/callback"
    assert "https://www.googleapis.com/auth/calendar.readonly" in query["scope"].split()
    assert query["state"]
    stored = OAuthState.objects.get()
    assert decrypt_token(stored.code_verifier_encrypted) not in response.content.decode()


def test_callback_stores_the_connection(google, auth_client, api_client, user):
    callback = consent(auth_client.get(CONNECT).json()["authorization_url"])

    response = api_client.get(callback)  # no bearer header: the browser comes from Google

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "active" and body["account_email"] == "ada.google@example.com"
    connection = CalendarConnection.objects.get(user=user)
    exchange = google.calls("token")[-1]["form"]
    assert exchange["grant_type"] == "authorization_code" and len(exchange["code_verifier"]) >= 43
    refresh = decrypt_token(connection.refresh_token_encrypted)
    assert google.refresh_tokens[refresh]["revoked"] is False
    assert refresh not in connection.refresh_token_encrypted  # encrypted at rest
    assert refresh not in response.content.decode()
    assert connection.token_expires_at > timezone.now()


def test_callback_redirects_to_the_front_end_when_a_return_url_is_set(google, auth_client, api_client, settings):
    settings.CALENDAR_CONNECT_RETURN_URL = "https://app.example.com/settings?tab=calendar"
    callback = consent(auth_client.get(CONNECT).json()["authorization_url"])

    connected = api_client.get(callback)
    replayed = api_client.get(callback)

    assert connected.status_code == 302
    assert connected["Location"] == "https://app.example.com/settings?tab=calendar&status=connected"
    assert replayed.status_code == 302
    assert replayed["Location"] == "https://app.example.com/settings?tab=calendar&status=error&code=invalid_oauth_state"
    assert CalendarConnection.objects.get().status == "active"


def test_replayed_state_is_refused(google, auth_client, api_client):
    callback = consent(auth_client.get(CONNECT).json()["authorization_url"])
    assert api_client.get(callback).status_code == 200

    replay = api_client.get(callback)

    assert replay.status_code == 400
    assert replay.json()["error"]["code"] == "invalid_oauth_state"
    assert len(google.calls("token")) == 1  # the replay never reached Google


def test_tampered_state_is_refused(google, auth_client, api_client):
    callback = consent(auth_client.get(CONNECT).json()["authorization_url"])
    query = parse_qs(urlsplit(callback).query)
    forged = query["state"][0][:-2] + ("AA" if not query["state"][0].endswith("AA") else "BB")

    response = api_client.get("/api/v1/calendars/google/callback", {"state": forged, "code": query["code"][0]})

    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_oauth_state"
    assert CalendarConnection.objects.count() == 0


def test_expired_state_is_refused(google, auth_client, api_client):
    callback = consent(auth_client.get(CONNECT).json()["authorization_url"])
    OAuthState.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = api_client.get(callback)

    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_oauth_state"
    assert google.calls("token") == []


def test_missing_state_is_a_400(google, api_client):
    response = api_client.get("/api/v1/calendars/google/callback", {"code": "4/abc"})

    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_oauth_state"


def test_denied_consent_is_a_400(google, auth_client, api_client):
    google.deny_consent = True
    callback = consent(auth_client.get(CONNECT).json()["authorization_url"])

    response = api_client.get(callback)

    assert response.status_code == 400 and response.json()["error"]["code"] == "oauth_denied"
    assert CalendarConnection.objects.count() == 0


def test_calendar_scope_unticked_is_refused(google, auth_client, api_client):
    google.consent_scopes = ["openid", "https://www.googleapis.com/auth/userinfo.email"]
    callback = consent(auth_client.get(CONNECT).json()["authorization_url"])

    response = api_client.get(callback)

    assert response.status_code == 400 and response.json()["error"]["code"] == "oauth_denied"
    assert CalendarConnection.objects.count() == 0


def test_reconnecting_after_reauth_resets_the_connection(google, auth_client, api_client, user):
    from calendars.tests.factories import connection_create

    connection_create(user=user, google=google, status="needs_reauth", reauth_notified_at=timezone.now(),
                      last_error="invalid_grant", consecutive_failures=3)
    callback = consent(auth_client.get(CONNECT).json()["authorization_url"])

    assert api_client.get(callback).status_code == 200

    connection = CalendarConnection.objects.get(user=user)
    assert (connection.status, connection.reauth_notified_at, connection.last_error,
            connection.consecutive_failures) == ("active", None, "", 0)


def test_connecting_another_google_account_drops_the_old_events(google, auth_client, api_client, user):
    from calendars.tests.factories import connection_create

    old = connection_create(user=user, google=google, email="old@example.com")
    CalendarEvent.objects.create(connection=old, calendar_id="primary", google_id="x1")
    callback = consent(auth_client.get(CONNECT).json()["authorization_url"])

    assert api_client.get(callback).status_code == 200
    assert not CalendarEvent.objects.filter(connection=old).exists()


def test_connect_without_encryption_key_in_production_is_refused(google, auth_client, settings):
    settings.TOKEN_ENCRYPTION_KEY = None
    settings.DEBUG = False

    response = auth_client.get(CONNECT)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "token_encryption_not_configured"
    assert "Retry-After" in response


def test_connect_needs_authentication(google, api_client):
    assert api_client.get(CONNECT).status_code == 401


def test_token_endpoint_outage_during_the_callback_is_a_503(google, auth_client, api_client):
    callback = consent(auth_client.get(CONNECT).json()["authorization_url"])
    google.inject("token", 503)

    response = api_client.get(callback)

    assert response.status_code == 503 and response.json()["error"]["code"] == "google_unavailable"
    assert response["Retry-After"] == "30"
    assert CalendarConnection.objects.count() == 0


def test_unreachable_token_endpoint_during_the_callback_is_a_503(google, auth_client, api_client, settings):
    callback = consent(auth_client.get(CONNECT).json()["authorization_url"])
    settings.GOOGLE_TOKEN_URI = "http://127.0.0.1:9/token"

    assert api_client.get(callback).status_code == 503


def test_refused_code_is_a_400(google, auth_client, api_client):
    callback = consent(auth_client.get(CONNECT).json()["authorization_url"])
    google.codes.clear()  # Google no longer knows the code

    response = api_client.get(callback)

    assert response.status_code == 400 and response.json()["error"]["code"] == "oauth_exchange_failed"


def test_connect_without_google_client_is_a_503(google, auth_client, settings):
    settings.GOOGLE_CLIENT_ID = ""

    response = auth_client.get(CONNECT)

    assert response.status_code == 503 and response.json()["error"]["code"] == "google_not_configured"


def test_account_email_falls_back_to_the_primary_calendar_id(google, auth_client, api_client):
    google.consent_scopes = ["https://www.googleapis.com/auth/calendar.readonly"]  # no openid: no ID token
    callback = consent(auth_client.get(CONNECT).json()["authorization_url"])

    response = api_client.get(callback)

    assert response.status_code == 200 and response.json()["account_email"] == "ada.google@example.com"
    assert google.calls("calendars.get")[0]["path"] == "/calendar/v3/calendars/primary"


def test_primary_calendar_fallback_goes_through_the_client_and_its_retries(google, auth_client, api_client):
    google.consent_scopes = ["https://www.googleapis.com/auth/calendar.readonly"]  # no openid: no ID token
    google.inject("calendars.get", 503)  # one outage answer: the client retries it like any Calendar call
    callback = consent(auth_client.get(CONNECT).json()["authorization_url"])

    response = api_client.get(callback)

    assert response.status_code == 200 and response.json()["account_email"] == "ada.google@example.com"
    assert len(google.calls("calendars.get")) == 2


def test_primary_calendar_fallback_refused_leaves_the_email_empty(google, auth_client, api_client):
    google.consent_scopes = ["https://www.googleapis.com/auth/calendar.readonly"]
    google.inject("calendars.get", 401)  # a bare token cannot be refreshed: no retry, no email
    callback = consent(auth_client.get(CONNECT).json()["authorization_url"])

    response = api_client.get(callback)

    assert response.status_code == 200 and response.json()["account_email"] == ""
    assert len(google.calls("calendars.get")) == 1
