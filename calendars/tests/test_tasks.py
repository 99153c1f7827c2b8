"""Background sync on Celery, without a worker: what requests queue, and what the tasks do.

`broker_without_worker` publishes to an in-process broker that nothing consumes, so a request
that called Google would show it in the fake's log; the tasks themselves are run here by hand.
Real worker processes are in test_worker.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from smtplib import SMTPException

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from calendars import services, tasks
from calendars.errors import CalendarReauthRequired, SyncInProgress
from calendars.models import CalendarConnection, CalendarEvent, OAuthState, PushChannel
from calendars.tests.conftest import notification_headers
from calendars.tests.factories import connection_create
from flashlearn.tests.taskqueue import celery_conf

pytestmark = pytest.mark.django_db
EMAIL = "ada.google@example.com"
HOOK = "/api/v1/calendars/google/notifications"


def sync_messages(messages: list[dict]) -> list[list]:
    return [m["args"] for m in messages if m["task"] == "calendars.connection_sync"]


@pytest.fixture
def as_worker():
    """Run a task body as a worker would (not eager), so a retry or re-queue is published, not run."""
    started = []

    def run(task, *args, task_id: str = "task-1", **kwargs):
        task.push_request(id=task_id, retries=0, is_eager=False, called_directly=False, args=list(args),
                          kwargs=kwargs, delivery_info={"exchange": "", "routing_key": "flashlearn"})
        started.append(task)
        return task.run(*args, **kwargs)

    yield run
    for task in started:
        task.pop_request()


# --- Request paths: queue, never call Google --------------------------------------------------

def test_webhook_sync_api_and_admin_only_queue(google, watched_connection, api_client, auth_client, staff_client,
                                               broker_without_worker):
    google.add_events(EMAIL, 3)
    pk = watched_connection.pk

    hook = api_client.post(HOOK, **notification_headers())
    again = api_client.post(HOOK, **notification_headers())
    api = auth_client.post("/api/v1/calendars/sync", {}, format="json")
    admin = staff_client.post("/admin/calendars/calendarconnection/",
                              {"action": "force_full_resync", "_selected_action": [pk]}, follow=True)

    assert hook.status_code == 200 and hook.json() == {"status": "queued"}
    assert again.status_code == 200 and again.json() == {"status": "queued"}
    assert api.status_code == 202 and api.json()["state"] == "queued" and api.json()["queued_at"]
    assert "1 full resync queued" in admin.content.decode()
    assert google.requests == []  # not one call to Google (token endpoint included) on a request path
    # The burst collapsed: one incremental sync, plus the full resync the admin asked for.
    assert sync_messages(broker_without_worker()) == [[pk, False], [pk, True]]
    assert auth_client.get("/api/v1/calendars/connection").json()["sync"]["state"] == "queued"


def test_broker_down_is_a_503_and_nothing_is_marked_queued(google, watched_connection, api_client, auth_client):
    with celery_conf(task_always_eager=False, broker_url="redis://127.0.0.1:9/0"):
        hook = api_client.post(HOOK, **notification_headers())
        api = auth_client.post("/api/v1/calendars/sync")

    for response in (hook, api):  # Google retries a webhook answered 5xx
        assert response.status_code == 503 and response.json()["error"]["code"] == "task_queue_unavailable"
        assert response["Retry-After"]
    watched_connection.refresh_from_db()
    assert watched_connection.sync_queued_at is None


def test_a_lost_queued_marker_expires(google, connection, broker_without_worker, settings):
    CalendarConnection.objects.filter(pk=connection.pk).update(
        sync_queued_at=timezone.now() - timedelta(seconds=settings.CALENDAR_SYNC_QUEUED_STALE_SECONDS + 1))

    assert services.connection_sync_enqueue(connection_id=connection.pk) is True
    assert services.connection_sync_enqueue(connection_id=connection.pk) is False
    assert sync_messages(broker_without_worker()) == [[connection.pk, False]]


# --- The sync task --------------------------------------------------------------------------------

def test_google_outage_retries_no_sooner_than_retry_after(google, connection, broker_without_worker, as_worker):
    google.inject("events.list", 503, headers={"Retry-After": "120"}, times=5)
    before = datetime.now(UTC)

    with pytest.raises(Retry):
        as_worker(tasks.connection_sync, connection.pk)

    [retry] = broker_without_worker()
    assert retry["task"] == "calendars.connection_sync" and retry["args"] == [connection.pk]
    assert retry["retries"] == 1
    assert datetime.fromisoformat(retry["eta"]) >= before + timedelta(seconds=119)
    connection.refresh_from_db()
    assert connection.last_sync_result == "google_unavailable" and connection.sync_lock_owner == ""


def test_google_outage_without_retry_after_backs_off(google, connection, broker_without_worker, as_worker,
                                                     settings):
    settings.CALENDAR_RETRY_MAX_ATTEMPTS = 2
    google.inject("events.list", 500, times=5)
    before = datetime.now(UTC)

    with pytest.raises(Retry):
        as_worker(tasks.connection_sync, connection.pk)

    [retry] = broker_without_worker()
    # Never sooner than the client's own retry budget, never later than the backoff cap.
    eta = datetime.fromisoformat(retry["eta"])
    assert before + timedelta(seconds=settings.CALENDAR_RETRY_MAX_SECONDS - 1) <= eta
    assert eta <= before + timedelta(seconds=settings.CALENDAR_SYNC_RETRY_BACKOFF_MAX + 5)


def test_eager_mode_records_an_outage_instead_of_retrying_inline(google, connection):
    google.inject("events.list", 503, headers={"Retry-After": "120"}, times=5)

    assert services.connection_sync_enqueue(connection_id=connection.pk) is True

    assert len(google.calls("events.list")) == 1  # no inline retry ignoring the countdown
    connection.refresh_from_db()
    assert connection.last_sync_result == "google_unavailable" and connection.next_retry_at


def test_a_sync_finding_another_running_looks_once_more_then_leaves_it(google, connection, broker_without_worker,
                                                                       as_worker):
    CalendarConnection.objects.filter(pk=connection.pk).update(
        sync_lock_until=timezone.now() + timedelta(minutes=5), sync_lock_owner="other-task:1234",
        sync_queued_at=timezone.now())

    first = as_worker(tasks.connection_sync, connection.pk)
    [requeued] = broker_without_worker()
    second = as_worker(tasks.connection_sync, *requeued["args"], task_id="task-2", **requeued["kwargs"])

    assert first == {"status": "requeued"} and requeued["kwargs"] == {"full": False, "requeued": True}
    assert second == {"status": "collapsed"} and broker_without_worker() == []
    connection.refresh_from_db()
    assert connection.sync_requested_at is not None  # the running sync does one more round
    assert connection.sync_queued_at is None
    assert google.calls("events.list") == []


def test_a_redelivered_task_takes_over_its_dead_workers_lease(google, connection):
    google.add_events(EMAIL, 3)
    CalendarConnection.objects.filter(pk=connection.pk).update(
        sync_lock_until=timezone.now() + timedelta(minutes=10), sync_lock_owner="task-1:dead0000")

    with pytest.raises(SyncInProgress):
        services.connection_sync(connection_id=connection.pk, task_id="task-2")
    result = services.connection_sync(connection_id=connection.pk, task_id="task-1")

    assert result.created == 3
    connection.refresh_from_db()
    assert connection.sync_lock_owner == "" and connection.last_sync_result == "ok"


def test_the_first_copy_of_a_taken_over_task_writes_nothing_more(google, connection, monkeypatch):
    from calendars.google import sync as sync_module

    google.add_events(EMAIL, 600)  # three pages of 250
    real_store = sync_module._store_page
    pages = []

    def store_then_redelivered(**kwargs):
        real_store(**kwargs)
        pages.append(1)
        if len(pages) == 1:  # the broker hands the same task to another worker meanwhile
            CalendarConnection.objects.filter(pk=connection.pk).update(sync_lock_owner="task-1:newcopy0")

    monkeypatch.setattr(sync_module, "_store_page", store_then_redelivered)

    with pytest.raises(SyncInProgress):
        services.connection_sync(connection_id=connection.pk, task_id="task-1")

    assert CalendarEvent.objects.count() == 250 and len(pages) == 1


def test_the_task_reports_what_it_did(google, connection):
    google.add_events(EMAIL, 2)

    assert tasks.connection_sync.delay(connection.pk).get() == {
        "status": "synced", "created": 2, "updated": 0, "deleted": 0, "full_resync": True}
    CalendarConnection.objects.filter(pk=connection.pk).update(status="needs_reauth")
    assert tasks.connection_sync.delay(connection.pk).get() == {"status": "failed",
                                                                "code": "calendar_reauth_required"}
    assert tasks.connection_sync.delay(10**9).get() == {"status": "gone"}


# --- Schedules --------------------------------------------------------------------------------------

def test_due_syncs_queue_one_task_per_due_connection(google, user, django_user_model, broker_without_worker):
    def someone(name: str, **fields):
        other = django_user_model.objects.create_user(email=f"{name}@example.com", password="x" * 12)
        return connection_create(user=other, google=google, email=f"{name}.google@example.com", **fields)

    due = connection_create(user=user, google=google)
    failed_long_ago = someone("bo", status="error", next_retry_at=timezone.now() - timedelta(minutes=1))
    someone("cy", next_retry_at=timezone.now() + timedelta(minutes=5))
    someone("di", status="needs_reauth")
    someone("ed", status="revoked")
    someone("fi", sync_queued_at=timezone.now())  # already queued: not twice

    assert tasks.sync_due.apply().get() == 2

    assert sorted(sync_messages(broker_without_worker())) == [[due.pk, False], [failed_long_ago.pk, False]]
    assert google.requests == []


def test_channels_near_expiry_get_a_sync_that_renews_them(google, watched_connection, broker_without_worker):
    assert tasks.channels_renew.apply().get() == 0
    PushChannel.objects.update(expires_at=timezone.now() + timedelta(hours=2))

    assert tasks.channels_renew.apply().get() == 1

    assert sync_messages(broker_without_worker()) == [[watched_connection.pk, False]]


def test_expired_oauth_states_are_deleted(user):
    now = timezone.now()
    OAuthState.objects.create(nonce="old", user=user, code_verifier_encrypted="x", expires_at=now - timedelta(1))
    OAuthState.objects.create(nonce="live", user=user, code_verifier_encrypted="x", expires_at=now + timedelta(1))

    assert tasks.oauth_states_prune.delay().get() == 1

    assert list(OAuthState.objects.values_list("nonce", flat=True)) == ["live"]


# --- Reauth email ------------------------------------------------------------------------------------

class FailingMailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise SMTPException("mail server down")


def test_reauth_email_is_its_own_task_and_retries_on_mail_errors(google, connection, settings,
                                                                broker_without_worker, as_worker):
    CalendarConnection.objects.filter(pk=connection.pk).update(status="needs_reauth")
    settings.EMAIL_BACKEND = "calendars.tests.test_tasks.FailingMailBackend"

    with pytest.raises(Retry):
        as_worker(tasks.reauth_email_send, connection.pk)

    [retry] = broker_without_worker()
    assert retry["task"] == "calendars.reauth_email_send" and retry["args"] == [connection.pk]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    tasks.reauth_email_send.apply((connection.pk,))
    assert mail.outbox[0].to == ["ada@example.com"]


def test_reauth_email_is_queued_after_commit_and_a_mail_outage_does_not_fail_the_sync(
        google, connection, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "calendars.tests.test_tasks.FailingMailBackend"
    google.revoke_all(EMAIL)
    CalendarConnection.objects.filter(pk=connection.pk).update(token_expires_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(CalendarReauthRequired):
            services.connection_sync(connection_id=connection.pk)

    assert len(callbacks) == 1 and mail.outbox == []
    connection.refresh_from_db()
    assert connection.status == "needs_reauth" and connection.last_sync_result == "calendar_reauth_required"


# --- Disconnect ------------------------------------------------------------------------------------

def test_disconnect_answers_without_google_and_queues_the_release(google, watched_connection, auth_client,
                                                                  broker_without_worker):
    from calendars.encryption import decrypt_token

    access = decrypt_token(watched_connection.access_token_encrypted)
    refresh = decrypt_token(watched_connection.refresh_token_encrypted)

    response = auth_client.delete("/api/v1/calendars/connection")

    assert response.status_code == 204 and google.requests == []
    assert CalendarConnection.objects.get().status == "revoked" and not PushChannel.objects.exists()
    [release] = broker_without_worker()
    assert release["task"] == "calendars.google_disconnect"
    assert release["kwargs"]["channels"] == [["chan-1", google.account(EMAIL).resource_id]]
    message = str(release)
    assert access not in message and refresh not in message  # tokens travel encrypted, as stored


def test_release_task_stops_channels_with_a_refreshed_token_and_revokes(google, connection, as_worker, settings):
    from calendars.google.channels import channel_ensure
    from calendars.google.client import GoogleCalendarClient
    from calendars.models import CalendarSyncState

    settings.CALENDAR_WEBHOOK_BASE_URL = "https://hooks.example.test"
    state = CalendarSyncState.objects.create(connection=connection, calendar_id="primary")
    client = GoogleCalendarClient(connection_id=connection.pk)
    channel = channel_ensure(client=client, state=state)  # a live channel at Google
    client.close()
    google.expire_access_tokens()  # the stored access token has lapsed meanwhile

    as_worker(tasks.google_disconnect, access_token_encrypted=connection.access_token_encrypted,
              refresh_token_encrypted=connection.refresh_token_encrypted,
              channels=[[channel.channel_id, channel.resource_id]])

    assert google.channels[channel.channel_id]["stopped"] is True
    assert [c["form"]["grant_type"] for c in google.calls("token")] == ["refresh_token"]
    assert all(info["revoked"] for info in google.refresh_tokens.values())


def test_release_task_retries_while_google_is_down(google, connection, broker_without_worker, as_worker, settings):
    settings.GOOGLE_REVOKE_URI = "http://127.0.0.1:9/revoke"

    with pytest.raises(Retry):
        as_worker(tasks.google_disconnect, access_token_encrypted=connection.access_token_encrypted,
                  refresh_token_encrypted=connection.refresh_token_encrypted, channels=[])

    [retry] = broker_without_worker()
    assert retry["task"] == "calendars.google_disconnect" and retry["retries"] == 1
