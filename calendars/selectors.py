"""Reads of the calendars app."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from calendars.errors import CalendarNotConnected
from calendars.models import CalendarConnection, CalendarEvent, CalendarSyncState, PushChannel


def connection_get_for_user(*, user) -> CalendarConnection:
    connection = CalendarConnection.objects.filter(user=user, provider=CalendarConnection.Provider.GOOGLE).first()
    if connection is None:
        raise CalendarNotConnected()
    return connection


def connection_event_count(*, connection: CalendarConnection) -> int:
    return CalendarEvent.objects.filter(connection=connection).count()


def connection_calendars(*, connection: CalendarConnection) -> QuerySet[CalendarSyncState]:
    return CalendarSyncState.objects.filter(connection=connection).order_by("calendar_id")


def calendar_channel(*, state: CalendarSyncState) -> PushChannel | None:
    return state.channels.order_by("-expires_at").first()


def event_list(*, user, start: datetime, end: datetime) -> QuerySet[CalendarEvent]:
    """The user's synced events overlapping [start, end), by start time."""
    return CalendarEvent.objects.filter(
        connection__user=user, connection__provider=CalendarConnection.Provider.GOOGLE,
        start__lt=end, end__gt=start,
    ).order_by("start", "pk")


def connections_to_sync(*, email: str | None = None, include_backoff: bool = False) -> QuerySet[CalendarConnection]:
    """Connections a scheduled run should sync: usable ones whose failure backoff has passed."""
    connections = CalendarConnection.objects.select_related("user").filter(
        status__in=[CalendarConnection.Status.ACTIVE, CalendarConnection.Status.ERROR]
    )
    if email:
        connections = connections.filter(user__email__iexact=email)
    if not include_backoff:
        connections = connections.filter(Q(next_retry_at__isnull=True) | Q(next_retry_at__lte=timezone.now()))
    return connections.order_by("pk")


def connection_sync_state(*, connection: CalendarConnection) -> dict:
    """Where background sync stands: `running` while a worker holds the sync lease, `queued` while a
    task waits for a worker, else `idle`; with the last finished sync's result and time."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.CALENDAR_SYNC_QUEUED_STALE_SECONDS)
    if (connection.sync_lock_until and connection.sync_lock_until > now
            and connection.status != CalendarConnection.Status.REVOKED):
        state = "running"
    elif connection.sync_queued_at and connection.sync_queued_at > stale:
        state = "queued"
    else:
        state = "idle"
    return {
        "state": state,
        "queued_at": connection.sync_queued_at if state == "queued" else None,
        "last_result": connection.last_sync_result,
        "last_finished_at": connection.last_sync_finished_at,
    }
