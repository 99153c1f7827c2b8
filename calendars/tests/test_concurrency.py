"""Races, with real threads against PostgreSQL: one token refresh, one sync, no duplicate rows."""

from __future__ import annotations

import pytest

from accounts.tests.races import run_together
from calendars import services
from calendars.errors import SyncInProgress
from calendars.google.credentials import access_token_for
from calendars.google.sync import SyncResult, _store_page
from calendars.models import CalendarEvent, CalendarSyncState

EMAIL = "ada.google@example.com"
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def refresh_calls(google) -> int:
    return sum(1 for c in google.calls("token") if c["form"].get("grant_type") == "refresh_token")


def test_concurrent_token_reads_refresh_once(google, user):
    from calendars.tests.factories import connection_create

    connection = connection_create(user=user, google=google, expires_in=0)
    google.token_delay = 0.3  # a slow token endpoint: without the row lock every thread would refresh

    tokens = run_together(*[lambda: access_token_for(connection_id=connection.pk)] * 4)

    assert refresh_calls(google) == 1
    assert all(isinstance(t, str) for t in tokens) and len(set(tokens)) == 1


def test_two_concurrent_syncs_refresh_once_and_store_no_duplicates(google, user):
    from calendars.tests.factories import connection_create

    connection = connection_create(user=user, google=google, expires_in=0)
    google.add_events(EMAIL, 600)
    google.token_delay = 0.3

    outcomes = run_together(*[lambda: services.connection_sync(connection_id=connection.pk)] * 2)

    assert refresh_calls(google) == 1
    finished = [o for o in outcomes if isinstance(o, SyncResult)]
    assert finished and all(isinstance(o, SyncResult | SyncInProgress) for o in outcomes), outcomes
    assert sum(o.created for o in finished) == 600
    assert CalendarEvent.objects.count() == 600
    assert CalendarEvent.objects.values("google_id").distinct().count() == 600


def test_concurrent_writers_of_one_page_never_duplicate(google, user):
    from calendars.tests.factories import connection_create

    connection = connection_create(user=user, google=google)
    state = CalendarSyncState.objects.create(connection=connection, calendar_id="primary")
    events = google.add_events(EMAIL, 300)
    page = {"items": [e.resource() for e in events]}

    outcomes = run_together(*[lambda: _store_page(state=state, page=page, result=SyncResult(),
                                                  heartbeat=lambda: None)] * 3)

    assert outcomes == [None, None, None]
    assert CalendarEvent.objects.count() == 300


def test_racing_callbacks_with_one_state_connect_once(google, user):
    from urllib.parse import parse_qs, urlsplit

    from calendars.errors import OAuthStateInvalid
    from calendars.tests.test_oauth import consent

    callback = consent(services.oauth_start(user=user))
    query = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    google.token_delay = 0.2

    outcomes = run_together(*[lambda: services.oauth_complete(state=query["state"], code=query["code"])] * 3)

    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert sum(isinstance(o, OAuthStateInvalid) for o in outcomes) == 2
    assert len(google.calls("token")) == 1
