"""Calendars: full-sync throughput and the cost of an incremental sync against many stored events.

Runs the production sync code in-process (django.setup()) against the fake Google server from
the test suite, on a scratch database: a SQLite file, or a PostgreSQL database created next to
the one DATABASE_URL names (and dropped afterwards). The work runs in a child process so its
settings never mix with another section's.

Figures:
- full sync of 10,000 events (events/s), beside fetching the same pages without storing them;
- an incremental sync carrying 10 changes with 10,000 events stored, beside the same with 1,000
  stored: the ratio should stay near 1.0 (the cost must not grow with the stored count).
"""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid

from bench.core import Row, bench_env, child_figures, scratch_database

SECTION = "calendars"
FULL_EVENTS = 10_000
SMALL_EVENTS = 1_000
CHANGES = 10
REPEATS = 15


def run(args) -> list[Row]:
    env = bench_env(DEBUG="true", LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="flashlearn.settings",
                    TOKEN_ENCRYPTION_KEY="bench-calendars-token-encryption-key")
    env.pop("DIRECT_DATABASE_URL", None)
    figures = child_figures(["bench.calendars"], env=env, timeout=600)
    backend = figures["backend"]
    return [
        Row(SECTION, f"full sync, {FULL_EVENTS:,} events ({backend})", figures["full_sync_eps"], "events/s",
            "same pages fetched, not stored", figures["fetch_only_eps"], True,
            f"{figures['pages']} pages of {figures['page_size']}"),
        Row(SECTION, f"incremental sync, {CHANGES} changes, {FULL_EVENTS:,} stored ({backend})",
            figures["incremental_large_ms"], "ms", f"same with {SMALL_EVENTS:,} stored",
            figures["incremental_small_ms"], False,
            f"median of {REPEATS}; SQL queries {figures['queries_large']} vs {figures['queries_small']}"),
    ]


# --- worker (child process) -------------------------------------------------------------------

def in_scratch_database(measure, **env: str) -> dict:
    """`measure()` with Django set up in this child process on a fresh, migrated scratch database
    (with `env` set too), which is dropped afterwards. The calendars and tasks benches run in it."""
    database_url, drop = scratch_database("bench_calendars")
    os.environ.update({"DATABASE_URL": database_url, **env})
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        return measure()
    finally:
        from django.db import connections

        connections.close_all()
        drop()


def fake_google_settings(base_url: str) -> dict[str, str]:
    """The settings that send the Google client to a FakeGoogle at `base_url` (names as in the environment)."""
    from calendars.tests.fakes.google import CLIENT_ID, CLIENT_SECRET

    return {"GOOGLE_CLIENT_ID": CLIENT_ID, "GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
            "GOOGLE_TOKEN_URI": f"{base_url}/token", "GOOGLE_REVOKE_URI": f"{base_url}/revoke",
            "GOOGLE_CALENDAR_API_ROOT": f"{base_url}/"}


def _worker() -> dict:
    return in_scratch_database(_measure)


def _measure() -> dict:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    from calendars import services
    from calendars.google.client import GoogleCalendarClient
    from calendars.models import CalendarSyncState
    from calendars.tests.factories import connection_create
    from calendars.tests.fakes.google import FakeGoogle

    google = FakeGoogle().start()
    try:
        for name, value in fake_google_settings(google.base_url).items():
            setattr(settings, name, value)
        settings.CALENDAR_WEBHOOK_BASE_URL = None
        users = get_user_model().objects
        big_user = users.create_user(email="big@bench.local", password=uuid.uuid4().hex)
        small_user = users.create_user(email="small@bench.local", password=uuid.uuid4().hex)
        big = connection_create(user=big_user, google=google, email="big@google.local")
        small = connection_create(user=small_user, google=google, email="small@google.local")
        google.add_events("big@google.local", FULL_EVENTS)
        google.add_events("small@google.local", SMALL_EVENTS)

        # Reference: the same pages fetched through the same client, nothing stored.
        client = GoogleCalendarClient(connection_id=big.pk)
        started = time.perf_counter()
        pages = 0
        fetched = 0
        params = {"singleEvents": "true", "maxResults": str(settings.CALENDAR_SYNC_PAGE_SIZE)}
        for page in client.events_pages("primary", params):
            pages += 1
            fetched += len(page.get("items") or [])
        fetch_seconds = time.perf_counter() - started
        client.close()

        started = time.perf_counter()
        result = services.connection_sync(connection_id=big.pk)
        full_seconds = time.perf_counter() - started
        assert result.created == FULL_EVENTS, result
        services.connection_sync(connection_id=small.pk)
        with db.cursor() as cursor:  # what autovacuum does after a bulk load; plans use the indexes then
            cursor.execute("ANALYZE")

        def incremental_round(connection, email: str, round_: int) -> tuple[float, int]:
            events = list(google.account(email).events)
            for n in range(4):
                google.update_event(email, events[round_ * 10 + n], summary=f"changed {round_}")
            for n in range(3):
                google.delete_event(email, events[round_ * 10 + 4 + n])
            for _ in range(3):
                google.add_event(email, summary="new")
            with CaptureQueriesContext(db) as captured:
                started = time.perf_counter()
                outcome = services.connection_sync(connection_id=connection.pk)
                elapsed = (time.perf_counter() - started) * 1000
            assert (outcome.created, outcome.updated, outcome.deleted) == (3, 4, 3), outcome
            return elapsed, len(captured.captured_queries)

        incremental_round(big, "big@google.local", 0)  # warm-up, not timed
        incremental_round(small, "small@google.local", 0)
        large, small_ = [], []
        for round_ in range(1, REPEATS + 1):  # interleaved, so drift hits both sides alike
            large.append(incremental_round(big, "big@google.local", round_))
            small_.append(incremental_round(small, "small@google.local", round_))
        large_ms, large_queries = statistics.median(t for t, _ in large), large[-1][1]
        small_ms, small_queries = statistics.median(t for t, _ in small_), small_[-1][1]
        assert CalendarSyncState.objects.filter(sync_token="").count() == 0
        return {
            "backend": db.vendor, "full_sync_eps": FULL_EVENTS / full_seconds,
            "fetch_only_eps": fetched / fetch_seconds,
            "pages": pages, "page_size": settings.CALENDAR_SYNC_PAGE_SIZE,
            "incremental_large_ms": large_ms, "incremental_small_ms": small_ms,
            "queries_large": large_queries, "queries_small": small_queries,
        }
    finally:
        google.stop()


if __name__ == "__main__":
    print(json.dumps(_worker()))
