"""The admin's sign-in page shares the API's lockout and writes the same audit rows."""

import pytest

from accounts.models import AuthEvent, User
from accounts.tests.factories import PASSWORD, user_create
from accounts.tests.spy_hashers import SLOW_SPY, SlowCountingHasher

pytestmark = pytest.mark.django_db

STAFF_EMAIL = "root@example.com"


@pytest.fixture(autouse=True)
def production_limits(settings):
    settings.DEBUG = False
    settings.LOGIN_MAX_FAILURES = 5
    settings.LOGIN_IP_MAX_FAILURES = 20
    settings.LOGIN_LOCKOUT_SECONDS = 900


@pytest.fixture
def staff():
    return User.objects.create_superuser(email=STAFF_EMAIL, password=PASSWORD)


def admin_login(client, password, email=STAFF_EMAIL, ip="198.51.100.7"):
    return client.post("/admin/login/?next=/admin/", {"username": email, "password": password}, REMOTE_ADDR=ip)


def signed_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def test_thirty_wrong_passwords_lock_the_admin_sign_in(client, settings):
    settings.PASSWORD_HASHERS = [SLOW_SPY]
    User.objects.create_superuser(email=STAFF_EMAIL, password=PASSWORD)
    SlowCountingHasher.calls = 0
    responses = [admin_login(client, f"guess {n}") for n in range(30)]
    assert [r.status_code for r in responses] == [200] * 30  # the form again, never a redirect
    assert SlowCountingHasher.calls == 5  # only the first five were hashed
    assert b"Too many failed sign-in attempts" in responses[-1].content
    right = admin_login(client, PASSWORD)
    assert right.status_code == 200 and b"Too many failed sign-in attempts" in right.content
    assert not signed_in(client)
    assert AuthEvent.objects.filter(kind="login_failed", email=STAFF_EMAIL, detail="admin").count() == 5
    lockout = AuthEvent.objects.get(kind="lockout")
    assert (lockout.email, lockout.ip) == (STAFF_EMAIL, "198.51.100.7")
    assert not AuthEvent.objects.filter(kind="login_succeeded").exists()


def test_the_api_and_the_admin_share_one_counter(client, api_client, staff):
    for n in range(3):
        admin_login(client, f"guess {n}")
    for n in range(2):
        api_client.post("/api/v1/auth/login", {"email": STAFF_EMAIL, "password": f"api {n}"}, format="json")
    locked = api_client.post("/api/v1/auth/login", {"email": STAFF_EMAIL, "password": PASSWORD}, format="json")
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "too_many_attempts"


def test_successful_admin_sign_in_is_audited(client, staff):
    response = admin_login(client, PASSWORD)
    assert response.status_code == 302
    assert signed_in(client)
    event = AuthEvent.objects.get(kind="login_succeeded")
    assert (event.user, event.detail, event.ip) == (staff, "admin", "198.51.100.7")


def test_non_staff_with_the_right_password_is_refused_and_audited(client, api_client):
    user = user_create()
    response = admin_login(client, PASSWORD, email=user.email)
    assert response.status_code == 200 and not signed_in(client)
    assert AuthEvent.objects.filter(kind="login_failed", user=user, detail="admin: not staff").count() == 1
    # not counted as a wrong password: the API sign-in still works
    api = api_client.post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json")
    assert api.status_code == 200


def test_admin_sign_in_is_refused_while_the_cache_is_down(client, staff, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    response = admin_login(client, PASSWORD)
    assert response.status_code == 200
    assert b"temporarily unavailable" in response.content
    assert not AuthEvent.objects.exists()
