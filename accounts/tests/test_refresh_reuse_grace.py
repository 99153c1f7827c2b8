"""REFRESH_REUSE_GRACE_SECONDS: off by default (any reuse of a rotated refresh token ends every
session); when set, a token rotated moments ago whose session lives on (a lost response, two tabs
racing) is a plain 401 that revokes nothing, and past the window the reuse revokes everything."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts.models import AuthEvent
from accounts.tests.factories import PASSWORD, user_create

pytestmark = pytest.mark.django_db
EMAIL = "grace@example.com"


def login() -> dict:
    response = APIClient().post("/api/v1/auth/login", {"email": EMAIL, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def refresh(tokens: dict):
    return APIClient().post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json")


def alive(tokens: dict) -> bool:
    return APIClient().get("/api/v1/auth/profile", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}").status_code == 200


def age_blacklist(seconds: int) -> None:
    BlacklistedToken.objects.update(blacklisted_at=timezone.now() - timedelta(seconds=seconds))


def assert_token_invalid(response) -> None:
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_invalid"


def test_by_default_a_quick_reuse_still_revokes_every_session():
    user_create(email=EMAIL)
    tokens, other = login(), login()
    rotated = refresh(tokens).json()
    assert_token_invalid(refresh(tokens))
    assert not alive(rotated) and not alive(other)
    assert refresh(rotated).status_code == 401


def test_a_reuse_within_the_grace_window_revokes_nothing(settings):
    settings.REFRESH_REUSE_GRACE_SECONDS = 30
    user_create(email=EMAIL)
    tokens, other = login(), login()
    rotated = refresh(tokens).json()  # the response is lost, or another tab got it
    assert_token_invalid(refresh(tokens))
    assert alive(rotated) and alive(other)
    assert refresh(rotated).status_code == 200  # the session carries on with the pair that was issued
    assert AuthEvent.objects.get(kind="token_reused").detail == "within grace: kept"


def test_a_reuse_after_the_grace_window_revokes_every_session(settings):
    settings.REFRESH_REUSE_GRACE_SECONDS = 30
    user_create(email=EMAIL)
    tokens, other = login(), login()
    rotated = refresh(tokens).json()
    age_blacklist(31)
    assert_token_invalid(refresh(tokens))
    assert not alive(rotated) and not alive(other)
    assert refresh(rotated).status_code == 401


def test_a_logged_out_token_gets_no_grace(settings):
    settings.REFRESH_REUSE_GRACE_SECONDS = 30
    user_create(email=EMAIL)
    tokens, other = login(), login()
    assert APIClient().post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code == 204
    assert_token_invalid(refresh(tokens))  # the session ended: its token presented again is a replay
    assert not alive(other)
