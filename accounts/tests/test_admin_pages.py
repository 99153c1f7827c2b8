"""The user admin stores what the API would store and links to everything about the user."""

from __future__ import annotations

import re

import pytest

from accounts.models import Profile, User

PASSWORD = "staff password 1"


@pytest.fixture
def member(db):
    user = User.objects.create_user(email="ada@example.com", password="ada password 123")
    Profile.objects.get_or_create(user=user)
    return user


def change_form_data(client, user: User, **profile) -> dict:
    """The user change form as the browser would post it, with `profile` values typed into the inline."""
    html = client.get(f"/admin/accounts/user/{user.pk}/change/").content.decode()
    data = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        data[name] = value
    for name in re.findall(r'<input type="checkbox" name="([^"]+)"[^>]*checked', html):
        data[name] = "on"
    data.update({"email": user.email, "display_name": user.display_name, "is_active": "on"})
    prefix = next(key.removesuffix("-TOTAL_FORMS") for key in data if key.endswith("-TOTAL_FORMS"))
    data.update({f"{prefix}-0-{name}": value for name, value in profile.items()})
    data.pop("_addanother", None)
    data.pop("_continue", None)
    return data


def save_profile(client, user, **profile):
    return client.post(f"/admin/accounts/user/{user.pk}/change/", change_form_data(client, user, **profile))


def test_a_phone_typed_nationally_is_stored_in_e164_as_the_api_stores_it(staff_client, member):
    response = save_profile(staff_client, member, phone="(415) 555-0199", emergency_contact_phone="+44 20 7946 0958")
    assert response.status_code == 302, response.content.decode()[-3000:]
    profile = Profile.objects.get(user=member)
    assert (profile.phone, profile.emergency_contact_phone) == ("+14155550199", "+442079460958")


def test_a_github_handle_the_api_accepts_is_accepted_and_made_canonical(staff_client, member):
    response = save_profile(staff_client, member, github="@ada-l", twitter="ada_l", linkedin="ada-lovelace",
                            website="example.com/ada", work_email="Ada@Work.Example.com")
    assert response.status_code == 302, response.content.decode()[-3000:]
    profile = Profile.objects.get(user=member)
    assert profile.github == "https://github.com/ada-l"
    assert profile.twitter == "https://x.com/ada_l"
    assert profile.linkedin == "https://www.linkedin.com/in/ada-lovelace"
    assert profile.website == "https://example.com/ada"
    assert profile.work_email == "ada@work.example.com"


def test_what_the_api_refuses_the_admin_refuses_with_the_same_message(staff_client, member, api_client):
    from rest_framework_simplejwt.tokens import AccessToken

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(member)}")
    bad = {"phone": "12", "github": "https://gitlab.com/ada", "timezone": "Mars/Olympus", "date_of_birth": "03/04/2000"}
    api_errors = api_client.patch("/api/v1/auth/profile", bad, format="json").json()["error"]["fields"]
    response = save_profile(staff_client, member, **bad)
    assert response.status_code == 200  # the form again, with errors
    html = response.content.decode()
    for field, messages in api_errors.items():
        for message in messages:
            assert message.replace("'", "&#x27;") in html, (field, message)
    assert Profile.objects.get(user=member).phone == ""


def test_the_user_page_links_to_credits_calendar_sessions_and_audit_events(staff_client, member):
    html = staff_client.get(f"/admin/accounts/user/{member.pk}/change/").content.decode()
    links = dict((label, url) for url, label in re.findall(r'<a href="(/admin/[^"]+\?[^"]+)">([^<]+)</a>', html))
    for label in ("credits", "credit ledger", "calendar connection", "sessions hosted", "sessions joined",
                  "audit events"):
        assert label in links, label
        assert links[label].endswith(f"={member.pk}")
        assert staff_client.get(links[label].replace("&amp;", "&")).status_code == 200, links[label]
    # the profile sits near the top: before the permissions fieldset
    assert html.index("Profile") < html.index("Permissions")
