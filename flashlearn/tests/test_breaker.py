"""The circuit breaker's states (flashlearn/breaker.py), on a clock the test moves."""

from __future__ import annotations

import pytest

from flashlearn.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, CircuitOpen, safe_reason


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def breaker(clock):
    return CircuitBreaker("database", open_seconds=2.0, clock=clock)


def fail():
    raise ConnectionRefusedError("connection to 10.0.0.5:5432 refused")


def test_first_failure_opens_and_callers_are_refused_without_trying(breaker):
    with pytest.raises(ConnectionRefusedError):
        breaker.call(fail)
    attempts = []
    with pytest.raises(CircuitOpen) as info:
        breaker.call(lambda: attempts.append(1))
    assert attempts == []
    assert info.value.retry_after == 2
    assert "connection to 10.0.0.5:5432 refused" in str(info.value)


def test_after_the_open_period_one_probe_runs_and_closes_it(breaker, clock):
    breaker.failed(ConnectionRefusedError("refused"))
    clock.now += 2.0
    probes = []
    assert breaker.call(lambda: "row", probe=lambda: probes.append(1)) == "row"
    assert probes == [1]
    assert breaker.state == CLOSED and breaker.failures == 0


def test_a_failed_probe_opens_it_again_for_a_full_period(breaker, clock):
    breaker.failed(ConnectionRefusedError("refused"))
    clock.now += 2.0
    with pytest.raises(TimeoutError):
        breaker.call(lambda: "never", probe=lambda: (_ for _ in ()).throw(TimeoutError("no answer")))
    assert breaker.state == OPEN
    clock.now += 1.9
    with pytest.raises(CircuitOpen):
        breaker.call(lambda: "never")


def test_only_one_probe_at_a_time(breaker, clock):
    breaker.failed(ConnectionRefusedError("refused"))
    clock.now += 2.0
    assert breaker.admit() is True  # this caller probes
    assert breaker.state == HALF_OPEN
    with pytest.raises(CircuitOpen):
        breaker.admit()  # everyone else is still refused while it does
    breaker.succeeded()
    assert breaker.admit() is False


def test_a_success_reported_elsewhere_closes_it_at_once(breaker):
    breaker.failed(ConnectionRefusedError("refused"))
    assert breaker.is_open()
    breaker.succeeded()  # e.g. /readyz reached the database
    assert not breaker.is_open()
    assert breaker.call(lambda: 1) == 1


def test_errors_that_say_nothing_about_the_dependency_leave_it_closed(breaker):
    with pytest.raises(KeyError):
        breaker.call(lambda: {}["missing"], failures=(ConnectionError,))
    assert breaker.state == CLOSED


def test_zero_seconds_turns_it_off(clock):
    breaker = CircuitBreaker("cache", open_seconds=0, clock=clock)
    breaker.failed(ConnectionRefusedError("refused"))
    assert breaker.call(lambda: "tried") == "tried"
    assert not breaker.is_open()


def test_opening_is_logged_once_per_outage_with_the_reason(breaker, clock, caplog):
    caplog.set_level("WARNING", logger="flashlearn.breaker")
    for _ in range(3):
        breaker.failed(ConnectionRefusedError("connection refused"))
    clock.now += 2.0
    breaker.succeeded()
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "database unavailable: ConnectionRefusedError: connection refused" in messages[0]
    assert "available again" in messages[1]


@pytest.mark.parametrize(
    "message",
    [
        "could not connect to postgres://app:hunter2@db.internal:5432/flash",
        "invalid dsn: host=db user=app password=hunter2 dbname=flash",
        "AUTH failed: password='hunter2'",
    ],
)
def test_logged_reasons_never_carry_a_password(message):
    reason = safe_reason(RuntimeError(message))
    assert "hunter2" not in reason
    assert reason.startswith("RuntimeError: ")
