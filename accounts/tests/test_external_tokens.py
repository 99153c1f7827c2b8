"""Externally issued (Supabase-style) bearer tokens and the cached user sync."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import AuthEvent, User
from accounts.stats import stats_read
from accounts.tests.factories import SUPABASE_SECRET, external_token, unsigned_token, user_create

pytestmark = pytest.mark.django_db
PROFILE = "/api/v1/auth/profile"


@pytest.fixture(autouse=True)
def supabase(settings):
    settings.SUPABASE_JWT_SECRET = SUPABASE_SECRET
    settings.SUPABASE_JWT_AUDIENCE = "authenticated"


def get(client, token, path=PROFILE):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_valid_token_creates_the_user_once(api_client):
    sub = uuid.uuid4()
    token = external_token(sub=sub, email="Ext@Example.com", user_metadata={"full_name": "Ext Ernal"})
    for _ in range(3):
        response = get(api_client, token)
        assert response.status_code == 200, response.json()
    user = User.objects.get(external_id=sub)
    assert user.email == "ext@example.com"
    assert user.display_name == "Ext Ernal"
    assert not user.has_usable_password()
    assert response.json()["email"] == "ext@example.com"
    assert User.objects.count() == 1
    assert AuthEvent.objects.filter(kind="external_user_created", user=user).count() == 1


def test_hundred_requests_one_user_write(api_client):
    token = external_token()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(100):
            assert get(api_client, token).status_code == 200
    writes = [
        q["sql"] for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE")) and '"accounts_user"' in q["sql"]
    ]
    assert len(writes) == 1
    assert writes[0].lstrip().upper().startswith("INSERT")
    assert stats_read()["external_sync_miss"] == 1
    assert stats_read()["external_sync_hit"] == 99


def test_changed_claims_sync_again(api_client):
    sub = uuid.uuid4()
    assert get(api_client, external_token(sub=sub, user_metadata={"name": "Old"})).status_code == 200
    assert get(api_client, external_token(sub=sub, user_metadata={"name": "New"})).status_code == 200
    assert User.objects.get(external_id=sub).display_name == "New"
    assert stats_read()["external_sync_miss"] == 2


def test_sync_runs_again_after_the_ttl_without_writing_unchanged_claims(api_client):
    from django.core.cache import cache

    sub = uuid.uuid4()
    token = external_token(sub=sub)
    assert get(api_client, token).status_code == 200
    cache.delete(f"accounts:extsync:{sub}")  # what the TTL passing does
    with CaptureQueriesContext(connection) as queries:
        assert get(api_client, token).status_code == 200
    assert stats_read()["external_sync_miss"] == 2
    assert not [q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))]
    assert User.objects.count() == 1


def test_sync_cache_entry_has_the_configured_ttl(api_client, settings, monkeypatch):
    from django.core import cache as cache_module

    settings.EXTERNAL_USER_SYNC_TTL = 42
    seen = {}
    real_set = cache_module.cache.set

    def spy_set(key, value, timeout=None, **kwargs):
        if key.startswith("accounts:extsync:"):
            seen[key] = timeout
        return real_set(key, value, timeout, **kwargs)

    monkeypatch.setattr(cache_module.cache, "set", spy_set)
    assert get(api_client, external_token()).status_code == 200
    assert list(seen.values()) == [42]


def test_existing_password_account_is_linked_by_email_only_when_both_proved_it(api_client):
    from django.utils import timezone

    local = user_create(email="ext@example.com", email_verified_at=timezone.now())
    sub = uuid.uuid4()
    assert get(api_client, external_token(sub=sub, email_verified=True)).status_code == 200
    local.refresh_from_db()
    assert local.external_id == sub
    assert not local.has_usable_password()  # accounts/tests/test_account_takeover.py has the rest
    assert User.objects.count() == 1


def test_email_owned_by_another_external_identity_is_refused(api_client):
    user_create(email="ext@example.com", external_id=uuid.uuid4())
    response = get(api_client, external_token(sub=uuid.uuid4()))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_invalid"


def test_inactive_external_user_is_refused(api_client):
    sub = uuid.uuid4()
    user_create(email="ext@example.com", external_id=sub, is_active=False)
    assert get(api_client, external_token(sub=sub)).status_code == 401


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: external_token(exp_in=-30, iat_in=-3600), "token_expired"),
        (lambda: external_token(aud="anon"), "token_invalid"),
        (lambda: external_token(secret="some-other-secret-0123456789abcdef0123"), "token_invalid"),
        (lambda: unsigned_token({"sub": str(uuid.uuid4()), "aud": "authenticated", "exp": 9999999999, "iat": 1}),
         "token_invalid"),
        (lambda: external_token(algorithm="HS512"), "token_invalid"),
        (lambda: external_token(nbf=9999999999), "token_invalid"),
        (lambda: external_token(iat_in=3600), "token_invalid"),  # issued in the future
        (lambda: external_token(drop=("exp",)), "token_invalid"),
        (lambda: external_token(drop=("aud",)), "token_invalid"),
        (lambda: external_token(drop=("sub",)), "token_invalid"),
        (lambda: external_token(sub="not-a-uuid"), "token_invalid"),
        (lambda: external_token(drop=("email",)), "token_invalid"),  # unknown user, nothing to create it with
        (lambda: external_token(email="not an address"), "token_invalid"),
        # Longer than the email column: a DataError (500) on PostgreSQL if it reached the insert.
        (lambda: external_token(email="a" * 250 + "@example.com"), "token_invalid"),
        (lambda: "garbage", "token_invalid"),
    ],
    ids=["expired", "wrong-audience", "wrong-secret", "alg-none", "other-alg", "nbf-future", "iat-future",
         "no-exp", "no-aud", "no-sub", "sub-not-uuid", "no-email", "bad-email", "long-email", "garbage"],
)
def test_bad_external_tokens_are_401(api_client, make, code):
    response = get(api_client, make())
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert set(response.json()["error"]) == {"code", "message"}
    assert not User.objects.exists()


def test_external_path_is_off_without_a_secret(api_client, settings):
    settings.SUPABASE_JWT_SECRET = None
    response = get(api_client, external_token())
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_invalid"


def test_our_tokens_are_tried_first_and_still_work(api_client):
    user = user_create()
    assert get(api_client, AccessToken.for_user(user)).json()["email"] == user.email
    assert stats_read()["external_sync_miss"] == 0


def test_our_expired_token_is_token_expired(api_client):
    from datetime import timedelta

    token = AccessToken.for_user(user_create())
    token.set_exp(lifetime=timedelta(seconds=-1))
    response = get(api_client, token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"


def test_token_of_deleted_user_is_invalid(api_client):
    user = user_create()
    token = AccessToken.for_user(user)
    user.delete()
    assert get(api_client, token).json()["error"]["code"] == "token_invalid"
