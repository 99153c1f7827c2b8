"""Brute-force protection with cache counters: checked before any password is hashed.

Failed logins are counted per email and per client IP in a window of LOGIN_LOCKOUT_SECONDS
from the first failure. Each attempt is counted (reserved) before its password is evaluated,
so concurrent guesses cannot all slip in under the limit. Reaching the limit (LOGIN_MAX_FAILURES per email,
LOGIN_IP_MAX_FAILURES per IP) locks that email or IP for LOGIN_LOCKOUT_SECONDS: every attempt
is refused with 429 and Retry-After, whatever the password. Counters use the cache's atomic
increment, so with Redis they are shared by every worker.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

from accounts.errors import LockedOut, ProtectionUnavailable, SignupThrottled
from accounts.stats import stat_incr
from flashlearn.counters import CACHE_ERRORS, cache_decr, cache_incr
from flashlearn.rates import parse_rate
from flashlearn.throttles import window_hit

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


def _lock_remaining(subjects: list[tuple[str, int]]) -> int:
    """Seconds until the last of these subjects' locks ends (0: none is locked). One cache read."""
    keys = [f"accounts:lock:{subject}" for subject, _ in subjects]
    until = max((float(v) for v in cache.get_many(keys).values()), default=0.0)
    remaining = until - time.time()
    return max(1, math.ceil(remaining)) if remaining > 0 else 0


def _refuse(retry_after: int) -> LockedOut:
    stat_incr("login_refused_locked")
    return LockedOut(retry_after=retry_after)


@dataclass(frozen=True)
class LoginAttempt:
    """One password evaluation that has been paid for in advance: `counts` are the subjects'
    counters including this attempt."""

    email: str | None
    ip: str | None
    counts: dict[str, int] = field(default_factory=dict)


@_fail_closed
def login_attempt_begin(*, email: str | None, ip: str | None) -> LoginAttempt:
    """Reserve one attempt on the email and on the IP before any password is hashed.

    The counters hold failures plus attempts still being evaluated, and are raised with the
    cache's atomic increment (a Lua INCR on Redis, shared by every worker), so however many
    guesses arrive at once, at most LOGIN_MAX_FAILURES of them get past this point in a window.
    Raises LockedOut (429, Retry-After) when the subject is locked or its attempts are used up.
    """
    subjects = _subjects(email=email, ip=ip)
    remaining = _lock_remaining(subjects)
    if remaining:
        raise _refuse(remaining)  # the common case while locked: nothing is counted
    window = settings.LOGIN_LOCKOUT_SECONDS
    counts: dict[str, int] = {}
    for subject, limit in subjects:
        counts[subject] = cache_incr(f"accounts:fail:{subject}", timeout=window)
        if counts[subject] > limit:
            _release(counts)
            raise _refuse(_lock_remaining(subjects) or window)
    # A failure that locked the subject deletes its counter after setting the lock: an attempt
    # that counted from zero again must see that lock here.
    remaining = _lock_remaining(subjects)
    if remaining:
        _release(counts)
        raise _refuse(remaining)
    return LoginAttempt(email=email, ip=ip, counts=counts)


@_fail_closed
def login_attempt_failed(attempt: LoginAttempt) -> list[str]:
    """The password was wrong: the reservation stays as a failure. Returns the subjects
    ("email", "ip") that this failure locked."""
    window = settings.LOGIN_LOCKOUT_SECONDS
    locked = []
    for subject, limit in _subjects(email=attempt.email, ip=attempt.ip):
        if attempt.counts.get(subject, 0) >= limit:
            cache.set(f"accounts:lock:{subject}", time.time() + window, timeout=window)
            cache.delete(f"accounts:fail:{subject}")
            locked.append(subject.split(":", 1)[0])
    return locked


def login_attempt_succeeded(attempt: LoginAttempt) -> None:
    """The password was right: the email's failures are forgotten (not the IP's, whose
    reservation is handed back). Best-effort, since the counters expire on their own."""
    try:
        for subject in attempt.counts:
            if subject.startswith("email:"):
                cache.delete(f"accounts:fail:{subject}")
            else:
                cache_decr(f"accounts:fail:{subject}")
    except CACHE_ERRORS:
        logger.warning("cache unavailable: login attempt not released")


def login_attempt_abandon(attempt: LoginAttempt) -> None:
    """The password could not be evaluated (the database failed, say): hand the reservation back
    on every subject, so retries during an outage do not lock the real user out. Best-effort,
    and never raises: the caller re-raises the error that stopped the check."""
    try:
        _release(attempt.counts)
    except CACHE_ERRORS:
        logger.warning("cache unavailable: abandoned login attempt not released")


def _release(counts: dict[str, int]) -> None:
    for subject in counts:
        cache_decr(f"accounts:fail:{subject}")


@_fail_closed
def signup_throttle_hit(*, ip: str | None) -> None:
    """Count one signup attempt from `ip` in a fixed window; raise SignupThrottled past SIGNUP_RATE."""
    rate = parse_rate(settings.SIGNUP_RATE)  # None: "" turns the limit off
    if not ip or rate is None:
        return
    limit, period = rate
    retry_after = window_hit(f"accounts:signup:{ip}", limit=limit, period=period)
    if retry_after:
        stat_incr("signup_refused_throttled")
        raise SignupThrottled(retry_after=retry_after)
