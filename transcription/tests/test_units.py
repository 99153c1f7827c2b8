import pytest

from transcription.consumers import Outbox, TokenBucket
from transcription.tests.speech import wer


def event(seq, final, stream="s"):
    return {"seq": seq, "final": final, "stream": stream, "text": str(seq)}


async def test_outbox_merges_partials_and_keeps_finals():
    box = Outbox()
    for e in (event(1, False), event(2, False), event(3, True), event(4, False), event(5, False, "t"),
              event(6, False), event(7, True), event(8, False)):
        box.put(e)
    got = [(await box.get())["seq"] for _ in range(len(box.items))]
    assert got == [2, 3, 6, 5, 7, 8]


def test_token_bucket_limits_audio_rate():
    bucket = TokenBucket(rate=1.0, burst_seconds=1.0)
    assert bucket.take(32000) == 0
    assert bucket.take(16000) == pytest.approx(0.5, abs=0.05)


def test_wer():
    assert wer("the cat sat", "The cat sat.") == 0
    assert wer("the cat sat", "the dog sat") == pytest.approx(1 / 3)
    assert wer("a b", "") == 1
