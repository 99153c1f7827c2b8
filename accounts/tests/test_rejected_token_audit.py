"""Junk bearer tokens cannot flood the audit table: rows are limited per client IP and window."""

import types

import pytest

from accounts.models import AuthEvent

pytestmark = pytest.mark.django_db
PROFILE = "/api/v1/auth/profile"


@pytest.fixture
def clock(monkeypatch):
    """The window clock of the rejection audit, moved by hand."""
    import accounts.authentication as authentication

    now = [1_800_000_000.0]
    monkeypatch.setattr(authentication, "time", types.SimpleNamespace(time=lambda: now[0]))
    return now


def junk(client, n, *, ip="203.0.113.7", prefix="junk"):
    for i in range(n):
        response = client.get(PROFILE, HTTP_AUTHORIZATION=f"Bearer {prefix}-{i}", REMOTE_ADDR=ip)
        assert response.status_code == 401


def rows(ip="203.0.113.7"):
    return AuthEvent.objects.filter(kind="token_rejected", ip=ip)


def test_two_hundred_junk_tokens_from_one_ip_write_at_most_the_limit(api_client, settings, clock):
    settings.TOKEN_REJECTION_AUDIT_PER_IP = 10
    junk(api_client, 200)
    assert rows().count() == 10
    junk(api_client, 3, ip="198.51.100.2", prefix="other")  # another address has its own budget
    assert rows("198.51.100.2").count() == 3


def test_the_suppressed_count_is_written_once_when_the_window_rolls(api_client, settings, clock):
    settings.TOKEN_REJECTION_AUDIT_PER_IP = 5
    settings.TOKEN_REJECTION_AUDIT_WINDOW = 60
    junk(api_client, 50)
    clock[0] += 60
    junk(api_client, 2, prefix="later")
    summary = rows().filter(detail__startswith="rate_limited")
    assert summary.count() == 1
    assert "45 more rejected tokens" in summary.get().detail
    assert rows().count() == 5 + 1 + 2


def test_one_token_retried_is_still_one_row(api_client, clock):
    for _ in range(5):
        api_client.get(PROFILE, HTTP_AUTHORIZATION="Bearer same-junk", REMOTE_ADDR="203.0.113.7")
    assert rows().count() == 1
