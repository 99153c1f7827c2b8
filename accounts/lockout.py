"""Brute-force protection with cache counters: checked before any password is hashed.

Failed logins are counted per email and per client IP in a window of LOGIN_LOCKOUT_SECONDS
from the first failure. Reaching the limit (LOGIN_MAX_FAILURES per email,
LOGIN_IP_MAX_FAILURES per IP) locks that email or IP for LOGIN_LOCKOUT_SECONDS: every attempt
is refused with 429 and Retry-After, whatever the password. Counters use the cache's atomic
increment, so with Redis they are shared by every worker.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import re
import time

from django.conf import settings
from django.core.cache import cache

from accounts.errors import LockedOut, ProtectionUnavailable, SignupThrottled
from accounts.stats import CACHE_ERRORS, cache_incr, stat_incr

logger = logging.getLogger("accounts")
CACHE_DOWN_RETRY_AFTER = 5


def _fail_closed(fn):
    """An unreachable cache means the counters cannot be read or kept: 503 with Retry-After,
    never a 500 and never an attempt that skips the counting."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CACHE_ERRORS:
            logger.warning("cache unavailable: %s refused", fn.__name__)
            raise ProtectionUnavailable(retry_after=CACHE_DOWN_RETRY_AFTER) from None

    return wrapper

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$", re.IGNORECASE)
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _email_key(email: str) -> str:
    # Hashed: the cache never holds the addresses people tried.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _subjects(*, email: str | None, ip: str | None) -> list[tuple[str, int]]:
    subjects = []
    if email:
        subjects.append((f"email:{_email_key(email)}", settings.LOGIN_MAX_FAILURES))
    if ip:
        subjects.append((f"ip:{ip}", settings.LOGIN_IP_MAX_FAILURES))
    return subjects


@_fail_closed
def login_lock_check(*, email: str | None, ip: str | None) -> None:
    """Raise LockedOut (429, Retry-After) while the email or the IP is locked. One cache read."""
    keys = [f"accounts:lock:{subject}" for subject, _ in _subjects(email=email, ip=ip)]
    until = max((float(v) for v in cache.get_many(keys).values()), default=0.0)
    remaining = until - time.time()
    if remaining > 0:
        stat_incr("login_refused_locked")
        raise LockedOut(retry_after=max(1, math.ceil(remaining)))


@_fail_closed
def login_failure_record(*, email: str | None, ip: str | None) -> list[str]:
    """Count one failure; returns the subjects ("email", "ip") that this failure locked."""
    window = settings.LOGIN_LOCKOUT_SECONDS
    locked = []
    for subject, limit in _subjects(email=email, ip=ip):
        count = cache_incr(f"accounts:fail:{subject}", timeout=window)
        if count >= limit:
            cache.set(f"accounts:lock:{subject}", time.time() + window, timeout=window)
            cache.delete(f"accounts:fail:{subject}")
            locked.append(subject.split(":", 1)[0])
    return locked


def login_failures_clear(*, email: str) -> None:
    """A successful login forgets the email's failures (not the IP's); best-effort, since the
    password was right and the counter expires on its own."""
    try:
        cache.delete(f"accounts:fail:email:{_email_key(email)}")
    except CACHE_ERRORS:
        logger.warning("cache unavailable: login failures not cleared")


def parse_rate(rate: str) -> tuple[int, int]:
    """`20/hour` → (20, 3600). Units: s, m(in), h(our), d(ay), DRF style."""
    match = _RATE.match(rate or "")
    if not match:
        raise ValueError(f"SIGNUP_RATE must look like '20/hour', got {rate!r}")
    return int(match.group(1)), _PERIODS[match.group(2)[0].lower()]


@_fail_closed
def signup_throttle_hit(*, ip: str | None) -> None:
    """Count one signup attempt from `ip` in a fixed window; raise SignupThrottled past SIGNUP_RATE."""
    if not ip or not settings.SIGNUP_RATE:
        return
    limit, period = parse_rate(settings.SIGNUP_RATE)
    now = time.time()
    window = int(now // period)
    count = cache_incr(f"accounts:signup:{ip}:{window}", timeout=period)
    if count > limit:
        stat_incr("signup_refused_throttled")
        raise SignupThrottled(retry_after=max(1, math.ceil((window + 1) * period - now)))
