"""Concurrent guesses against one account: the attempt is reserved before any hashing, so no
more than LOGIN_MAX_FAILURES passwords are ever evaluated, however many requests arrive at once.

Runs on both passes: the local-memory cache (one process) and Redis (shared by every worker)."""

import itertools
import threading

import pytest
from django.db import connections
from rest_framework.test import APIClient

from accounts.models import AuthEvent
from accounts.tests.factories import user_create
from accounts.tests.races import concurrently
from accounts.tests.spy_hashers import SLOW_SPY, SlowCountingHasher

pytestmark = pytest.mark.django_db(transaction=True)

GUESSES = 40
LIMIT = 5


@pytest.fixture(autouse=True)
def limits(settings):
    settings.LOGIN_MAX_FAILURES = LIMIT
    settings.LOGIN_IP_MAX_FAILURES = 1000  # the email's limit is the one under test
    settings.LOGIN_LOCKOUT_SECONDS = 600
    settings.PASSWORD_HASHERS = [SLOW_SPY]


@pytest.fixture(autouse=True)
def one_sqlite_writer(monkeypatch):
    """SQLite's shared in-memory test database refuses concurrent writers ("table is locked"): on
    that pass the audit rows are written one at a time. PostgreSQL takes them as they come."""
    if connections["default"].vendor != "sqlite":
        return
    from accounts import services

    lock = threading.Lock()
    record = services.auth_event_record

    def serialised(**kwargs):
        with lock:
            return record(**kwargs)

    monkeypatch.setattr(services, "auth_event_record", serialised)


def guess_concurrently(email: str, n: int) -> list:
    """n wrong guesses released together, each from its own address (the IP limit stays out of it)."""
    indexes = itertools.count()  # next() on a count is atomic under the GIL

    def guess(client):
        index = next(indexes)
        return client.post(
            "/api/v1/auth/login", {"email": email, "password": f"guess {index}"}, format="json",
            REMOTE_ADDR=f"10.0.{index // 200}.{index % 200 + 1}",
        )

    return concurrently(guess, n)


def test_forty_concurrent_guesses_evaluate_at_most_the_limit():
    user_create(email="target@example.com")
    SlowCountingHasher.calls = 0
    responses = guess_concurrently("target@example.com", GUESSES)
    codes = sorted(getattr(r, "status_code", repr(r)) for r in responses)
    print(f"{GUESSES} concurrent guesses, limit {LIMIT}: {SlowCountingHasher.calls} password evaluations")
    assert set(codes) <= {401, 429}, codes
    assert SlowCountingHasher.calls <= LIMIT, f"{SlowCountingHasher.calls} password evaluations"
    assert codes.count(401) == SlowCountingHasher.calls  # every evaluation was a counted failure
    refused = [r for r in responses if r.status_code == 429]
    assert all(r.json()["error"]["code"] == "too_many_attempts" and int(r["Retry-After"]) > 0 for r in refused)
    assert AuthEvent.objects.filter(kind="login_failed").count() == codes.count(401)
    assert AuthEvent.objects.filter(kind="lockout").count() == 1
    # and the account stays locked for the right password too
    locked = APIClient().post("/api/v1/auth/login", {"email": "target@example.com", "password": "x"}, format="json")
    assert locked.status_code == 429
    assert SlowCountingHasher.calls <= LIMIT
