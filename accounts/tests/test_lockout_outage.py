"""A password check that fails for another reason than the password (the database is down: 503)
gives its lockout reservation back: retries during an outage never lock the real user out."""

from unittest import mock

import pytest
from django.db import OperationalError
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import PASSWORD, user_create

pytestmark = pytest.mark.django_db
EMAIL = "grace@example.com"
OUTAGE_TRIES = 8  # more than either limit below


@pytest.fixture(autouse=True)
def limits(settings):
    settings.LOGIN_MAX_FAILURES = 3
    settings.LOGIN_IP_MAX_FAILURES = 5
    settings.LOGIN_LOCKOUT_SECONDS = 600


def login(password=PASSWORD):
    return APIClient().post("/api/v1/auth/login", {"email": EMAIL, "password": password}, format="json")


def test_login_retries_during_a_database_outage_do_not_lock_the_user_out():
    user_create(email=EMAIL)
    with mock.patch("accounts.services.authenticate", side_effect=OperationalError("database is down")):
        for _ in range(OUTAGE_TRIES):
            assert login().status_code == 503
    assert login().status_code == 200


def test_wrong_passwords_still_count_around_an_outage():
    user_create(email=EMAIL)
    with mock.patch("accounts.services.authenticate", side_effect=OperationalError("database is down")):
        assert login().status_code == 503
    for _ in range(3):
        assert login(password="wrong guess 1").status_code == 401
    assert login().status_code == 429


def test_password_change_retries_during_a_database_outage_do_not_lock_the_user_out():
    user_create(email=EMAIL)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login().json()['access']}")
    body = {"old_password": PASSWORD, "new_password": "a brand new password 42"}
    with mock.patch.object(User, "check_password", side_effect=OperationalError("database is down")):
        for _ in range(OUTAGE_TRIES):
            assert client.post("/api/v1/auth/password", body, format="json").status_code == 503
    assert client.post("/api/v1/auth/password", body, format="json").status_code == 200
    assert login(password="a brand new password 42").status_code == 200
