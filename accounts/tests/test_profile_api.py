"""GET/PATCH of the caller's profile."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Profile
from accounts.tests.factories import user_create

pytestmark = pytest.mark.django_db


def patch(client, body, path="/api/v1/auth/profile"):
    return client.patch(path, body, format="json")


@pytest.mark.parametrize("path", ["/api/v1/auth/profile", "/api/v1/auth/profile/", "/auth/profile", "/auth/profile/"])
def test_get_profile_on_every_path(auth_client, user, path):
    response = auth_client.get(path)
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == user.email
    assert body["phone"] == ""
    assert body["work_email"] is None
    assert body["date_of_birth"] is None


def test_profile_needs_auth(api_client):
    response = api_client.get("/api/v1/auth/profile")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_reading_a_missing_profile_shows_defaults_and_writes_nothing(auth_client, user):
    Profile.objects.filter(user=user).delete()
    with CaptureQueriesContext(connection) as queries:
        response = auth_client.get("/api/v1/auth/profile")
    assert response.status_code == 200
    body = response.json()
    assert (body["email"], body["bio"], body["work_email"]) == (user.email, "", None)
    assert body["updated_at"]  # when the account was made: the empty profile has not changed since
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []
    assert not Profile.objects.filter(user=user).exists()

    assert patch(auth_client, {"bio": "First words"}).status_code == 200  # the first write stores it
    assert Profile.objects.get(user=user).bio == "First words"
    assert auth_client.get("/api/v1/auth/profile").json()["bio"] == "First words"


def test_patch_normalises_every_field(auth_client, user):
    response = patch(auth_client, {
        "display_name": "  Ada L ",
        "bio": "Counts things.",
        "phone": "(415) 555-2671",
        "work_email": "Ada@Work.Example.com",
        "date_of_birth": "25/12/1990",
        "website": "example.com/ada",
        "linkedin": "@ada-lovelace",
        "twitter": "https://twitter.com/ada_l",
        "github": "github.com/ada",
        "timezone": "Europe/London",
        "emergency_contact_name": "Charles",
        "emergency_contact_phone": "+44 20 7946 0958",
        "emergency_contact_email": "Charles@Example.com",
    })
    assert response.status_code == 200, response.json()
    assert response.json() | {"updated_at": None} == {
        "email": user.email,
        "display_name": "Ada L",
        "bio": "Counts things.",
        "phone": "+14155552671",
        "work_email": "ada@work.example.com",
        "work_email_verified": False,
        "date_of_birth": "1990-12-25",
        "website": "https://example.com/ada",
        "linkedin": "https://www.linkedin.com/in/ada-lovelace",
        "twitter": "https://x.com/ada_l",
        "github": "https://github.com/ada",
        "timezone": "Europe/London",
        "emergency_contact_name": "Charles",
        "emergency_contact_phone": "+442079460958",
        "emergency_contact_email": "charles@example.com",
        "updated_at": None,
    }
    assert auth_client.get("/api/v1/auth/profile").json()["phone"] == "+14155552671"


def test_patch_is_atomic_one_bad_field_saves_nothing(auth_client, user):
    response = patch(auth_client, {"display_name": "Changed", "bio": "new", "date_of_birth": "03/04/2000"})
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert list(fields) == ["date_of_birth"]
    assert "Ambiguous" in fields["date_of_birth"][0]
    user.refresh_from_db()
    assert user.display_name == ""
    assert Profile.objects.get(user=user).bio == ""


def test_patch_reports_every_bad_field(auth_client):
    response = patch(auth_client, {"phone": "12", "website": "ftp://x.com", "github": "https://gitlab.com/a"})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"phone", "website", "github"}


def test_null_or_blank_clears(auth_client, user):
    patch(auth_client, {"phone": "+14155552671", "work_email": "a@b.example.com", "date_of_birth": "2000-01-02"})
    response = patch(auth_client, {"phone": "", "work_email": None, "date_of_birth": None})
    assert response.status_code == 200
    body = response.json()
    assert (body["phone"], body["work_email"], body["date_of_birth"]) == ("", None, None)


def test_claiming_a_work_email_someone_else_holds_looks_like_any_claim(auth_client, user):
    """PATCH /profile must not tell whether another account uses an address (it was a 409
    `work_email_taken`): a held address and a free one get the same answer, pending verification."""
    other = user_create(email="other@example.com")
    Profile.objects.filter(user=other).update(work_email="shared@work.example.com", work_email_verified=True)
    held = patch(auth_client, {"work_email": "Shared@Work.example.com", "bio": "x"}).json()
    free = patch(auth_client, {"work_email": "free@work.example.com", "bio": "x"}).json()
    assert (held["work_email"], held["work_email_verified"]) == ("shared@work.example.com", False)
    assert (free["work_email"], free["work_email_verified"]) == ("free@work.example.com", False)
    assert set(held) == set(free)
    assert Profile.objects.get(user=user).bio == "x"
    theirs = Profile.objects.get(user=other)
    assert (theirs.work_email, theirs.work_email_verified) == ("shared@work.example.com", True)


def test_changing_the_work_email_drops_its_verification(auth_client, user):
    patch(auth_client, {"work_email": "mine@work.example.com"})
    Profile.objects.filter(user=user).update(work_email_verified=True)
    assert patch(auth_client, {"bio": "unchanged address"}).json()["work_email_verified"] is True
    assert patch(auth_client, {"work_email": "Mine@Work.example.com"}).json()["work_email_verified"] is True
    assert patch(auth_client, {"work_email": "new@work.example.com"}).json()["work_email_verified"] is False


def test_two_accounts_cannot_both_hold_a_verified_work_email(user):
    from django.db import IntegrityError, transaction

    other = user_create(email="other@example.com")
    Profile.objects.filter(user=user).update(work_email="one@work.example.com", work_email_verified=True)
    Profile.objects.filter(user=other).update(work_email="one@work.example.com")  # pending: allowed
    with pytest.raises(IntegrityError), transaction.atomic():
        Profile.objects.filter(user=other).update(work_email_verified=True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"favourite_colour": "blue"}, "favourite_colour"),
        ({"email": "new@example.com"}, "email"),
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"bio": "x" * 2001}, "bio"),
        ({"emergency_contact_email": "nope"}, "emergency_contact_email"),
        ({"linkedin": "http://[::1/in/ada"}, "linkedin"),
    ],
)
def test_patch_refusals(auth_client, body, field):
    response = patch(auth_client, body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_sending_back_the_same_email_is_fine(auth_client, user):
    assert patch(auth_client, {"email": user.email.upper(), "bio": "hi"}).status_code == 200


def test_non_object_body_is_400(auth_client):
    response = auth_client.patch("/api/v1/auth/profile", ["a"], format="json")
    assert response.status_code == 400


def test_user_created_by_manager_has_a_profile(db):
    assert Profile.objects.filter(user=user_create(email="p@example.com")).exists()
