"""Exponential backoff with full jitter (AWS architecture blog), capped, honouring Retry-After."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from django.conf import settings


def full_jitter(attempt: int, *, base: float | None = None, cap: float | None = None) -> float:
    """A delay drawn uniformly from [0, min(cap, base * 2**attempt)] (attempt counts from 0)."""
    base = settings.CALENDAR_RETRY_BASE_SECONDS if base is None else base
    cap = settings.CALENDAR_RETRY_MAX_SECONDS if cap is None else cap
    return random.uniform(0, min(cap, base * (2 ** attempt)))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), None when absent or garbled."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def retry_delay(attempt: int, retry_after: float | None) -> float:
    """Wait before the next attempt: Retry-After when Google gave one, else full jitter."""
    if retry_after is not None:
        return retry_after
    return full_jitter(attempt)


def pause(seconds: float) -> None:
    """Sleep; tests shrink real sleeps with CALENDAR_RETRY_SLEEP_SCALE (the computed delay is unchanged)."""
    time.sleep(max(0.0, seconds) * settings.CALENDAR_RETRY_SLEEP_SCALE)
