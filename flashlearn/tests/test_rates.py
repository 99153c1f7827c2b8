"""The token bucket behind the per-connection limits, on a clock the test moves (no sleeping)."""

import pytest

from flashlearn.rates import TokenBucket, parse_rate


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_frames_beyond_the_burst_wait_for_the_refill():
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=2, clock=clock)
    assert [bucket.allow() for _ in range(3)] == [True, True, False]
    assert bucket.retry_after() == 0.5
    clock.now += 0.5
    assert bucket.allow() is True and bucket.allow() is False


def test_a_quiet_connection_saves_up_to_the_burst_only():
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=3, clock=clock)
    clock.now += 60
    assert [bucket.allow() for _ in range(4)] == [True, True, True, False]


def test_amounts_spend_that_many_tokens_and_a_refusal_spends_none():
    """Audio: a bucket of bytes, `rate` bytes a second; a chunk larger than what is saved waits."""
    clock = Clock()
    bucket = TokenBucket(rate=32000, burst=32000, clock=clock)
    assert bucket.take(32000) == 0
    assert bucket.take(16000) == pytest.approx(0.5)
    clock.now += 0.25
    assert bucket.take(16000) == pytest.approx(0.25)  # the refused chunk took nothing: 8000 saved
    clock.now += 0.25
    assert bucket.take(16000) == 0


def test_a_zero_rate_never_refills():
    clock = Clock()
    bucket = TokenBucket(rate=0, burst=1, clock=clock)
    assert bucket.allow() is True
    clock.now += 3600
    assert bucket.allow() is False and bucket.retry_after() == 1.0


def test_rates_parse_like_drf():
    assert parse_rate("60/min") == (60, 60) and parse_rate(" 5 / hour ") == (5, 3600)
    assert parse_rate("") is None
    with pytest.raises(ValueError):
        parse_rate("sixty a minute")
