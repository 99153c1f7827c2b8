"""Signup, login, refresh, logout and password change over HTTP."""

import pytest
from django.core.cache import cache
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import AuthEvent, Profile, User
from accounts.tests.factories import PASSWORD, user_create

pytestmark = pytest.mark.django_db


def signup(client, email="new@example.com", password=PASSWORD, path="/api/v1/auth/signup", headers=None, **extra):
    return client.post(path, {"email": email, "password": password, **extra}, format="json", **(headers or {}))


def login(client, email="grace@example.com", password=PASSWORD, path="/api/v1/auth/login", **extra):
    return client.post(path, {"email": email, "password": password}, format="json", **extra)


@pytest.mark.parametrize("path", ["/api/v1/auth/signup", "/api/v1/auth/signup/", "/signup", "/signup/"])
def test_signup_creates_user_profile_and_tokens(api_client, path):
    response = signup(api_client, email="New@Example.com", display_name="Newt", path=path)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["user"]["email"] == "new@example.com"
    assert body["user"]["display_name"] == "Newt"
    assert set(body) == {"user", "access", "refresh"}
    user = User.objects.get(email="new@example.com")
    assert Profile.objects.filter(user=user).exists()
    assert OutstandingToken.objects.filter(user=user).count() == 1
    assert AuthEvent.objects.filter(kind="signup", user=user).count() == 1
    me = api_client.get("/api/v1/auth/profile", HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert me.status_code == 200
    assert me.json()["email"] == "new@example.com"


def test_signup_taken_email_is_409_on_the_field(api_client):
    user_create(email="taken@example.com")
    response = signup(api_client, email="TAKEN@example.com")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"
    assert "email" in response.json()["error"]["fields"]
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": "short"}, "password"),
        ({"email": "a@example.com", "password": "password123"}, "password"),  # common
        ({"email": "a@example.com", "password": "73918462519"}, "password"),  # numeric
        ({"email": "abcdefgh@example.com", "password": "abcdefgh@example"}, "password"),  # like the email
        ({"email": "a@example.com", "password": "x" * 1025}, "password"),
        ({"password": PASSWORD}, "email"),
    ],
)
def test_signup_validation_is_400(api_client, body, field):
    response = api_client.post("/api/v1/auth/signup", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not User.objects.exists()


def test_signup_throttled_per_ip_with_retry_after(api_client, settings):
    settings.SIGNUP_RATE = "2/hour"
    assert signup(api_client, email="a1@example.com").status_code == 201
    assert signup(api_client, email="a2@example.com").status_code == 201
    refused = signup(api_client, email="a3@example.com")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert refused.json()["error"]["code"] == "signup_throttled"
    assert not User.objects.filter(email="a3@example.com").exists()
    other_ip = signup(api_client, email="a4@example.com", headers={"REMOTE_ADDR": "10.0.0.9"})
    assert other_ip.status_code == 201


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/auth/login/", "/login", "/login/"])
def test_login_returns_user_and_tokens(api_client, path):
    user = user_create()
    response = login(api_client, email="  GRACE@example.com ", path=path)
    assert response.status_code == 200, response.json()
    assert response.json()["user"]["id"] == user.pk
    assert AuthEvent.objects.filter(kind="login_succeeded", user=user).exists()
    user.refresh_from_db()
    assert user.last_login is not None


@pytest.mark.parametrize(
    ("email", "password"), [("grace@example.com", "wrong password!"), ("nobody@example.com", PASSWORD)]
)
def test_login_bad_credentials_is_401_and_audited_without_password(api_client, email, password):
    user_create()
    response = login(api_client, email=email, password=password, HTTP_USER_AGENT="curl/8")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
    event = AuthEvent.objects.get(kind="login_failed")
    assert event.email == email
    assert event.ip == "127.0.0.1"
    assert event.user_agent == "curl/8"
    assert password not in str(vars(event))


def test_inactive_user_cannot_login(api_client):
    user_create(is_active=False)
    assert login(api_client).status_code == 401


def test_refresh_rotates_and_a_used_token_is_rejected(api_client):
    user_create()
    tokens = login(api_client).json()
    first = api_client.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert first.status_code == 200
    assert set(first.json()) == {"access", "refresh"}
    assert first.json()["refresh"] != tokens["refresh"]
    reused = api_client.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "token_invalid"
    # Reuse revokes the whole family (tests/test_token_revocation.py): the descendant is dead too.
    again = api_client.post("/api/v1/auth/refresh", {"refresh": first.json()["refresh"]}, format="json")
    assert again.status_code == 401
    assert AuthEvent.objects.filter(kind="refresh").count() == 1
    assert AuthEvent.objects.filter(kind="token_reused").count() == 1


def test_rotated_refresh_token_is_recorded_so_logout_revokes_it(api_client):
    """simplejwt #863: a refresh token minted by rotation must be outstanding, or logout cannot blacklist it."""
    user = user_create()
    tokens = login(api_client).json()
    rotated = api_client.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json").json()
    jti = RefreshToken(rotated["refresh"])["jti"]
    assert OutstandingToken.objects.filter(jti=jti, user=user).exists()
    out = api_client.post("/api/v1/auth/logout", {"refresh": rotated["refresh"]}, format="json")
    assert out.status_code == 204
    assert BlacklistedToken.objects.filter(token__jti=jti).exists()
    after = api_client.post("/api/v1/auth/refresh", {"refresh": rotated["refresh"]}, format="json")
    assert after.status_code == 401


def test_logout_blacklists_a_token_that_was_never_recorded(api_client):
    user = user_create()
    refresh = RefreshToken.for_user(user)
    OutstandingToken.objects.all().delete()  # e.g. issued before the blacklist app was installed
    assert api_client.post("/api/v1/auth/logout", {"refresh": str(refresh)}, format="json").status_code == 204
    assert BlacklistedToken.objects.filter(token__jti=refresh["jti"]).exists()
    assert api_client.post("/api/v1/auth/refresh", {"refresh": str(refresh)}, format="json").status_code == 401


def test_logout_is_idempotent_and_rejects_forged_tokens(api_client):
    user_create()
    tokens = login(api_client).json()
    for _ in range(2):
        assert api_client.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code == 204
    forged = api_client.post("/api/v1/auth/logout", {"refresh": tokens["refresh"][:-3] + "abc"}, format="json")
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "token_invalid"


def test_access_token_cannot_be_used_as_refresh(api_client):
    user_create()
    tokens = login(api_client).json()
    response = api_client.post("/api/v1/auth/refresh", {"refresh": tokens["access"]}, format="json")
    assert response.status_code == 401


def test_expired_refresh_is_token_expired(api_client):
    user = user_create()
    refresh = RefreshToken.for_user(user)
    refresh.set_exp(lifetime=__import__("datetime").timedelta(seconds=-5))
    response = api_client.post("/api/v1/auth/refresh", {"refresh": str(refresh)}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"


def test_password_change_revokes_every_refresh_token(api_client):
    user = user_create()
    phone = login(api_client).json()
    laptop = login(api_client).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {laptop['access']}")
    response = api_client.post(
        "/api/v1/auth/password", {"old_password": PASSWORD, "new_password": "a brand new passphrase"}, format="json"
    )
    assert response.status_code == 200, response.json()
    api_client.credentials()
    for old in (phone, laptop):
        assert api_client.post("/api/v1/auth/refresh", {"refresh": old["refresh"]}, format="json").status_code == 401
    fresh = api_client.post("/api/v1/auth/refresh", {"refresh": response.json()["refresh"]}, format="json")
    assert fresh.status_code == 200
    assert login(api_client, password="a brand new passphrase").status_code == 200
    assert login(api_client).status_code == 401
    assert AuthEvent.objects.filter(kind="password_changed", user=user).count() == 1


def test_password_change_with_wrong_old_password_changes_nothing(auth_client, user):
    before = user.password
    response = auth_client.post(
        "/api/v1/auth/password", {"old_password": "nope nope nope", "new_password": "a brand new passphrase"},
        format="json",
    )
    assert response.status_code == 400
    assert "old_password" in response.json()["error"]["fields"]
    user.refresh_from_db()
    assert user.password == before


def test_password_change_validates_new_password(auth_client):
    response = auth_client.post(
        "/api/v1/auth/password", {"old_password": "correct horse battery", "new_password": "123"}, format="json"
    )
    assert response.status_code == 400
    assert "new_password" in response.json()["error"]["fields"]


def test_password_change_needs_auth(api_client):
    response = api_client.post("/api/v1/auth/password", {"old_password": "a", "new_password": "b"}, format="json")
    assert response.status_code == 401


def test_public_endpoints_ignore_a_stale_bearer_header(api_client):
    user_create()
    api_client.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    assert login(api_client).status_code == 200


def test_bearer_header_with_extra_parts_is_token_invalid(api_client):
    response = api_client.get("/api/v1/auth/profile", HTTP_AUTHORIZATION="Bearer a b")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_invalid"


def test_rejected_tokens_are_audited_once_per_token(api_client):
    for _ in range(3):
        response = api_client.get("/api/v1/auth/profile", HTTP_AUTHORIZATION="Bearer not.a.token")
        assert response.status_code == 401
        assert response.json()["error"] == {"code": "token_invalid", "message": "The token is invalid."}
    assert AuthEvent.objects.filter(kind="token_rejected").count() == 1
    cache.clear()
