"""Calendar sync in real `celery -A flashlearn worker` processes (PostgreSQL + Redis pass).

The worker is a subprocess on this run's Redis broker (keys under REDIS_PREFIX) and this run's
test database; the tests are transactional so it sees what they write. Google is the fake on
loopback, slowed down where a test needs a sync to be in flight.
"""

from __future__ import annotations

import pytest
from django.conf import settings

from calendars.models import CalendarConnection, CalendarEvent
from calendars.tests.conftest import notification_headers
from calendars.tests.fakes.google import CLIENT_ID, CLIENT_SECRET
from flashlearn.tests.taskqueue import CeleryWorker, celery_conf, queued_messages, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
EMAIL = "ada.google@example.com"
HOOK = "/api/v1/calendars/google/notifications"


@pytest.fixture
def redis_broker():
    """This process publishes to the run's Redis instead of running tasks inline."""
    with celery_conf(task_always_eager=False, broker_url=settings.REDIS_URL):
        queued_messages()  # leftovers of an earlier, interrupted run
        yield
        queued_messages()


@pytest.fixture
def start_worker(google, tmp_path):
    workers: list[CeleryWorker] = []
    base = google.base_url

    def start() -> CeleryWorker:
        worker = CeleryWorker(
            log=tmp_path / f"worker-{len(workers)}.log", broker_url=settings.REDIS_URL,
            GOOGLE_CLIENT_ID=CLIENT_ID, GOOGLE_CLIENT_SECRET=CLIENT_SECRET, GOOGLE_TOKEN_URI=f"{base}/token",
            GOOGLE_REVOKE_URI=f"{base}/revoke", GOOGLE_CALENDAR_API_ROOT=f"{base}/",
            TOKEN_ENCRYPTION_KEY=settings.TOKEN_ENCRYPTION_KEY, CALENDAR_SYNC_PAGE_SIZE="50",
            CALENDAR_SYNC_BATCH_SIZE="50", CALENDAR_RETRY_BASE_SECONDS="0.05", CALENDAR_RETRY_MAX_SECONDS="0.2",
            # A task a dead worker held is handed out again after 2 s (production: an hour).
            CELERY_BROKER_VISIBILITY_TIMEOUT="2", CELERY_BROKER_RESTORE_INTERVAL="1",
        )
        workers.append(worker.start())
        return worker

    yield start
    for worker in workers:
        worker.stop()


def synced(connection_id: int) -> bool:
    return CalendarConnection.objects.get(pk=connection_id).last_sync_result == "ok"


def stored_ids(connection_id: int) -> list[str]:
    return sorted(CalendarEvent.objects.filter(connection_id=connection_id).values_list("google_id", flat=True))


def google_ids(google) -> list[str]:
    return sorted(e.id for e in google.account(EMAIL).events.values() if e.status != "cancelled")


def test_a_webhook_leads_to_a_completed_sync_in_a_worker(google, watched_connection, api_client, redis_broker,
                                                         start_worker):
    google.add_events(EMAIL, 120)
    start_worker()

    response = api_client.post(HOOK, **notification_headers())

    assert response.status_code == 200 and response.json() == {"status": "queued"}
    wait_for(lambda: synced(watched_connection.pk), timeout=30, what="the worker's sync")
    assert stored_ids(watched_connection.pk) == google_ids(google)
    connection = CalendarConnection.objects.get(pk=watched_connection.pk)
    assert connection.sync_lock_owner == "" and connection.sync_queued_at is None


def test_a_sync_killed_mid_way_is_redelivered_and_completes_in_a_new_worker(google, connection, auth_client,
                                                                           redis_broker, start_worker):
    google.add_events(EMAIL, 600)  # 12 pages of 50
    google.delays["events.list"] = 0.3
    first = start_worker()

    assert auth_client.post("/api/v1/calendars/sync").status_code == 202
    wait_for(lambda: google.answered.count("events.list") >= 3, timeout=30, what="three pages synced")
    first.kill()

    listed_before = len(google.calls("events.list"))
    assert 0 < CalendarEvent.objects.filter(connection=connection).count() < 600
    assert not synced(connection.pk)
    google.delays.clear()
    start_worker()

    wait_for(lambda: synced(connection.pk), timeout=30, what="the redelivered sync")
    assert stored_ids(connection.pk) == google_ids(google)  # every event once: no duplicate, none missing
    restarted = google.calls("events.list")[listed_before]["query"]
    assert "pageToken" not in restarted and "timeMin" in restarted  # the same full sync, from its start
    assert CalendarConnection.objects.get(pk=connection.pk).sync_lock_owner == ""


def test_requests_answer_while_google_is_still_slow(google, watched_connection, api_client, auth_client, client,
                                                    django_user_model, redis_broker, start_worker):
    """No request waits for Google: each one has answered before the slow fake answered anything."""
    google.add_events(EMAIL, 5)
    client.force_login(django_user_model.objects.create_superuser(email="root@example.com", password="x" * 12))
    start_worker()
    google.delays["events.list"] = 5.0

    hook = api_client.post(HOOK, **notification_headers())
    wait_for(lambda: google.calls("events.list"), timeout=30, what="the worker to call Google")
    admin = client.post("/admin/calendars/calendarconnection/",
                        {"action": "sync_now", "_selected_action": [watched_connection.pk]}, follow=True)
    api = auth_client.post("/api/v1/calendars/sync", {"full": True}, format="json")

    assert "events.list" not in google.answered  # Google has not answered yet, and all three have
    assert hook.status_code == 200 and hook.json() == {"status": "queued"}
    assert api.status_code == 202 and api.json()["state"] == "running"
    assert admin.status_code == 200 and "1 sync queued" in admin.content.decode()
    google.delays.clear()  # the syncs queued meanwhile need not take 5 s each
    wait_for(lambda: synced(watched_connection.pk), timeout=40, what="the slow sync")
    assert stored_ids(watched_connection.pk) == google_ids(google)
