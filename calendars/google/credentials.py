"""Access tokens: read, refresh without races, revoke.

At most one refresh per connection at a time across threads and processes: the refresh runs
under `select_for_update` on the connection row, re-reads the row after taking the lock and
returns the token another worker just stored instead of refreshing again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from calendars.encryption import decrypt_token, encrypt_token
from calendars.errors import CalendarAccessError, CalendarNotConnected, CalendarReauthRequired, GoogleUnavailable
from calendars.models import CalendarConnection

logger = logging.getLogger("calendars.credentials")

EXPIRY_MARGIN = timedelta(seconds=60)
_UNUSABLE = {CalendarConnection.Status.NEEDS_REAUTH, CalendarConnection.Status.REVOKED}


class InvalidGrant(Exception):
    pass


def _still_valid(connection: CalendarConnection, token: str) -> bool:
    return bool(token) and connection.token_expires_at is not None and (
        connection.token_expires_at > timezone.now() + EXPIRY_MARGIN
    )


def _raise_unusable(connection: CalendarConnection) -> None:
    if connection.status == CalendarConnection.Status.REVOKED:
        raise CalendarNotConnected()
    if connection.status == CalendarConnection.Status.NEEDS_REAUTH:
        raise CalendarReauthRequired()


def access_token_for(*, connection_id: int, stale_token: str | None = None) -> str:
    """A usable access token; `stale_token` is one Google just rejected (forces a refresh unless replaced)."""
    connection = CalendarConnection.objects.only(
        "status", "access_token_encrypted", "token_expires_at"
    ).get(pk=connection_id)
    _raise_unusable(connection)
    token = decrypt_token(connection.access_token_encrypted)
    if token != stale_token and _still_valid(connection, token):
        return token
    return access_token_refresh(connection_id=connection_id, stale_token=stale_token or token)


def access_token_refresh(*, connection_id: int, stale_token: str | None) -> str:
    """Refresh under the row lock; skip when another worker already replaced `stale_token`."""
    needs_reauth = False
    with transaction.atomic():
        connection = CalendarConnection.objects.select_for_update().get(pk=connection_id)
        _raise_unusable(connection)
        current = decrypt_token(connection.access_token_encrypted)
        if current and current != stale_token and _still_valid(connection, current):
            return current
        refresh_token = decrypt_token(connection.refresh_token_encrypted)
        try:
            if not refresh_token:
                raise InvalidGrant()
            payload = refresh_grant(refresh_token)
        except InvalidGrant:
            _mark_needs_reauth(connection, "Google revoked or expired the authorization (invalid_grant).")
            needs_reauth = True
        else:
            connection.access_token_encrypted = encrypt_token(payload["access_token"])
            connection.token_expires_at = timezone.now() + timedelta(seconds=int(payload.get("expires_in") or 3600))
            if payload.get("refresh_token"):  # Google may rotate it; a response without one keeps ours
                connection.refresh_token_encrypted = encrypt_token(payload["refresh_token"])
            if payload.get("scope"):
                connection.scopes = payload["scope"]
            connection.token_refreshed_at = timezone.now()
            connection.save(update_fields=[
                "access_token_encrypted", "token_expires_at", "refresh_token_encrypted", "scopes",
                "token_refreshed_at", "updated_at",
            ])
            logger.info("access token refreshed", extra={"connection_id": connection_id})
            return payload["access_token"]
    if needs_reauth:
        raise CalendarReauthRequired()
    raise AssertionError("unreachable")


def refresh_grant(refresh_token: str) -> dict:
    try:
        response = requests.post(
            settings.GOOGLE_TOKEN_URI,
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": settings.GOOGLE_CLIENT_ID,
                "client_secret": settings.GOOGLE_CLIENT_SECRET,
            },
            timeout=settings.CALENDAR_HTTP_TIMEOUT,
        )
    except requests.RequestException:
        raise GoogleUnavailable(retry_after=30) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):  # a proxy's or a broken endpoint's JSON list/string
        body = {}
    if response.status_code == 200 and body.get("access_token"):
        return body
    error = body.get("error")
    if error == "invalid_grant":
        raise InvalidGrant()
    if response.status_code >= 500 or response.status_code == 429:
        raise GoogleUnavailable(retry_after=30)
    logger.error("token refresh refused", extra={"status": response.status_code, "oauth_error": error})
    raise CalendarAccessError(f"Google's token endpoint refused the refresh ({error or response.status_code}).")


def _mark_needs_reauth(connection: CalendarConnection, message: str) -> None:
    """Called with the row locked: flag it, drop dead tokens, email the user once (after commit)."""
    first_notice = connection.reauth_notified_at is None
    connection.status = CalendarConnection.Status.NEEDS_REAUTH
    connection.last_error = message
    connection.access_token_encrypted = ""
    connection.refresh_token_encrypted = ""
    connection.token_expires_at = None
    connection.next_retry_at = None
    if first_notice:
        connection.reauth_notified_at = timezone.now()
    connection.save(update_fields=[
        "status", "last_error", "access_token_encrypted", "refresh_token_encrypted", "token_expires_at",
        "next_retry_at", "reauth_notified_at", "updated_at",
    ])
    logger.warning("calendar needs reauthorization", extra={"connection_id": connection.pk})
    if first_notice:
        connection_id = connection.pk
        # Its own task (calendars.reauth_email_send, retried on mail errors), queued after commit;
        # robust: a broker or, in eager mode, a mail outage is logged and never fails the sync.
        transaction.on_commit(lambda: _reauth_email_enqueue(connection_id), robust=True)


def _reauth_email_enqueue(connection_id: int) -> None:
    from calendars import tasks  # tasks import this module

    tasks.reauth_email_send.delay(connection_id)


def reconnect_url() -> str:
    return settings.CALENDAR_RECONNECT_URL or f"{settings.PUBLIC_BASE_URL.rstrip('/')}/settings/calendar"


def reauth_email_send(*, connection_id: int) -> None:
    """Mail the user a reconnect link. Raises on a mail error: the task retries it with backoff."""
    connection = CalendarConnection.objects.select_related("user").get(pk=connection_id)
    if connection.status != CalendarConnection.Status.NEEDS_REAUTH:
        return  # reconnected while the email waited for a retry
    account = connection.account_email or "your Google account"
    send_mail(
        subject="Reconnect your Google Calendar to Flashlearn",
        message=(
            f"Hello,\n\nGoogle stopped accepting Flashlearn's access to the calendar of {account}, so your "
            "calendar is no longer syncing. This happens when access is revoked, the password changes or "
            f"the connection goes unused for months.\n\nReconnect it here: {reconnect_url()}\n\n"
            "Until then, new events will not appear in Flashlearn.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[connection.user.email],
    )


def token_revoke(token: str) -> bool:
    """Revoke at Google (a refresh token revokes its access tokens too). False when Google was unreachable."""
    if not token:
        return True
    try:
        response = requests.post(settings.GOOGLE_REVOKE_URI, data={"token": token},
                                 timeout=settings.CALENDAR_HTTP_TIMEOUT)
    except requests.RequestException:
        logger.warning("token revocation failed: Google unreachable")
        return False
    # 400 invalid_token: already revoked or expired, which is what we wanted.
    return response.status_code in (200, 400)
