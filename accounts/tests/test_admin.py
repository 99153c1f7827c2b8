"""The admin pages staff use: users with their profile inline, the read-only audit log."""

import pytest

from accounts.models import AuthEvent, Profile, User
from accounts.services import auth_event_record
from accounts.tests.factories import user_create

pytestmark = pytest.mark.django_db


def test_user_changelist_search_and_filters(staff_client):
    user_create(email="findme@example.com", display_name="Needle")
    user_create(email="ext@example.com", external_id="6f1c5b0e-1d2a-4c3b-9a8e-7f6d5c4b3a21")
    response = staff_client.get("/admin/accounts/user/", {"q": "needle"})
    assert response.status_code == 200
    assert b"findme@example.com" in response.content
    assert b"ext@example.com" not in response.content
    external = staff_client.get("/admin/accounts/user/", {"external": "yes"})
    assert b"ext@example.com" in external.content
    assert b"findme@example.com" not in external.content
    filtered = staff_client.get("/admin/accounts/user/", {"is_staff__exact": "1", "is_active__exact": "1"})
    assert filtered.status_code == 200


def test_user_change_page_has_the_profile_inline(staff_client):
    user = user_create()
    Profile.objects.filter(user=user).update(phone="+14155552671")
    response = staff_client.get(f"/admin/accounts/user/{user.pk}/change/")
    assert response.status_code == 200
    assert b"+14155552671" in response.content
    assert b"emergency_contact_name" in response.content


def test_admin_add_user_gets_a_profile(staff_client):
    response = staff_client.post(
        "/admin/accounts/user/add/",
        {"email": "added@example.com", "usable_password": "true", "password1": "a fine passphrase 9",
         "password2": "a fine passphrase 9", "profile-TOTAL_FORMS": "0", "profile-INITIAL_FORMS": "0"},
    )
    assert response.status_code == 302, response.content[:2000]
    assert Profile.objects.filter(user__email="added@example.com").count() == 1


def test_admin_add_user_with_the_profile_filled_in_stores_that_profile(staff_client):
    response = staff_client.post(
        "/admin/accounts/user/add/",
        {"email": "added@example.com", "usable_password": "true", "password1": "a fine passphrase 9",
         "password2": "a fine passphrase 9", "profile-TOTAL_FORMS": "1", "profile-INITIAL_FORMS": "0",
         "profile-0-bio": "Teaches chemistry", "profile-0-timezone": "Europe/Paris"},
    )
    assert response.status_code == 302, response.content[:2000]
    (profile,) = Profile.objects.filter(user__email="added@example.com")
    assert (profile.bio, profile.timezone) == ("Teaches chemistry", "Europe/Paris")


def test_audit_log_is_read_only_and_filterable(staff_client, rf):
    from django.contrib import admin

    event = auth_event_record(kind=AuthEvent.Kind.LOGIN_FAILED, email="who@example.com")
    auth_event_record(kind=AuthEvent.Kind.SIGNUP, email="other@example.com")
    listing = staff_client.get("/admin/accounts/authevent/", {"kind__exact": "login_failed"})
    assert listing.status_code == 200
    assert b"who@example.com" in listing.content
    assert b"other@example.com" not in listing.content
    assert b"/admin/accounts/authevent/add/" not in listing.content
    detail = staff_client.get(f"/admin/accounts/authevent/{event.pk}/change/")
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
    model_admin = admin.site.get_model_admin(AuthEvent)
    request = rf.get("/")
    request.user = User.objects.get(email="staff@example.com")  # a superuser: still no write permissions
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)


def test_audit_log_page_shows_the_sync_counters(staff_client):
    from accounts.stats import stat_incr

    for _ in range(3):
        stat_incr("external_sync_hit")
    stat_incr("external_sync_miss")
    page = staff_client.get("/admin/accounts/authevent/").content.decode()
    assert "external_sync_hit" in page
    assert "75.0%" in page
