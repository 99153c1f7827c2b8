"""Redis (the cache) unreachable: brute-force protection fails closed with a 503, everything
that only uses the cache as an optimisation keeps working, and nothing is a 500."""

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import AuthEvent, User
from accounts.tests.factories import PASSWORD, SUPABASE_SECRET, external_token, user_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def cache_down(settings):
    # Port 1: nothing listens, so every cache call fails with redis' ConnectionError at once.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    settings.SUPABASE_JWT_SECRET = SUPABASE_SECRET


def assert_503(response):
    assert response.status_code == 503, response.content
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "auth_protection_unavailable"


def test_login_is_503_before_any_password_check(api_client):
    user_create()
    response = api_client.post("/api/v1/auth/login", {"email": "grace@example.com", "password": PASSWORD},
                               format="json")
    assert_503(response)
    assert not AuthEvent.objects.exists()


def test_signup_is_503_and_creates_nothing(api_client):
    response = api_client.post("/api/v1/auth/signup", {"email": "new@example.com", "password": PASSWORD},
                               format="json", REMOTE_ADDR="203.0.113.7")
    assert_503(response)
    assert not User.objects.exists()


def test_bearer_requests_still_work(api_client):
    user = user_create()
    own = api_client.get("/api/v1/auth/profile", HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    assert own.status_code == 200
    external = api_client.get("/api/v1/auth/profile", HTTP_AUTHORIZATION=f"Bearer {external_token()}")
    assert external.status_code == 200 and external.json()["email"] == "ext@example.com"


def test_rejected_token_is_still_a_401_and_audited(api_client):
    response = api_client.get("/api/v1/auth/profile", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_invalid"
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.TOKEN_REJECTED).count() == 1
