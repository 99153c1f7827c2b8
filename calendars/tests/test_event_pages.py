"""The events list pages like every other list (docs/api.md "Conventions": `?page=`, `?page_size=`)."""

from datetime import UTC, datetime

import pytest

from calendars.models import CalendarEvent

pytestmark = pytest.mark.django_db

WINDOW = {"start": "2000-01-01T00:00:00Z", "end": "2000-12-31T00:00:00Z"}


def test_events_take_page_size_and_answer_the_shared_envelope(google, auth_client, connection):
    google.add_events(connection.account_email, 30)
    auth_client.post("/api/v1/calendars/sync")
    CalendarEvent.objects.update(start=datetime(2000, 6, 1, tzinfo=UTC), end=datetime(2000, 6, 1, 1, tzinfo=UTC))

    first = auth_client.get("/api/v1/calendars/events", {**WINDOW, "page_size": 7}).json()
    assert list(first) == ["count", "next", "previous", "results"]
    assert first["count"] == 30 and len(first["results"]) == 7 and first["previous"] is None
    last = auth_client.get("/api/v1/calendars/events", {**WINDOW, "page_size": 7, "page": 5}).json()
    assert len(last["results"]) == 2 and last["next"] is None
    capped = auth_client.get("/api/v1/calendars/events", {**WINDOW, "page_size": 1000}).json()
    assert len(capped["results"]) == 30
    assert auth_client.get("/api/v1/calendars/events", {**WINDOW, "page": 9}).status_code == 404
