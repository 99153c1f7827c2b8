"""Revocation follows the password hash and the account's state, whatever path changed them;
refresh-token reuse ends every session; the admin never shows a usable refresh token."""

import pytest
from django.contrib.auth.hashers import make_password
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import AuthEvent, User
from accounts.tests.factories import PASSWORD, user_create

pytestmark = pytest.mark.django_db
EMAIL = "grace@example.com"


def login(email=EMAIL, password=PASSWORD) -> dict:
    response = APIClient().post("/api/v1/auth/login", {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def refresh(tokens: dict):
    return APIClient().post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json")


def profile(tokens: dict):
    return APIClient().get("/api/v1/auth/profile", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")


def assert_dead(tokens: dict) -> None:
    assert profile(tokens).status_code == 401
    response = refresh(tokens)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_invalid"


def test_admin_password_form_revokes_every_token(staff_client):
    user = user_create()
    tokens = login()
    response = staff_client.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": "a brand new password 9", "password2": "a brand new password 9", "usable_password": "true"},
    )
    assert response.status_code == 302, response.content[:2000]
    assert_dead(tokens)
    assert login(password="a brand new password 9")["access"]


def test_set_password_and_save_revokes_every_token():
    """What `manage.py changepassword` and any script do."""
    user = user_create()
    tokens = login()
    user.set_password("another password 77")
    user.save()
    assert_dead(tokens)


def test_deactivation_revokes_tokens_and_reactivation_does_not_bring_them_back():
    user = user_create()
    tokens = login()
    user.is_active = False
    user.save()
    user.is_active = True
    user.save()
    assert_dead(tokens)
    assert login()["access"]


def test_a_stale_instance_cannot_resurrect_revoked_tokens():
    user = user_create()
    stale = User.objects.get(pk=user.pk)
    tokens = login()
    user.set_password("another password 77")
    user.save()
    stale.display_name = "Grace"
    stale.save()  # loaded before the password change
    assert_dead(tokens)


def test_api_password_change_keeps_the_new_pair_only(api_client):
    user_create()
    tokens = login()
    other_device = login()
    response = api_client.post(
        "/api/v1/auth/password", {"old_password": PASSWORD, "new_password": "a brand new password 9"},
        format="json", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}",
    )
    assert response.status_code == 200
    assert_dead(other_device)
    assert profile(response.json()).status_code == 200
    assert refresh(response.json()).status_code == 200


def test_a_hasher_upgrade_on_login_keeps_other_sessions():
    user = user_create()
    User.objects.filter(pk=user.pk).update(password=make_password(PASSWORD, hasher="pbkdf2_sha1"))
    tokens = login()
    login()  # upgrades the stored hash: same password, sessions stay
    assert not User.objects.get(pk=user.pk).password.startswith("pbkdf2_sha1$")
    assert profile(tokens).status_code == 200
    assert refresh(tokens).status_code == 200


def test_refresh_reuse_revokes_the_thiefs_descendant_and_access():
    user_create()
    victim = login()
    thief = refresh(victim).json()  # the thief rotates the stolen token first
    reuse = refresh(victim)  # the victim's client presents the same (now rotated) token
    assert reuse.status_code == 401
    assert_dead(thief)
    assert AuthEvent.objects.filter(kind="token_reused").count() == 1
    assert login()["access"]  # signing in again works


def test_logged_out_token_reuse_revokes_the_family_too():
    user_create()
    tokens = login()
    rotated = refresh(tokens).json()
    assert APIClient().post("/api/v1/auth/logout", {"refresh": rotated["refresh"]}, format="json").status_code == 204
    other = login()
    assert refresh(rotated).status_code == 401  # replaying a logged-out token
    assert_dead(other)


def test_raw_refresh_tokens_are_neither_stored_nor_shown_in_the_admin(staff_client):
    user_create()
    tokens = login()
    rotated = refresh(tokens).json()
    raw = rotated["refresh"]
    row = OutstandingToken.objects.order_by("-id").first()
    assert raw not in row.token and "." not in row.token
    for url in ("/admin/token_blacklist/outstandingtoken/",
                f"/admin/token_blacklist/outstandingtoken/{row.pk}/change/",
                "/admin/token_blacklist/blacklistedtoken/"):
        response = staff_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert raw not in html and tokens["refresh"] not in html
        assert raw.split(".")[2] not in html  # not even the signature
    assert row.jti in staff_client.get("/admin/token_blacklist/outstandingtoken/").content.decode()
