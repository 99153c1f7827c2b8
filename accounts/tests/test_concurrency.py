"""Two writers at once, on PostgreSQL: the database decides, nobody gets a 500."""

import uuid

import pytest
from rest_framework.test import APIClient

from accounts.models import Profile, User
from accounts.tests.factories import PASSWORD, SUPABASE_SECRET, external_token, user_create
from accounts.tests.races import concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_signup_of_one_email_gives_201_and_409():
    for attempt in range(5):  # several rounds: the race has more than one interleaving
        email = f"race{attempt}@example.com"
        responses = concurrently(
            lambda c, email=email: c.post("/api/v1/auth/signup", {"email": email, "password": PASSWORD}, format="json")
        )
        assert sorted(r.status_code for r in responses) == [201, 409], responses
        conflict = next(r for r in responses if r.status_code == 409)
        assert conflict.json()["error"]["code"] == "email_taken"
        assert User.objects.filter(email=email).count() == 1
        assert Profile.objects.filter(user__email=email).count() == 1


def test_concurrent_refresh_of_one_token_gives_one_new_pair():
    user_create()
    tokens = APIClient().post(
        "/api/v1/auth/login", {"email": "grace@example.com", "password": PASSWORD}, format="json"
    ).json()
    responses = concurrently(lambda c: c.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json"))
    assert sorted(r.status_code for r in responses) == [200, 401], responses


def test_concurrent_first_sight_of_an_external_user_creates_one_user(settings):
    settings.SUPABASE_JWT_SECRET = SUPABASE_SECRET
    sub = uuid.uuid4()
    token = external_token(sub=sub, email="twice@example.com")
    responses = concurrently(lambda c: c.get("/api/v1/auth/profile", HTTP_AUTHORIZATION=f"Bearer {token}"), n=4)
    assert [r.status_code for r in responses] == [200] * 4, responses
    assert User.objects.filter(external_id=sub).count() == 1


def test_concurrent_first_profile_writes_create_one_profile():
    """Reads of a missing profile store nothing; the first PATCHes, racing, store exactly one."""
    user = user_create()
    Profile.objects.filter(user=user).delete()
    from rest_framework_simplejwt.tokens import AccessToken

    auth = {"HTTP_AUTHORIZATION": f"Bearer {AccessToken.for_user(user)}"}
    reads = concurrently(lambda c: c.get("/api/v1/auth/profile", **auth), n=4)
    assert [r.status_code for r in reads] == [200] * 4, reads
    assert not Profile.objects.filter(user=user).exists()
    writes = concurrently(lambda c: c.patch("/api/v1/auth/profile", {"bio": "racing"}, format="json", **auth), n=4)
    assert [r.status_code for r in writes] == [200] * 4, writes
    assert Profile.objects.filter(user=user).count() == 1
