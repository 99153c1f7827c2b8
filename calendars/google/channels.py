"""Push notification channels (events.watch): create, renew before expiry, stop."""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import requests
from django.conf import settings
from django.utils import timezone

from calendars.encryption import decrypt_token
from calendars.errors import CalendarAccessError, CalendarNotConnected, CalendarReauthRequired, GoogleUnavailable
from calendars.google.client import GoogleCalendarClient
from calendars.google.credentials import InvalidGrant, refresh_grant, token_revoke
from calendars.models import CalendarSyncState, PushChannel

logger = logging.getLogger("calendars.channels")

NOTIFICATIONS_PATH = "/api/v1/calendars/google/notifications"


def webhook_address() -> str | None:
    base = settings.CALENDAR_WEBHOOK_BASE_URL
    return f"{base.rstrip('/')}{NOTIFICATIONS_PATH}" if base else None


def channel_ensure(*, client: GoogleCalendarClient, state: CalendarSyncState) -> PushChannel | None:
    """The calendar's live channel; a new one when none outlives the renewal margin (the old one is stopped)."""
    address = webhook_address()
    if not address:
        return None
    renew_before = timezone.now() + timedelta(seconds=settings.CALENDAR_CHANNEL_RENEW_MARGIN_SECONDS)
    current = state.channels.filter(expires_at__gt=renew_before).order_by("-expires_at").first()
    if current:
        return current
    old = list(state.channels.all())
    channel_id = uuid.uuid4().hex
    token = secrets.token_urlsafe(32)
    answer = client.events_watch(state.calendar_id, {
        "id": channel_id, "type": "web_hook", "address": address, "token": token,
        "params": {"ttl": str(settings.CALENDAR_CHANNEL_TTL_SECONDS)},
    })
    expires_at = timezone.now() + timedelta(seconds=settings.CALENDAR_CHANNEL_TTL_SECONDS)
    if answer.get("expiration"):
        expires_at = datetime.fromtimestamp(int(answer["expiration"]) / 1000, tz=UTC)
    channel = PushChannel.objects.create(calendar=state, channel_id=channel_id, token=token,
                                         resource_id=answer.get("resourceId") or "", expires_at=expires_at)
    for stale in old:
        channel_stop(client=client, channel=stale)
    return channel


def channel_stop(*, client: GoogleCalendarClient | None, channel: PushChannel) -> None:
    """Stop at Google (best effort: an unreachable Google lets the channel expire) and forget it."""
    if client is not None:
        try:
            client.channels_stop(channel_id=channel.channel_id, resource_id=channel.resource_id)
        except (CalendarAccessError, GoogleUnavailable, CalendarReauthRequired, CalendarNotConnected) as exc:
            logger.info("channel stop failed; it will expire", extra={"channel": channel.channel_id,
                                                                       "problem": type(exc).__name__})
    channel.delete()


def grant_release(*, access_token_encrypted: str, refresh_token_encrypted: str, channels: list[list[str]]) -> None:
    """After a disconnect: stop the push channels and revoke the grant at Google (the tokens come
    encrypted, as they were stored). Safe to repeat: a stopped channel answers 404 and a revoked token
    400, both fine. Raises GoogleUnavailable when Google should be asked again later."""
    access = decrypt_token(access_token_encrypted)
    refresh = decrypt_token(refresh_token_encrypted)
    root = settings.GOOGLE_CALENDAR_API_ROOT.rstrip("/") + "/calendar/v3/channels/stop"
    for channel_id, resource_id in channels:
        for attempt in range(2):
            try:
                response = requests.post(root, json={"id": channel_id, "resourceId": resource_id},
                                         headers={"Authorization": f"Bearer {access}"},
                                         timeout=settings.CALENDAR_HTTP_TIMEOUT)
            except requests.RequestException:
                raise GoogleUnavailable() from None
            if response.status_code == 401 and attempt == 0 and refresh:
                try:
                    access = refresh_grant(refresh)["access_token"]
                except InvalidGrant:
                    break  # the grant is dead already: its channels expire by themselves
                continue
            if response.status_code == 429 or response.status_code >= 500:
                raise GoogleUnavailable()
            break  # 2xx, or 4xx: stopped, unknown or expired; nothing more to do for this one
    if not token_revoke(refresh or access):
        raise GoogleUnavailable()
