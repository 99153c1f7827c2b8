"""Writes of the calendars app: connect, sync, receive notifications, disconnect."""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from kombu.exceptions import OperationalError as BrokerError

from calendars.encryption import decrypt_token, encrypt_token
from calendars.errors import (
    CalendarAccessError,
    CalendarNotConnected,
    CalendarReauthRequired,
    GoogleNotConfigured,
    GoogleUnavailable,
    OAuthDenied,
    OAuthExchangeFailed,
    OAuthStateInvalid,
    SyncInProgress,
    SyncTokenExpired,
    TaskQueueUnavailable,
)
from calendars.google import oauth
from calendars.google.channels import channel_ensure
from calendars.google.client import GoogleCalendarClient
from calendars.google.sync import SyncResult, calendar_sync
from calendars.models import CalendarConnection, CalendarEvent, CalendarSyncState, OAuthState, PushChannel
from flashlearn.errors import DomainError, Forbidden, NotFound

if TYPE_CHECKING:
    from accounts.interface import User

logger = logging.getLogger("calendars.services")

_STATE_SALT = "calendars.google.oauth-state"
_DISCONNECT_OWNER = "disconnect"


class SyncLeaseLost(Exception):
    """Another worker (or a disconnect) took this connection's sync lease."""


# --- OAuth ------------------------------------------------------------------------------------

def oauth_start(*, user: User) -> str:
    """The Google consent URL; the state names the user, is signed, expires and works once."""
    if not settings.GOOGLE_CLIENT_ID or not settings.GOOGLE_CLIENT_SECRET:
        raise GoogleNotConfigured()
    nonce = secrets.token_urlsafe(24)
    state = signing.dumps({"n": nonce, "u": user.pk}, salt=_STATE_SALT, compress=False)
    url, code_verifier = oauth.authorization_url_build(state=state)
    now = timezone.now()
    OAuthState.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    OAuthState.objects.create(
        nonce=nonce, user=user, code_verifier_encrypted=encrypt_token(code_verifier),
        expires_at=now + timedelta(seconds=settings.CALENDAR_OAUTH_STATE_TTL_SECONDS),
    )
    return url


