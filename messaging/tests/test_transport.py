"""The daphne-specific helpers step aside under other ASGI servers (daphne itself: test_scale_out)."""

from functools import partial

from messaging.throttle import TokenBucket
from messaging.transport import daphne_parts, direct_writer, transport_backlog


async def other_server_send(message):
    return None


def test_helpers_step_aside_for_other_servers():
    send = partial(other_server_send)
    assert daphne_parts(send) is None and daphne_parts(other_server_send) is None
    assert transport_backlog(send) == 0
    assert direct_writer(send) is None


def test_token_bucket_refills_at_rate():
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=2, clock=lambda: now[0])
    assert [bucket.allow() for _ in range(3)] == [True, True, False]
    assert bucket.retry_after() == 0.5
    now[0] = 0.5
    assert bucket.allow() is True and bucket.allow() is False
