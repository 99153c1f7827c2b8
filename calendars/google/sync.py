"""One calendar's sync, following Google's documented protocol.

https://developers.google.com/calendar/api/guides/sync: a full sync lists the window without
showDeleted; later syncs send only the stored syncToken (never timeMin/timeMax/q/orderBy/
updatedMin, which Google rejects with it); every page is followed with the same query; the
nextSyncToken arrives on the last page and is saved only after every page is stored; a 410
drops the token and a full sync follows. Rows are written in batches, each in a short
transaction that also renews the connection's sync lease, so a lost lease writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from calendars.errors import SyncTokenExpired
from calendars.google.client import GoogleCalendarClient
from calendars.google.events import event_fields
from calendars.models import CalendarEvent, CalendarSyncState

logger = logging.getLogger("calendars.sync")

_UPDATE_FIELDS = [
    "status", "summary", "description", "location", "start", "end", "all_day", "time_zone",
    "recurring_event_id", "html_link", "etag", "updated", "generation",
]


@dataclass
class SyncResult:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    full_resync: bool = False

    def add(self, other: SyncResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.deleted += other.deleted
        self.full_resync = self.full_resync or other.full_resync

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "deleted": self.deleted,
                "full_resync": self.full_resync}


# Called inside each write transaction; raises when this worker no longer holds the sync lease.
Heartbeat = Callable[[], None]


def calendar_sync(*, client: GoogleCalendarClient, state: CalendarSyncState, full: bool,
                  heartbeat: Heartbeat) -> SyncResult:
    if full or not state.sync_token:
        return _full_sync(client=client, state=state, heartbeat=heartbeat)
    try:
        return _incremental_sync(client=client, state=state, heartbeat=heartbeat)
    except SyncTokenExpired:
        logger.info("sync token expired; full resync", extra={"calendar_state_id": state.pk})
        return _full_sync(client=client, state=state, heartbeat=heartbeat)


def _full_sync(*, client: GoogleCalendarClient, state: CalendarSyncState, heartbeat: Heartbeat) -> SyncResult:
    # A fresh generation per attempt: rows it does not stamp are gone at Google (or outside the window).
    CalendarSyncState.objects.filter(pk=state.pk).update(generation=F("generation") + 1, sync_token="")
    state.refresh_from_db(fields=["generation", "sync_token"])
    now = timezone.now()
    params = {
        "timeMin": (now - timedelta(days=settings.CALENDAR_SYNC_PAST_DAYS)).isoformat(),
        "timeMax": (now + timedelta(days=settings.CALENDAR_SYNC_FUTURE_DAYS)).isoformat(),
        "singleEvents": "true",
        "maxResults": str(settings.CALENDAR_SYNC_PAGE_SIZE),
    }
    result = SyncResult(full_resync=True)
    next_sync_token = ""
    for page in client.events_pages(state.calendar_id, params):
        _store_page(state=state, page=page, result=result, heartbeat=heartbeat)
        next_sync_token = page.get("nextSyncToken") or next_sync_token
    result.deleted += _delete_stale(state=state, heartbeat=heartbeat)
    _save_sync_token(state=state, token=next_sync_token, full=True, heartbeat=heartbeat)
    return result


def _incremental_sync(*, client: GoogleCalendarClient, state: CalendarSyncState,
                      heartbeat: Heartbeat) -> SyncResult:
    params = {
        "syncToken": state.sync_token,
        "singleEvents": "true",  # must match the full sync's query
        "maxResults": str(settings.CALENDAR_SYNC_PAGE_SIZE),
    }
    result = SyncResult()
    next_sync_token = ""
    for page in client.events_pages(state.calendar_id, params):
        _store_page(state=state, page=page, result=result, heartbeat=heartbeat)
        next_sync_token = page.get("nextSyncToken") or next_sync_token
    _save_sync_token(state=state, token=next_sync_token, full=False, heartbeat=heartbeat)
    return result


def _store_page(*, state: CalendarSyncState, page: dict, result: SyncResult, heartbeat: Heartbeat) -> None:
    items = page.get("items") or []
    zone = page.get("timeZone") or ""
    batch_size = max(1, settings.CALENDAR_SYNC_BATCH_SIZE)
    for offset in range(0, len(items), batch_size):
        chunk = items[offset:offset + batch_size]
        cancelled = [item["id"] for item in chunk if item.get("status") == "cancelled"]
        live: dict[str, dict] = {}
        for item in chunk:
            if item.get("status") != "cancelled":
                live[item["id"]] = event_fields(item, calendar_zone=zone)  # last copy wins
        with transaction.atomic():
            heartbeat()
            if cancelled:
                result.deleted += _delete_cancelled(state, cancelled)
            if live:
                _upsert(state, live, result)


def _calendar_events(state: CalendarSyncState):
    return CalendarEvent.objects.filter(connection_id=state.connection_id, calendar_id=state.calendar_id)


def _delete_cancelled(state: CalendarSyncState, google_ids: list[str]) -> int:
    # A cancelled recurring master takes its instances with it. Two queries, each on its own index.
    deleted, _ = _calendar_events(state).filter(google_id__in=google_ids).delete()
    instances, _ = _calendar_events(state).filter(recurring_event_id__in=google_ids).delete()
    return deleted + instances


def _upsert(state: CalendarSyncState, live: dict[str, dict], result: SyncResult) -> None:
    existing = dict(_calendar_events(state).filter(google_id__in=list(live)).values_list("google_id", "etag"))
    to_write, unchanged = [], []
    for google_id, fields in live.items():
        if google_id in existing and fields["etag"] and existing[google_id] == fields["etag"]:
            unchanged.append(google_id)
            continue
        if google_id in existing:
            result.updated += 1
        else:
            result.created += 1
        to_write.append(CalendarEvent(connection_id=state.connection_id, calendar_id=state.calendar_id,
                                      generation=state.generation, **fields))
    if to_write:
        # ON CONFLICT DO UPDATE: a row another writer inserted meanwhile is updated, never duplicated.
        CalendarEvent.objects.bulk_create(
            to_write, update_conflicts=True, unique_fields=["connection", "calendar_id", "google_id"],
            update_fields=_UPDATE_FIELDS,
        )
    if unchanged:
        _calendar_events(state).filter(google_id__in=unchanged).exclude(generation=state.generation).update(
            generation=state.generation
        )


def _delete_stale(*, state: CalendarSyncState, heartbeat: Heartbeat) -> int:
    deleted = 0
    batch_size = max(1, settings.CALENDAR_SYNC_BATCH_SIZE)
    while True:
        ids = list(_calendar_events(state).exclude(generation=state.generation).values_list("pk", flat=True)[
            :batch_size])
        if not ids:
            return deleted
        with transaction.atomic():
            heartbeat()
            count, _ = CalendarEvent.objects.filter(pk__in=ids).delete()
            deleted += count


def _save_sync_token(*, state: CalendarSyncState, token: str, full: bool, heartbeat: Heartbeat) -> None:
    now = timezone.now()
    values = {"sync_token": token, "last_synced_at": now}
    if full:
        values["full_synced_at"] = now
    with transaction.atomic():
        heartbeat()
        CalendarSyncState.objects.filter(pk=state.pk).update(**values)
    state.sync_token = token
    state.last_synced_at = now
