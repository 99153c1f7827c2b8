"""Push notification channels (events.watch): create, renew before expiry, stop."""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from calendars.errors import CalendarAccessError, CalendarNotConnected, CalendarReauthRequired, GoogleUnavailable
from calendars.google.client import GoogleCalendarClient
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
