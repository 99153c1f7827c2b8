"""Password hashing itself, with the real hashers (the suite's default is a fast MD5 hasher)."""

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher as DjangoArgon2
from django.contrib.auth.hashers import PBKDF2PasswordHasher, identify_hasher

from accounts.models import User
from accounts.tests.factories import PASSWORD
from flashlearn.settings.accounts import PASSWORD_HASHERS as PRODUCTION_HASHERS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def production_hashers(settings):
    """The production list itself (test settings put a fast MD5 hasher in front of it)."""
    settings.PASSWORD_HASHERS = PRODUCTION_HASHERS


def test_production_hashes_new_passwords_as_argon2id_with_our_parameters(api_client):
    response = api_client.post("/api/v1/auth/signup", {"email": "h@example.com", "password": PASSWORD}, format="json")
    assert response.status_code == 201
    encoded = User.objects.get(email="h@example.com").password
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert identify_hasher(encoded).verify(PASSWORD, encoded)


@pytest.mark.parametrize(
    "old_hash",
    [
        lambda pw: PBKDF2PasswordHasher().encode(pw, "saltsaltsalt1234", iterations=1000),
        lambda pw: DjangoArgon2().encode(pw, "saltsaltsalt1234"),  # Django's default parameters
    ],
    ids=["pbkdf2", "argon2-other-parameters"],
)
def test_login_upgrades_old_hashes(api_client, old_hash):
    user = User.objects.create_user(email="old@example.com")
    User.objects.filter(pk=user.pk).update(password=old_hash(PASSWORD))
    response = api_client.post("/api/v1/auth/login", {"email": "old@example.com", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert user.check_password(PASSWORD)


def test_failed_login_does_not_touch_an_old_hash(api_client):
    user = User.objects.create_user(email="old@example.com")
    old = PBKDF2PasswordHasher().encode(PASSWORD, "saltsaltsalt1234", iterations=1000)
    User.objects.filter(pk=user.pk).update(password=old)
    response = api_client.post("/api/v1/auth/login", {"email": "old@example.com", "password": "nope"}, format="json")
    assert response.status_code == 401
    user.refresh_from_db()
    assert user.password == old
