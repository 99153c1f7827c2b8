"""Google event resources → CalendarEvent field values."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.dateparse import parse_datetime

_TEXT_LIMITS = {"time_zone": 64, "etag": 255, "status": 16}


def _when(value: dict | None, fallback_zone: str) -> tuple[datetime | None, bool, str]:
    """(instant, all_day, time zone) of a Google `start`/`end` object."""
    if not value:
        return None, False, ""
    zone_name = value.get("timeZone") or fallback_zone or ""
    if value.get("dateTime"):
        moment = parse_datetime(value["dateTime"])
        if moment is not None and moment.tzinfo is None:
            moment = moment.replace(tzinfo=_zone(zone_name))
        return moment, False, zone_name
    if value.get("date"):
        day = date.fromisoformat(value["date"])
        return datetime.combine(day, time.min, tzinfo=_zone(zone_name)), True, zone_name
    return None, False, zone_name


def _zone(name: str):
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def event_fields(item: dict, *, calendar_zone: str = "") -> dict:
    start, all_day, zone = _when(item.get("start"), calendar_zone)
    end, _, end_zone = _when(item.get("end"), calendar_zone)
    updated = parse_datetime(item["updated"]) if item.get("updated") else None
    fields = {
        "google_id": item["id"],
        "status": item.get("status") or "confirmed",
        "summary": item.get("summary") or "",
        "description": item.get("description") or "",
        "location": item.get("location") or "",
        "start": start,
        "end": end,
        "all_day": all_day,
        "time_zone": zone or end_zone,
        "recurring_event_id": item.get("recurringEventId") or "",
        "html_link": (item.get("htmlLink") or "")[:2048],
        "etag": item.get("etag") or "",
        "updated": updated,
    }
    for name, limit in _TEXT_LIMITS.items():
        fields[name] = fields[name][:limit]
    return fields
