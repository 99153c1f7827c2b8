"""Per-user rate limits on writes (README "Security model", docs/security.md "Abuse limits").

A view opts in with `throttle_classes = [UserWriteThrottle]` and `throttle_scope = "<scope>"`;
the rate is `settings.THROTTLE_RATES[scope]` ("60/min", "" turns it off), read on every request.
Only writes are counted: unsafe methods, or the view's `throttle_methods` when it names others
(a GET that starts an OAuth flow, say). Refused requests are a 429 `throttled` with Retry-After
in the API.md error shape (flashlearn.errors).

Counters are fixed windows (`window_hit`, also behind accounts' signup limit) kept with the
cache's atomic increment (flashlearn.counters.cache_incr),
so with Redis every worker shares them and two concurrent requests cannot both take the last
slot. An unreachable cache raises redis' ConnectionError, which flashlearn.errors turns into
the 503 `cache_unavailable` every other cache outage gets.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from flashlearn.counters import cache_incr
from flashlearn.rates import parse_rate

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class UserWriteThrottle(BaseThrottle):
    """At most N writes per user per period in the view's `throttle_scope`."""

    def __init__(self):
        self.retry_after = 1

    def allow_request(self, request, view) -> bool:
        if request.method not in getattr(view, "throttle_methods", UNSAFE_METHODS):
            return True
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return True  # the view's permission check refuses these before any write
        scope = view.throttle_scope
        parsed = parse_rate(settings.THROTTLE_RATES.get(scope, ""))
        if parsed is None:
            return True
        limit, period = parsed
        self.retry_after = window_hit(f"throttle:{scope}:{user.pk}", limit=limit, period=period)
        return not self.retry_after

    def wait(self) -> float:
        return self.retry_after


def window_hit(key: str, *, limit: int, period: int) -> int:
    """Count one event under `key` in the current `period`-second window: 0 while at most `limit`
    were counted there, else the seconds (at least 1) until the window ends."""
    now = time.time()
    window = int(now // period)
    if cache_incr(f"{key}:{window}", timeout=period) <= limit:
        return 0
    return max(1, math.ceil((window + 1) * period - now))
