"""Per-user write throttles on the real views: 429 with Retry-After in the API.md error shape,
counted per user, reads never counted, and a cache outage a 503, not a 500."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tests.factories import user_create
from creators import services as creator_services
from creators.tests.factories import CreatorFactory
from flashlearn.rates import parse_rate
from messaging.models import Message
from messaging.tests.factories import LiveSessionFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


@pytest.fixture
def rates(settings):
    settings.THROTTLE_RATES = {
        "message_post": "3/min", "session_create": "2/hour", "calendar_connect": "2/hour",
        "calendar_sync": "2/hour", "creator_unlock": "2/hour",
    }
    return settings.THROTTLE_RATES


@pytest.fixture
def ada():
    return user_create(email="ada@example.com")


def assert_throttled(response, *, period: int):
    assert response.status_code == 429, response.content
    assert response.json()["error"]["code"] == "throttled"
    assert set(response.json()["error"]) >= {"code", "message"}
    assert 1 <= int(response["Retry-After"]) <= period


def test_message_post_is_throttled_per_user(rates, ada):
    session = LiveSessionFactory(host=ada)
    bob = user_create(email="bob@example.com")
    MembershipFactory(session=session, user=bob)
    ada_client, bob_client = client_for(ada), client_for(bob)
    sent = [ada_client.post("/api/v1/messages", {"session": session.pk, "body": f"hi {n}"}, format="json")
            for n in range(3)]
    assert [r.status_code for r in sent] == [201, 201, 201]
    refused = ada_client.post("/api/v1/messages", {"session": session.pk, "body": "one too many"}, format="json")
    assert_throttled(refused, period=60)
    assert not Message.objects.filter(body="one too many").exists()
    # another user has a counter of their own; reading history is never counted
    assert bob_client.post("/api/v1/messages", {"session": session.pk, "body": "bob"}, format="json").status_code == 201
    assert ada_client.get(f"/api/v1/live_sessions/{session.pk}/messages").status_code == 200


def test_session_create_counts_posts_not_the_list(rates, ada):
    client = client_for(ada)
    for _ in range(5):
        assert client.get("/api/v1/live_sessions").status_code == 200
    created = [client.post("/api/v1/live_sessions", {"title": f"S{n}"}, format="json") for n in range(2)]
    assert [r.status_code for r in created] == [201, 201]
    assert_throttled(client.post("/api/v1/live_sessions", {"title": "S3"}, format="json"), period=3600)
    assert client.get("/api/v1/live_sessions").status_code == 200


def test_creator_unlock_is_throttled(rates, ada):
    creator_services.credits_grant(user=ada, amount=100)
    creators = [CreatorFactory() for _ in range(3)]
    client = client_for(ada)
    assert [client.post(f"/api/v1/simple/creator/{c.pk}/unlock").status_code for c in creators[:2]] == [201, 201]
    assert_throttled(client.post(f"/api/v1/simple/creator/{creators[2].pk}/unlock"), period=3600)


def test_calendar_connect_and_sync_are_throttled(rates, ada, settings):
    settings.TOKEN_ENCRYPTION_KEY = "throttle-tests-token-encryption-key"
    settings.GOOGLE_CLIENT_ID = "client-id"
    settings.GOOGLE_CLIENT_SECRET = "client-secret"
    client = client_for(ada)
    connect = [client.get("/api/v1/calendars/google/connect") for _ in range(2)]
    assert [r.status_code for r in connect] == [200, 200]
    assert_throttled(client.get("/api/v1/calendars/google/connect"), period=3600)
    # sync is refused (no connection) but still counted: the throttle runs before the view
    for _ in range(2):
        assert client.post("/api/v1/calendars/sync", {}, format="json").status_code != 429
    assert_throttled(client.post("/api/v1/calendars/sync", {}, format="json"), period=3600)


def test_an_empty_rate_turns_the_limit_off(rates, ada):
    rates["session_create"] = ""
    client = client_for(ada)
    assert {client.post("/api/v1/live_sessions", {"title": f"S{n}"}, format="json").status_code
            for n in range(5)} == {201}


def test_default_rates_are_valid_and_generous():
    from django.conf import settings

    for scope in ("message_post", "session_create", "calendar_connect", "calendar_sync", "creator_unlock"):
        limit, period = parse_rate(settings.THROTTLE_RATES[scope])
        assert limit / period * 3600 >= 30, scope  # at least 30 an hour


def test_bad_rate_in_the_environment_stops_start_up():
    import os
    import subprocess
    import sys

    env = {**os.environ, "THROTTLE_MESSAGE_POST": "lots", "DJANGO_SETTINGS_MODULE": "flashlearn.test_settings"}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "THROTTLE_MESSAGE_POST" in result.stderr


def test_cache_outage_is_a_503_not_a_500(rates, ada, settings):
    session = LiveSessionFactory(host=ada)
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    response = client_for(ada).post("/api/v1/messages", {"session": session.pk, "body": "hi"}, format="json")
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "cache_unavailable"
    assert int(response["Retry-After"]) > 0
    assert not Message.objects.exists()
