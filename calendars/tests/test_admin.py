"""Admin: status columns, actions, and no token anywhere on the page."""

from __future__ import annotations

import pytest

from calendars.encryption import decrypt_token
from calendars.models import CalendarEvent

pytestmark = pytest.mark.django_db


def test_changelist_and_change_page_show_state_but_no_tokens(google, connection, staff_client):
    secrets = [decrypt_token(connection.access_token_encrypted), decrypt_token(connection.refresh_token_encrypted),
               connection.access_token_encrypted, connection.refresh_token_encrypted]

    listing = staff_client.get("/admin/calendars/calendarconnection/")
    change = staff_client.get(f"/admin/calendars/calendarconnection/{connection.pk}/change/")

    assert listing.status_code == 200 and change.status_code == 200
    assert "ada.google@example.com" in change.content.decode()  # the list shows the user, the page the Google account
    for page in (listing.content.decode(), change.content.decode()):
        assert not any(secret in page for secret in secrets)


@pytest.mark.parametrize(("action", "message"), [("sync_now", "1 sync queued"),
                                                  ("force_full_resync", "1 full resync queued")])
def test_actions_queue_a_sync(google, connection, staff_client, action, message):
    google.add_events("ada.google@example.com", 2)

    response = staff_client.post("/admin/calendars/calendarconnection/",
                                 {"action": action, "_selected_action": [connection.pk]}, follow=True)

    assert response.status_code == 200
    assert message in response.content.decode()
    # Eager mode (no broker, as in these tests): the queued task ran inline.
    assert CalendarEvent.objects.count() == 2
    connection.refresh_from_db()
    assert connection.last_sync_result == "ok" and connection.sync_queued_at is None


def test_action_skips_connections_that_need_reconnecting(google, connection, staff_client):
    connection.status = "needs_reauth"
    connection.save()

    response = staff_client.post("/admin/calendars/calendarconnection/",
                                 {"action": "sync_now", "_selected_action": [connection.pk]}, follow=True)

    assert "0 syncs queued; 1 skipped (revoked or needs reconnecting)" in response.content.decode()
    assert google.calls("events.list") == []