def _oauth_state_consume(state: str) -> OAuthState:
    """Check the signature and age, then claim the row with one conditional UPDATE: a replay finds it used."""
    try:
        data = signing.loads(state, salt=_STATE_SALT, max_age=settings.CALENDAR_OAUTH_STATE_TTL_SECONDS)
        nonce, user_id = str(data["n"]), int(data["u"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise OAuthStateInvalid() from None
    now = timezone.now()
    claimed = OAuthState.objects.filter(nonce=nonce, user_id=user_id, used_at__isnull=True,
                                        expires_at__gt=now).update(used_at=now)
    if claimed != 1:
        raise OAuthStateInvalid()
    return OAuthState.objects.select_related("user").get(nonce=nonce)


def oauth_complete(*, state: str, code: str | None, error: str | None = None) -> CalendarConnection:
    """The callback: the state (not a bearer header, which a browser redirect cannot carry) says who."""
    row = _oauth_state_consume(state or "")
    if error or not code:
        raise OAuthDenied(f"Google did not grant access ({error or 'no code'}).")
    grant = oauth.code_exchange(code=code, state=state, code_verifier=decrypt_token(row.code_verifier_encrypted))
    if not grant.account_email:
        grant.account_email = _primary_calendar_id(grant.access_token)
    return _connection_store(user=row.user, grant=grant)


def _primary_calendar_id(access_token: str) -> str:
    """The primary calendar's id is the account's email: the fallback when no ID token came back.
    Best effort: through the client (its retries and error handling), "" when Google will not say."""
    client = GoogleCalendarClient(access_token=access_token)
    try:
        calendar = client.calendar_get("primary")
    except (CalendarAccessError, GoogleUnavailable, SyncTokenExpired):
        return ""
    finally:
        client.close()
    return str(calendar.get("id") or "") if isinstance(calendar, dict) else ""


@transaction.atomic
def _connection_store(*, user: User, grant: oauth.TokenGrant) -> CalendarConnection:
    connection = (CalendarConnection.objects.select_for_update()
                  .filter(user=user, provider=CalendarConnection.Provider.GOOGLE).first())
    if connection is None:
        connection = CalendarConnection(user=user, provider=CalendarConnection.Provider.GOOGLE)
    elif connection.account_email and grant.account_email and connection.account_email != grant.account_email:
        # Another Google account: the old account's events and sync state are not this calendar's.
        CalendarEvent.objects.filter(connection=connection).delete()
        CalendarSyncState.objects.filter(connection=connection).delete()
    refresh_token = grant.refresh_token or decrypt_token(connection.refresh_token_encrypted)
    if not refresh_token:
        raise OAuthExchangeFailed("Google issued no refresh token. Connect again.")
    connection.account_email = grant.account_email or connection.account_email
    connection.access_token_encrypted = encrypt_token(grant.access_token)
    connection.refresh_token_encrypted = encrypt_token(refresh_token)
    connection.token_expires_at = grant.expires_at
    connection.scopes = " ".join(grant.scopes)
    connection.status = CalendarConnection.Status.ACTIVE
    connection.last_error = ""
    connection.consecutive_failures = 0
    connection.next_retry_at = None
    connection.reauth_notified_at = None
    connection.sync_lock_until = None
    connection.sync_lock_owner = ""
    connection.save()
    return connection


# --- Sync -------------------------------------------------------------------------------------

def _lease_claim(connection_id: int, owner: str, *, task_id: str | None = None) -> bool:
    """Take the lease when it is free or expired. A task redelivered after its worker died (same task
    id) takes its own lease over at once; the owner suffix changes, so a still-running first copy
    fails its next heartbeat and writes nothing more. Running clears the queued marker."""
    now = timezone.now()
    free = Q(sync_lock_until__isnull=True) | Q(sync_lock_until__lt=now)
    if task_id:
        free |= Q(sync_lock_owner__startswith=f"{task_id}:")
    return CalendarConnection.objects.filter(pk=connection_id).filter(free).update(
        sync_lock_until=now + timedelta(seconds=settings.CALENDAR_SYNC_LOCK_SECONDS), sync_lock_owner=owner,
        sync_queued_at=None,
    ) == 1


def _lease_renew(connection_id: int, owner: str) -> None:
    renewed = CalendarConnection.objects.filter(pk=connection_id, sync_lock_owner=owner).update(
        sync_lock_until=timezone.now() + timedelta(seconds=settings.CALENDAR_SYNC_LOCK_SECONDS)
    )
    if renewed != 1:
        raise SyncLeaseLost()


def _lease_release(connection_id: int, owner: str) -> None:
    CalendarConnection.objects.filter(pk=connection_id, sync_lock_owner=owner).update(
        sync_lock_until=None, sync_lock_owner=""
    )


def connection_sync(*, connection_id: int, full: bool = False, task_id: str | None = None) -> SyncResult:
    """Sync every configured calendar of a connection. Two syncs of one connection never overlap:
    the second raises SyncInProgress and leaves a request the running one honours before it ends.
    Called by the `calendars.connection_sync` task (`task_id` set) and by `sync_calendars --now`."""
    connection = CalendarConnection.objects.get(pk=connection_id)
    if connection.status == CalendarConnection.Status.REVOKED:
        raise CalendarNotConnected()
    if connection.status == CalendarConnection.Status.NEEDS_REAUTH:
        raise CalendarReauthRequired()
    owner = f"{task_id}:{uuid.uuid4().hex[:8]}" if task_id else uuid.uuid4().hex
    if not _lease_claim(connection_id, owner, task_id=task_id):
        CalendarConnection.objects.filter(pk=connection_id).update(sync_requested_at=timezone.now())
        raise SyncInProgress()
    client = GoogleCalendarClient(connection_id=connection_id)
    total = SyncResult()
    try:
        for _round in range(3):
            started = timezone.now()
            for calendar_id in settings.CALENDAR_SYNC_CALENDAR_IDS:
                state, _ = CalendarSyncState.objects.get_or_create(connection_id=connection_id,
                                                                   calendar_id=calendar_id)
                total.add(calendar_sync(client=client, state=state, full=full,
                                        heartbeat=lambda: _lease_renew(connection_id, owner)))
                _channel_ensure_quietly(client, state)
            full = False
            requested = CalendarConnection.objects.values_list("sync_requested_at", flat=True).get(pk=connection_id)
            if requested is None or requested < started:
                break
        _record_success(connection_id, owner)
        return total
    except SyncLeaseLost:
        status = CalendarConnection.objects.values_list("status", flat=True).get(pk=connection_id)
        if status == CalendarConnection.Status.REVOKED:
            raise CalendarNotConnected() from None
        raise SyncInProgress() from None
    except CalendarAccessError as exc:
        _record_failure(connection_id, exc.message, code=exc.code, permanent=True)
        raise
    except GoogleUnavailable as exc:
        _record_failure(connection_id, exc.message, code=exc.code, permanent=False)
        raise
    except CalendarReauthRequired as exc:  # the token refresh found the grant revoked
        connection_sync_result_record(connection_id=connection_id, result=exc.code)
        raise
    finally:
        client.close()
        _lease_release(connection_id, owner)  # no-op after _record_success released it


def connection_sync_enqueue(*, connection_id: int, full: bool = False) -> bool:
    """Queue a background sync; False when one is already queued (a burst of webhooks queues one task).

    Published at once, not on commit: the task reads rows committed long before, and a broker that is
    down then answers this request with a 503 (TaskQueueUnavailable) instead of losing the sync after
    commit. A queued marker older than CALENDAR_SYNC_QUEUED_STALE_SECONDS is taken for a lost message.
    A full resync is always queued. Without a broker (eager mode) the task runs here, inline.
    """
    from calendars import tasks  # tasks import this module

    now = timezone.now()
    waiting = CalendarConnection.objects.filter(pk=connection_id)
    if not full:
        stale = now - timedelta(seconds=settings.CALENDAR_SYNC_QUEUED_STALE_SECONDS)
        waiting = waiting.filter(Q(sync_queued_at__isnull=True) | Q(sync_queued_at__lt=stale))
    if waiting.update(sync_queued_at=now) != 1:
        return False
    try:
        tasks.connection_sync.delay(connection_id, full)
    except BrokerError as exc:
        CalendarConnection.objects.filter(pk=connection_id, sync_queued_at=now).update(sync_queued_at=None)
        logger.error("sync not queued: broker unreachable", extra={"connection_id": connection_id,
                                                                   "problem": type(exc).__name__})
        raise TaskQueueUnavailable() from None
    except DomainError as exc:  # eager mode only: the sync ran inline and failed; its outcome is stored
        logger.info("inline sync failed", extra={"connection_id": connection_id, "problem": exc.code})
    return True


def connection_sync_request(*, user: User, full: bool = False) -> CalendarConnection:
    """POST /calendars/sync: queue a sync of the user's connection and return it (its sync state).
    Refusals that need no call to Google are immediate: not connected (404), reconnect first (409)."""
    connection = CalendarConnection.objects.filter(user=user, provider=CalendarConnection.Provider.GOOGLE).first()
    if connection is None or connection.status == CalendarConnection.Status.REVOKED:
        raise CalendarNotConnected()
    if connection.status == CalendarConnection.Status.NEEDS_REAUTH:
        raise CalendarReauthRequired()
    connection_sync_enqueue(connection_id=connection.pk, full=full)
    connection.refresh_from_db()
    return connection


def connection_sync_result_record(*, connection_id: int, result: str) -> None:
    """Store the outcome of a sync that ended without _record_success/_record_failure (e.g. a time limit)."""
    CalendarConnection.objects.filter(pk=connection_id).update(
        last_sync_result=result[:64], last_sync_finished_at=timezone.now(), updated_at=timezone.now())


def connection_sync_collapsed(*, connection_id: int) -> None:
    """A queued sync found another running: the running one honours sync_requested_at, so this one is
    no longer waiting."""
    CalendarConnection.objects.filter(pk=connection_id).update(sync_queued_at=None)


def connections_sync_due() -> int:
    """The schedule (every 10 minutes): queue one task per usable connection whose backoff has passed."""
    from calendars import selectors

    queued = 0
    for connection_id in selectors.connections_to_sync().values_list("pk", flat=True).iterator():
        queued += connection_sync_enqueue(connection_id=connection_id)
    return queued


def channels_renew_due() -> int:
    """Queue a sync (which renews push channels) for usable connections whose channel expires within
    CALENDAR_CHANNEL_RENEW_MARGIN_SECONDS; connections in failure backoff are included."""
    renew_before = timezone.now() + timedelta(seconds=settings.CALENDAR_CHANNEL_RENEW_MARGIN_SECONDS)
    ids = (CalendarConnection.objects
           .filter(status__in=[CalendarConnection.Status.ACTIVE, CalendarConnection.Status.ERROR],
                   calendars__channels__expires_at__lt=renew_before)
           .values_list("pk", flat=True).distinct().order_by("pk"))
    return sum(connection_sync_enqueue(connection_id=connection_id) for connection_id in list(ids))


def oauth_states_prune() -> int:
    """Delete OAuth states past their expiry (used or not): they can never be consumed again."""
    deleted, _ = OAuthState.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted


def _channel_ensure_quietly(client: GoogleCalendarClient, state: CalendarSyncState) -> None:
    """Push is an optimisation: a refused watch (e.g. an unverified domain) must not fail the sync."""
    try:
        channel_ensure(client=client, state=state)
    except (CalendarAccessError, GoogleUnavailable) as exc:
        logger.warning("push channel not created", extra={"calendar_state_id": state.pk, "problem": exc.code})


def _record_success(connection_id: int, owner: str) -> None:
    """Mark the sync done and give the lease back in one statement (one commit fewer per sync)."""
    now = timezone.now()
    CalendarConnection.objects.filter(pk=connection_id, sync_lock_owner=owner).exclude(
        status__in=[CalendarConnection.Status.REVOKED, CalendarConnection.Status.NEEDS_REAUTH]
    ).update(status=CalendarConnection.Status.ACTIVE, last_synced_at=now, last_error="", consecutive_failures=0,
             next_retry_at=None, updated_at=now, sync_lock_until=None, sync_lock_owner="",
             last_sync_result="ok", last_sync_finished_at=now)


def _record_failure(connection_id: int, message: str, *, code: str, permanent: bool) -> None:
    """Count the failure and schedule the next scheduled attempt with capped exponential backoff."""
    with transaction.atomic():
        connection = CalendarConnection.objects.select_for_update().get(pk=connection_id)
        if connection.status in (CalendarConnection.Status.REVOKED, CalendarConnection.Status.NEEDS_REAUTH):
            return
        failures = connection.consecutive_failures + 1
        delay = min(settings.CALENDAR_FAILURE_BACKOFF_MAX_SECONDS, 60 * 2 ** min(failures - 1, 16))
        connection.consecutive_failures = failures
        connection.next_retry_at = timezone.now() + timedelta(seconds=delay)
        connection.last_error = message[:1000]
        connection.last_sync_result = code
        connection.last_sync_finished_at = timezone.now()
        if permanent:
            connection.status = CalendarConnection.Status.ERROR
        connection.save(update_fields=["consecutive_failures", "next_retry_at", "last_error", "status", "updated_at",
                                       "last_sync_result", "last_sync_finished_at"])


# --- Push notifications -----------------------------------------------------------------------

def notification_receive(*, channel_id: str, token: str, resource_state: str, resource_id: str = "") -> str:
    """Check the channel id and token; `sync` is acknowledged, `exists` queues an incremental sync.
    No call to Google here: Google wants a quick answer, and the worker does the sync."""
    channel = PushChannel.objects.select_related("calendar__connection").filter(channel_id=channel_id or "").first()
    if channel is None:
        raise NotFound("Unknown notification channel.", code="unknown_channel")
    if not constant_time_compare(token or "", channel.token):
        raise Forbidden("The channel token does not match.", code="invalid_channel_token")
    if resource_id and channel.resource_id and not constant_time_compare(resource_id, channel.resource_id):
        raise Forbidden("The resource id does not match the channel.", code="invalid_channel_token")
    if resource_state == "sync":
        return "acknowledged"
    if resource_state not in ("exists", "not_exists"):
        return "ignored"
    if channel.calendar.connection.status in (CalendarConnection.Status.REVOKED,
                                              CalendarConnection.Status.NEEDS_REAUTH):
        return "ignored"
    connection_sync_enqueue(connection_id=channel.calendar.connection_id)  # a burst collapses into one task
    return "queued"


# --- Disconnect -------------------------------------------------------------------------------

def connection_disconnect(*, user: User) -> None:
    """Delete tokens, events and sync state here; stopping push channels and revoking the grant at Google
    is a task (`calendars.google_disconnect`, retried), so the request never waits for Google. The task
    carries the tokens encrypted, as they were stored. A running sync loses its lease."""
    from calendars import tasks  # tasks import this module

    connection = CalendarConnection.objects.filter(user=user, provider=CalendarConnection.Provider.GOOGLE).exclude(
        status=CalendarConnection.Status.REVOKED).first()
    if connection is None:
        raise CalendarNotConnected()
    channels = [[c.channel_id, c.resource_id] for c in PushChannel.objects.filter(calendar__connection=connection)]
    if connection.status == CalendarConnection.Status.NEEDS_REAUTH:
        channels = []  # Google refuses this grant: the channels expire by themselves
    tokens = {"access_token_encrypted": connection.access_token_encrypted,
              "refresh_token_encrypted": connection.refresh_token_encrypted}
    CalendarConnection.objects.filter(pk=connection.pk).update(
        status=CalendarConnection.Status.REVOKED, access_token_encrypted="", refresh_token_encrypted="",
        token_expires_at=None, sync_lock_owner=_DISCONNECT_OWNER,
        sync_lock_until=timezone.now() + timedelta(seconds=settings.CALENDAR_SYNC_LOCK_SECONDS),
        last_error="", next_retry_at=None, consecutive_failures=0, updated_at=timezone.now(), sync_queued_at=None,
    )
    PushChannel.objects.filter(calendar__connection=connection).delete()
    if channels or tokens["access_token_encrypted"] or tokens["refresh_token_encrypted"]:
        try:
            tasks.google_disconnect.delay(channels=channels, **tokens)
        except (BrokerError, DomainError) as exc:  # broker down, or (eager mode) Google down: the grant
            # stays valid at Google until the user removes it there; the channels expire by themselves.
            logger.warning("disconnected locally; Google revocation failed",
                           extra={"connection_id": connection.pk, "problem": type(exc).__name__})
    batch_size = max(1, settings.CALENDAR_SYNC_BATCH_SIZE)
    events = CalendarEvent.objects.filter(connection=connection)
    while ids := list(events.values_list("pk", flat=True)[:batch_size]):
        with transaction.atomic():
            CalendarEvent.objects.filter(pk__in=ids).delete()
    CalendarSyncState.objects.filter(connection=connection).delete()
    _lease_release(connection.pk, _DISCONNECT_OWNER)
