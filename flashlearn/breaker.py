"""Circuit breakers, one per dependency of this process (the database, the Redis cache).

Without one, every request during an outage waits out a connect or pool timeout (~5 s) before
its 503. With one, the first failure opens the circuit: for `open_seconds` every caller is
refused at once (the caller turns that into a 503 with Retry-After), then the next caller
becomes the single half-open probe: a short, bounded check of the dependency. If it answers the
circuit closes and the caller goes on; if not, the circuit opens again. A success reported by
anyone (a /readyz probe, a pool that reconnected) closes it at once.

A breaker is process state by nature, like Django's `connections`: `breaker_for(name)` hands
out one per name, built on first use from the settings of that moment.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable
from typing import TypeVar

logger = logging.getLogger("flashlearn.breaker")

T = TypeVar("T")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
DATABASE, CACHE = "database", "cache"

_SECRET_PATTERNS = (
    (re.compile(r"(://[^:/@\s]*):[^@\s]*@"), r"\1:****@"),  # scheme://user:password@host
    (re.compile(r"(?i)\b(password|passwd|pwd|secret|token)(\s*[=:]\s*)('[^']*'|\"[^\"]*\"|\S+)"), r"\1\2****"),
)
_MAX_REASON = 300


def safe_reason(exc: BaseException) -> str:
    """'ClassName: message' for a log line, with anything password-like hidden and the length capped.

    Driver messages name the host, port, database and user (useful during an outage), but a
    connection string echoed back may also hold a password.
    """
    message = " ".join(str(exc).split())
    for pattern, replacement in _SECRET_PATTERNS:
        message = pattern.sub(replacement, message)
    if len(message) > _MAX_REASON:
        message = message[: _MAX_REASON - 1] + "…"
    return f"{exc.__class__.__name__}: {message}" if message else exc.__class__.__name__


class CircuitOpen(Exception):
    """Refused without trying: the dependency failed moments ago."""

    def __init__(self, name: str, retry_after: int, reason: str):
        self.name = name
        self.retry_after = retry_after
        self.reason = reason
        super().__init__(f"{name} unavailable (circuit open, retry in {retry_after}s; last error: {reason})")


class CircuitBreaker:
    """Thread-safe closed / open / half-open state for one dependency.

    `open_seconds` <= 0 disables it: every call goes through, failures are only counted.
    """

    def __init__(self, name: str, *, open_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.name = name
        self.open_seconds = open_seconds
        self.clock = clock
        self.state = CLOSED
        self.failures = 0  # consecutive
        self.reason = ""
        self._open_until = 0.0
        self._lock = threading.Lock()

    def admit(self) -> bool:
        """Before a call: False to go ahead, True to go ahead as the half-open probe; CircuitOpen if refused."""
        if self.open_seconds <= 0:
            return False
        with self._lock:
            if self.state == CLOSED:
                return False
            if self.state == OPEN and self.clock() >= self._open_until:
                self.state = HALF_OPEN
                return True
            raise CircuitOpen(self.name, self.retry_after_locked(), self.reason)

    def succeeded(self) -> None:
        with self._lock:
            was = self.state
            self.state, self.failures, self.reason = CLOSED, 0, ""
        if was != CLOSED:
            logger.warning("%s available again: circuit closed", self.name, extra={"dependency": self.name})

    def failed(self, exc: BaseException) -> None:
        reason = safe_reason(exc)
        with self._lock:
            was = self.state
            self.failures += 1
            self.reason = reason
            if self.open_seconds > 0:
                self.state = OPEN
                self._open_until = self.clock() + self.open_seconds
        if was == CLOSED:  # once per outage, not once per refused request
            logger.warning(
                "%s unavailable: %s; refusing for %.1fs before probing", self.name, reason, self.open_seconds,
                extra={"dependency": self.name},
            )

    def retry_after(self) -> int:
        with self._lock:
            return self.retry_after_locked()

    def retry_after_locked(self) -> int:
        return max(1, math.ceil(self._open_until - self.clock()))

    def is_open(self) -> bool:
        """True while callers are being refused (open and not yet due for a probe, or a probe in flight)."""
        if self.open_seconds <= 0:
            return False
        with self._lock:
            return self.state == HALF_OPEN or (self.state == OPEN and self.clock() < self._open_until)

    def call(
        self,
        operation: Callable[[], T],
        *,
        probe: Callable[[], object] | None = None,
        failures: tuple[type[BaseException], ...] = (Exception,),
    ) -> T:
        """Run `operation` under the breaker; in half-open state run the bounded `probe` first.

        Raises CircuitOpen when refused. Exceptions outside `failures` pass through untouched and
        say nothing about the dependency (a half-open probe that raises one reopens the circuit).
        """
        probing = self.admit()
        if probing and probe is not None:
            try:
                probe()
            except BaseException as exc:
                self.failed(exc)
                raise
            self.succeeded()
        try:
            result = operation()
        except failures as exc:
            self.failed(exc)
            raise
        except BaseException:
            if probing and probe is None:
                self.failed(RuntimeError("probe interrupted"))
            raise
        self.succeeded()
        return result


_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def open_seconds_for(name: str) -> float:
    from django.conf import settings

    kind = name.split(":", 1)[0]  # "database:<alias>" for aliases other than default
    return {DATABASE: settings.DB_BREAKER_SECONDS, CACHE: settings.CACHE_BREAKER_SECONDS}.get(kind, 0.0)


def breaker_for(name: str) -> CircuitBreaker:
    breaker = _breakers.get(name)
    if breaker is None:
        with _breakers_lock:
            breaker = _breakers.setdefault(name, CircuitBreaker(name, open_seconds=open_seconds_for(name)))
    return breaker


def reset_breakers() -> None:
    """Forget every breaker (tests; settings changes take effect on the next breaker_for)."""
    with _breakers_lock:
        _breakers.clear()


def open_breaker() -> CircuitBreaker | None:
    """The first breaker that is refusing callers right now, if any."""
    return next((breaker for breaker in list(_breakers.values()) if breaker.is_open()), None)
