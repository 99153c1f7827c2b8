"""Brute-force protection: per-email and per-IP lockout, refused before any hashing."""

import time

import pytest

from accounts import lockout
from accounts.models import AuthEvent
from accounts.stats import stats_read
from accounts.tests.factories import PASSWORD, user_create
from accounts.tests.spy_hashers import SPY, CountingMD5PasswordHasher
from flashlearn.rates import parse_rate
from flashlearn.redis import redis_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def limits(settings):
    settings.LOGIN_MAX_FAILURES = 3
    settings.LOGIN_IP_MAX_FAILURES = 5
    settings.LOGIN_LOCKOUT_SECONDS = 600


def login(client, email="grace@example.com", password=PASSWORD, ip="127.0.0.1"):
    return client.post("/api/v1/auth/login", {"email": email, "password": password}, format="json", REMOTE_ADDR=ip)


def test_email_locked_after_n_failures_whatever_the_password(api_client):
    user_create()
    for _ in range(3):
        assert login(api_client, password="wrong guess 1").status_code == 401
    locked = login(api_client)  # the right password, still refused
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "too_many_attempts"
    assert 590 <= int(locked["Retry-After"]) <= 600
    # another IP does not help for this email
    assert login(api_client, ip="10.1.1.1").status_code == 429
    assert AuthEvent.objects.filter(kind="lockout").count() == 1
    assert AuthEvent.objects.filter(kind="login_failed").count() == 3
    assert stats_read()["login_refused_locked"] == 2


def test_locked_attempt_never_calls_the_hasher(api_client, settings):
    settings.PASSWORD_HASHERS = [SPY]
    user_create()
    for _ in range(3):
        login(api_client, password="wrong guess 1")
    CountingMD5PasswordHasher.calls = 0
    assert login(api_client).status_code == 429
    assert login(api_client, email="nobody@example.com", ip="127.0.0.1", password="x").status_code in (401, 429)
    calls_after_locked_email = CountingMD5PasswordHasher.calls
    assert login(api_client, password="wrong guess 2").status_code == 429
    assert CountingMD5PasswordHasher.calls == calls_after_locked_email
    # and an unlocked attempt does hash: the spy can fail
    assert login(api_client, email="someone@example.com", ip="10.9.9.9").status_code == 401
    assert CountingMD5PasswordHasher.calls > calls_after_locked_email


def test_lockout_expires(api_client, monkeypatch):
    user_create()
    for _ in range(3):
        login(api_client, password="wrong guess 1")
    assert login(api_client).status_code == 429
    later = time.time() + 601
    monkeypatch.setattr(lockout.time, "time", lambda: later)
    assert login(api_client).status_code == 200


def test_ip_locked_across_emails(api_client):
    user_create()
    for n in range(5):
        assert login(api_client, email=f"victim{n}@example.com", ip="10.0.0.66").status_code == 401
    assert login(api_client, ip="10.0.0.66").status_code == 429
    assert login(api_client, ip="10.0.0.67").status_code == 200
    assert AuthEvent.objects.get(kind="lockout").detail == "ip"


def test_success_clears_the_email_failures(api_client):
    user_create()
    for _ in range(2):
        login(api_client, password="wrong guess 1", ip="10.0.0.1")
    assert login(api_client, ip="10.0.0.2").status_code == 200
    for _ in range(2):
        assert login(api_client, password="wrong guess 1", ip="10.0.0.3").status_code == 401
    assert login(api_client, ip="10.0.0.4").status_code == 200


def test_client_ip_behind_proxies(settings, rf):
    from accounts.request_meta import RequestMeta

    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7, 10.0.0.2", REMOTE_ADDR="10.0.0.1")
    assert RequestMeta.from_request(request).ip == "10.0.0.1"
    settings.CLIENT_IP_PROXY_COUNT = 2
    assert RequestMeta.from_request(request).ip == "203.0.113.7"  # the spoofable left part is ignored


@pytest.mark.parametrize(("rate", "expected"), [("20/hour", (20, 3600)), ("5/m", (5, 60)), ("100/day", (100, 86400))])
def test_parse_rate(rate, expected):
    assert parse_rate(rate) == expected


def test_parse_rate_rejects_nonsense():
    with pytest.raises(ValueError):
        parse_rate("lots")


@pytest.mark.redis
def test_counters_live_in_redis(settings):
    """With REDIS_URL the counters are shared by every worker: check they are really in Redis."""
    for _ in range(2):
        lockout.login_attempt_failed(lockout.login_attempt_begin(email="r@example.com", ip=None))
    keys = list(redis_client().scan_iter(f"{settings.REDIS_PREFIX}:cache:*accounts:fail:email:*"))
    assert len(keys) == 1


@pytest.mark.redis
def test_redis_counter_gets_its_expiry_atomically(settings):
    from flashlearn.counters import cache_incr

    assert [cache_incr("accounts:test:counter", timeout=120) for _ in range(3)] == [1, 2, 3]
    client = redis_client()
    key = next(client.scan_iter(f"{settings.REDIS_PREFIX}:cache:*accounts:test:counter"))
    assert 0 < client.ttl(key) <= 120
    client.persist(key)  # a key that lost its TTL is repaired by the next increment
    assert cache_incr("accounts:test:counter", timeout=120) == 4
    assert 0 < client.ttl(key) <= 120
    from django.core.cache import cache

    assert cache.get("accounts:test:counter") == 4  # readable through the normal cache API
