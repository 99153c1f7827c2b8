"""Rate strings ("60/min") for the throttles; pure, so settings can check them at start-up."""

from __future__ import annotations

import re

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$", re.IGNORECASE)
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """`"60/min"` → (60, 60); `""` → None (no limit). Units: s, m(in), h(our), d(ay), as DRF's."""
    if not rate or not rate.strip():
        return None
    match = _RATE.match(rate)
    if not match:
        raise ValueError(f"a rate looks like '60/min' or '100/hour', got {rate!r}")
    return int(match.group(1)), _PERIODS[match.group(2)[0].lower()]
