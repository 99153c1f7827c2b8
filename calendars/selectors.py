"""Reads of the calendars app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from calendars.errors import CalendarNotConnected
from calendars.models import CalendarConnection, CalendarEvent, CalendarSyncState, PushChannel

if TYPE_CHECKING:
    from accounts.interface import User


def connection_get_for_user(*, user: User) -> CalendarConnection:
    connection = CalendarConnection.objects.filter(user=user, provider=CalendarConnection.Provider.GOOGLE).first()
    if connection is None:
        raise CalendarNotConnected()
    return connection


def connection_event_count(*, connection: CalendarConnection) -> int:
    return CalendarEvent.objects.filter(connection=connection).count()


def connection_calendars(*, connection: CalendarConnection) -> QuerySet[CalendarSyncState]:
    """The connection's calendars by id, each annotated with `push_channel_expires_at`, the expiry of
    its latest push channel (None without one): one query, however many calendars."""
    latest_channel = PushChannel.objects.filter(calendar=OuterRef("pk")).order_by("-expires_at")
    return (
        CalendarSyncState.objects.filter(connection=connection)
        .annotate(push_channel_expires_at=Subquery(latest_channel.values("expires_at")[:1]))
        .order_by("calendar_id")
    )


def event_list(*, user: User, start: datetime, end: datetime) -> QuerySet[CalendarEvent]:
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


@dataclass(frozen=True)
class ConnectionOverview:
    """What the connection endpoints show, loaded up front: the serializer only formats it."""

    connection: CalendarConnection
    event_count: int
    calendars: list[CalendarSyncState]
    sync: dict[str, Any]


def connection_overview(*, connection: CalendarConnection) -> ConnectionOverview:
    """The connection with its event count, its calendars (each with its push channel's expiry) and
    where sync stands: two queries, however many calendars and channels it has."""
    return ConnectionOverview(
        connection=connection,
        event_count=connection_event_count(connection=connection),
        calendars=list(connection_calendars(connection=connection)),
        sync=connection_sync_state(connection=connection),
    )


def connection_sync_state(*, connection: CalendarConnection) -> dict[str, Any]:
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
