"""Background work of the calendars app (Celery). Thin: each task calls one service.

`connection_sync` is the one entry point for a sync: the webhook, POST /calendars/sync, the admin
actions and the 10-minute schedule all queue it through `services.connection_sync_enqueue`.
It is safe to run twice (the connection's sync lease serialises runs; writes are upserts), so it
is acknowledged late and re-queued when its worker dies: a killed worker's sync runs again.
"""

from __future__ import annotations

import logging
from smtplib import SMTPException

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from calendars import services
from calendars.errors import CalendarAccessError, CalendarNotConnected, CalendarReauthRequired, GoogleUnavailable
from calendars.errors import SyncInProgress as SyncInProgressError
from calendars.google.channels import grant_release
from calendars.google.credentials import reauth_email_send as reauth_email_deliver
from calendars.models import CalendarConnection

logger = logging.getLogger("calendars.tasks")

SMALL_TASK = {"soft_time_limit": 50, "time_limit": 60}


@shared_task(
    bind=True, name="calendars.connection_sync", acks_late=True, reject_on_worker_lost=True,
    autoretry_for=(GoogleUnavailable,), retry_backoff=settings.CALENDAR_SYNC_RETRY_BACKOFF,
    retry_backoff_max=settings.CALENDAR_SYNC_RETRY_BACKOFF_MAX, retry_jitter=True,
    max_retries=settings.CALENDAR_SYNC_TASK_MAX_RETRIES,
    soft_time_limit=settings.CALENDAR_SYNC_TASK_TIME_LIMIT - 30, time_limit=settings.CALENDAR_SYNC_TASK_TIME_LIMIT,
)
def connection_sync(self, connection_id: int, full: bool = False, requeued: bool = False) -> dict:
    """Google outages (GoogleUnavailable) retry with jittered exponential backoff, at least as long as
    Google's Retry-After (flashlearn.celery.FlashlearnTask.retry); then the schedule takes over."""
    try:
        result = services.connection_sync(connection_id=connection_id, full=full, task_id=self.request.id)
    except CalendarConnection.DoesNotExist:
        return {"status": "gone"}
    except SyncInProgressError:
        # Another sync holds the lease; it honours sync_requested_at before it ends. It may have just
        # checked it, so look once more a little later, then leave it to that sync.
        if not requeued and not self.request.is_eager:
            self.apply_async((connection_id,), {"full": full, "requeued": True},
                             countdown=settings.CALENDAR_SYNC_REQUEUE_SECONDS)
            return {"status": "requeued"}
        services.connection_sync_collapsed(connection_id=connection_id)
        return {"status": "collapsed"}
    except (CalendarAccessError, CalendarReauthRequired, CalendarNotConnected) as exc:
        # Retrying will not help: recorded on the connection (status, last_error, last_sync_result).
        return {"status": "failed", "code": exc.code}
    except SoftTimeLimitExceeded:
        services.connection_sync_result_record(connection_id=connection_id, result="time_limit")
        raise
    return {"status": "synced", **result.as_dict()}


@shared_task(name="calendars.sync_due", **SMALL_TASK)
def sync_due() -> int:
    """Every 10 minutes (beat): one connection_sync per due connection (backoff and reauth respected)."""
    return services.connections_sync_due()


@shared_task(name="calendars.channels_renew", **SMALL_TASK)
def channels_renew() -> int:
    """Hourly (beat): queue a sync for connections whose push channel expires soon; the sync renews it."""
    return services.channels_renew_due()


@shared_task(name="calendars.oauth_states_prune", **SMALL_TASK)
def oauth_states_prune() -> int:
    return services.oauth_states_prune()


@shared_task(
    bind=True, name="calendars.reauth_email_send", autoretry_for=(SMTPException, OSError), retry_backoff=60,
    retry_backoff_max=3600, retry_jitter=True, max_retries=8, acks_late=False, **SMALL_TASK,
)
def reauth_email_send(self, connection_id: int) -> None:
    """Its own task so a mail outage retries the email, not the sync. Acknowledged early: a worker
    dying mid-send must not mail the user twice."""
    reauth_email_deliver(connection_id=connection_id)


@shared_task(
    name="calendars.google_disconnect", acks_late=True, reject_on_worker_lost=True,
    autoretry_for=(GoogleUnavailable,), retry_backoff=60, retry_backoff_max=3600, retry_jitter=True, max_retries=8,
    **SMALL_TASK,
)
def google_disconnect(*, access_token_encrypted: str, refresh_token_encrypted: str, channels: list[list[str]]) -> None:
    """After a disconnect (already done in the database): stop the push channels and revoke the grant at
    Google, retried while Google is down. Safe to repeat, so acknowledged late."""
    grant_release(access_token_encrypted=access_token_encrypted, refresh_token_encrypted=refresh_token_encrypted,
                  channels=channels)
