"""Admin: status columns, actions, and no token anywhere on the page."""

from __future__ import annotations

import pytest

from calendars.encryption import decrypt_token
from calendars.models import CalendarEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser(email="root@example.com", password="x" * 12)
    client.force_login(admin)
    return client


def test_changelist_and_change_page_show_state_but_no_tokens(google, connection, staff_client):
    secrets = [decrypt_token(connection.access_token_encrypted), decrypt_token(connection.refresh_token_encrypted),
               connection.access_token_encrypted, connection.refresh_token_encrypted]

    listing = staff_client.get("/admin/calendars/calendarconnection/")
    change = staff_client.get(f"/admin/calendars/calendarconnection/{connection.pk}/change/")

    assert listing.status_code == 200 and change.status_code == 200
    assert "ada.google@example.com" in listing.content.decode()
    for page in (listing.content.decode(), change.content.decode()):
        assert not any(secret in page for secret in secrets)


@pytest.mark.parametrize(("action", "full"), [("sync_now", False), ("force_full_resync", True)])
def test_actions_sync(google, connection, staff_client, action, full):
    google.add_events("ada.google@example.com", 2)

    response = staff_client.post("/admin/calendars/calendarconnection/",
                                 {"action": action, "_selected_action": [connection.pk]}, follow=True)

    assert response.status_code == 200
    assert CalendarEvent.objects.count() == 2
    assert "created 2" in response.content.decode()
