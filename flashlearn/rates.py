"""Rates: the strings of the per-user throttles ("60/min"), and the token bucket of per-connection
limits (chat frames per second, audio bytes per second). Pure, so settings can check rates at
start-up and tests drive the bucket with a clock of their own."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

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


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; an event of size n spends n tokens.

    One bucket per connection, used from its own event loop (no lock). `clock` is any monotonic
    seconds counter; tests pass their own instead of sleeping.
    """

    def __init__(self, *, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.updated = clock()

    def take(self, amount: float = 1) -> float:
        """Spend `amount` tokens: 0 when allowed, else the seconds until it would be (nothing spent)."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if amount <= self.tokens:
            self.tokens -= amount
            return 0.0
        return self.wait_for(amount)

    def allow(self) -> bool:
        """One event (a frame): True when it may go now."""
        return self.take(1) == 0.0

    def wait_for(self, amount: float = 1) -> float:
        """Seconds until `amount` tokens are saved up, as of the last take (1 s when the rate is 0)."""
        return max(0.0, (amount - self.tokens) / self.rate) if self.rate > 0 else 1.0

    def retry_after(self) -> float:
        """Seconds until the next single event would be allowed."""
        return self.wait_for(1)
