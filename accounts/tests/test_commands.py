"""Operator commands: prune_auth_events and auth_stats."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import AuthEvent
from accounts.stats import stat_incr, stats_read

pytestmark = pytest.mark.django_db


def make_event(days_ago: float) -> AuthEvent:
    return AuthEvent.objects.create(kind="login_failed", created_at=timezone.now() - timedelta(days=days_ago))


def test_prune_deletes_only_older_events():
    old = [make_event(40), make_event(31)]
    recent = [make_event(29), make_event(0)]
    out = StringIO()
    call_command("prune_auth_events", "--days", "30", "--batch-size", "1", stdout=out)
    assert "deleted 2" in out.getvalue()
    assert set(AuthEvent.objects.values_list("pk", flat=True)) == {e.pk for e in recent}
    assert not AuthEvent.objects.filter(pk__in=[e.pk for e in old]).exists()


def test_prune_dry_run_deletes_nothing():
    make_event(100)
    out = StringIO()
    call_command("prune_auth_events", "--days", "30", "--dry-run", stdout=out)
    assert "1 events" in out.getvalue()
    assert AuthEvent.objects.count() == 1


def test_prune_refuses_zero_days():
    with pytest.raises(CommandError):
        call_command("prune_auth_events", "--days", "0")


def test_auth_stats_shows_hits_and_misses_and_resets():
    for _ in range(3):
        stat_incr("external_sync_hit")
    stat_incr("external_sync_miss")
    make_event(0)
    out = StringIO()
    call_command("auth_stats", "--reset", stdout=out)
    text = out.getvalue()
    assert "hits 3, misses 1, hit ratio 75.0%" in text
    assert "login_failed: 1" in text
    assert stats_read()["external_sync_hit"] == 0
