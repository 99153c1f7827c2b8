"""Supabase sign-in never lands in a local account just because the email matches."""

import uuid

import pytest
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import SUPABASE_SECRET, external_token, user_create

pytestmark = pytest.mark.django_db
PROFILE = "/api/v1/auth/profile"
VICTIM = "victim@corp.com"


@pytest.fixture(autouse=True)
def supabase(settings):
    settings.SUPABASE_JWT_SECRET = SUPABASE_SECRET


def get(client, token, path=PROFILE):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


def signup(client, email, password="attacker's own password 1"):
    response = client.post("/api/v1/auth/signup", {"email": email, "password": password}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_attacker_presignup_does_not_capture_the_victims_supabase_sign_in(api_client):
    attacker = signup(api_client, VICTIM)
    victim_token = external_token(sub=uuid.uuid4(), email=VICTIM, email_verified=True)
    response = get(api_client, victim_token)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_conflict_unverified"
    account = User.objects.get(email=VICTIM)
    assert account.external_id is None  # not linked: the victim's data never goes where the attacker reads
    # The attacker's password session sees nothing the victim did, and it still is just the attacker's.
    assert get(api_client, attacker["access"]).json()["email"] == VICTIM
    assert User.objects.count() == 1


def test_unverified_token_email_is_never_linked_even_to_a_proven_account(api_client):
    user_create(email=VICTIM, email_verified_at=timezone.now())
    response = get(api_client, external_token(email=VICTIM))  # no email_verified claim
    assert response.status_code == 409
    assert User.objects.get(email=VICTIM).external_id is None


def test_user_metadata_email_verified_is_not_trusted_for_linking(api_client):
    # Any Supabase user writes user_metadata (supabase.auth.updateUser({data: {email_verified: true}})):
    # an attacker whose session carries the victim's unconfirmed address must not open the victim's account.
    user_create(email=VICTIM, email_verified_at=timezone.now())
    token = external_token(email=VICTIM, user_metadata={"email_verified": True})
    response = get(api_client, token)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_conflict_unverified"
    assert User.objects.get(email=VICTIM).external_id is None
    # Nor does it mark a fresh account's address as proven.
    assert get(api_client, external_token(email="fresh@corp.com", user_metadata={"email_verified": True}))\
        .status_code == 200
    assert User.objects.get(email="fresh@corp.com").email_verified_at is None


def test_top_level_email_verified_links_a_proven_account(api_client):
    user_create(email=VICTIM, email_verified_at=timezone.now())
    sub = uuid.uuid4()
    assert get(api_client, external_token(sub=sub, email=VICTIM, email_verified=True)).status_code == 200
    assert User.objects.get(email=VICTIM).external_id == sub


def test_supabase_emails_confirmed_setting_vouches_for_every_address(api_client, settings):
    settings.SUPABASE_EMAILS_CONFIRMED = True
    user_create(email=VICTIM, email_verified_at=timezone.now())
    sub = uuid.uuid4()
    assert get(api_client, external_token(sub=sub, email=VICTIM)).status_code == 200  # no claim at all
    assert User.objects.get(email=VICTIM).external_id == sub
    # Still only for signed-in users: another role is not vouched for.
    user_create(email="other@corp.com", email_verified_at=timezone.now())
    assert get(api_client, external_token(email="other@corp.com", role="anon")).status_code == 409


def test_a_token_for_another_role_is_not_trusted_for_linking(api_client):
    user_create(email=VICTIM, email_verified_at=timezone.now())
    response = get(api_client, external_token(email=VICTIM, email_verified=True, role="anon"))
    assert response.status_code == 409


def test_wrong_issuer_is_refused_when_supabase_url_is_set(api_client, settings):
    settings.SUPABASE_URL = "https://proj.supabase.co"
    assert get(api_client, external_token(iss="https://other.supabase.co/auth/v1")).status_code == 401
    assert get(api_client, external_token()).status_code == 401  # no iss at all
    assert get(api_client, external_token(iss="https://proj.supabase.co/auth/v1")).status_code == 200


def test_link_when_both_sides_proved_the_address_ends_the_password_and_its_sessions(api_client):
    user_create(email=VICTIM, password="the local password 123", email_verified_at=timezone.now())
    session = api_client.post("/api/v1/auth/login", {"email": VICTIM, "password": "the local password 123"},
                              format="json").json()
    sub = uuid.uuid4()
    assert get(api_client, external_token(sub=sub, email=VICTIM, email_confirmed_at="2024-01-01T00:00:00Z"))\
        .status_code == 200
    user = User.objects.get(email=VICTIM)
    assert user.external_id == sub
    assert not user.has_usable_password()
    login = api_client.post("/api/v1/auth/login", {"email": VICTIM, "password": "the local password 123"},
                            format="json")
    assert login.status_code == 401
    assert api_client.post("/api/v1/auth/refresh", {"refresh": session["refresh"]}, format="json").status_code == 401
    assert get(api_client, session["access"]).status_code == 401


def test_a_free_email_gets_its_own_account_marked_verified_only_when_the_token_says_so(api_client):
    assert get(api_client, external_token(email="fresh@corp.com", email_verified=True)).status_code == 200
    assert get(api_client, external_token(email="unproven@corp.com")).status_code == 200
    assert User.objects.get(email="fresh@corp.com").email_verified_at is not None
    assert User.objects.get(email="unproven@corp.com").email_verified_at is None


def test_local_signup_leaves_the_address_unproven(api_client):
    signup(api_client, "someone@corp.com")
    assert User.objects.get(email="someone@corp.com").email_verified_at is None
