"""Two writers on one live session at once (PostgreSQL: SQLite's write lock serialises them anyway)."""

from __future__ import annotations

import threading
import time

import pytest

from accounts.tests.races import concurrently
from messaging import services
from messaging.models import LiveSession
from messaging.tests.factories import LiveSessionFactory, UserFactory, token_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

API = "/api/v1"


def test_a_patch_racing_an_invite_rotation_never_brings_the_old_code_back(monkeypatch):
    host = UserFactory()
    session = LiveSessionFactory(host=host)
    old_code = session.invite_code
    token = token_for(host)
    roles = iter(["patch", "rotate"])
    roles_lock = threading.Lock()
    role = threading.local()

    # The PATCH pauses right after its access check, long enough for the rotation to commit: without
    # the row lock it then saved the whole row it had read, old invite code included.
    check_access = services.session_get_for_host

    def slow_for_the_patch(**kwargs):
        found = check_access(**kwargs)
        if getattr(role, "name", "") == "patch":
            time.sleep(0.5)
        return found

    monkeypatch.setattr(services, "session_get_for_host", slow_for_the_patch)

    def request(client):
        with roles_lock:
            role.name = next(roles)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        if role.name == "patch":
            return role.name, client.patch(f"{API}/live_sessions/{session.pk}", {"title": "Renamed"}, format="json")
        time.sleep(0.1)  # the PATCH has read the row by now
        return role.name, client.post(f"{API}/live_sessions/{session.pk}/invite/rotate")

    results = dict(concurrently(request))

    assert results["patch"].status_code == 200 and results["rotate"].status_code == 200
    rotated = results["rotate"].json()["invite_code"]
    stored = LiveSession.objects.get(pk=session.pk)
    assert rotated != old_code
    assert (stored.invite_code, stored.title) == (rotated, "Renamed")
