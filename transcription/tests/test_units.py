import asyncio

import pytest

from transcription.consumers import Outbox, audio_bucket
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


def test_audio_bucket_allows_the_configured_rate_and_burst_of_audio(settings):
    settings.TRANSCRIPTION_MAX_AUDIO_RATE, settings.TRANSCRIPTION_AUDIO_BURST_SECONDS = 2.0, 1.0
    now = [100.0]
    bucket = audio_bucket(clock=lambda: now[0])
    assert bucket.take(32000) == 0  # one second of audio at once: the burst
    assert bucket.take(16000) == pytest.approx(0.25)  # half a second more waits for it at 2x real time
    now[0] += 0.25
    assert bucket.take(16000) == 0


def test_wer():
    assert wer("the cat sat", "The cat sat.") == 0
    assert wer("the cat sat", "the dog sat") == pytest.approx(1 / 3)
    assert wer("a b", "") == 1


async def test_a_closed_speaker_cannot_feed_or_close_the_next_speakers_stream():
    """Speaker A's stream was closed (idle) and B reopened the name: A's late close leaves B's alone."""
    from transcription.engine import ActiveStream, Engine

    engine = Engine()
    try:
        loop = asyncio.get_running_loop()
        engine.streams["user-1"] = ActiveStream(engine=engine, name="user-1", speaker_id=1, reply_channel="B",
                                                loop=loop)
        assert engine.owned("user-1", "A") is None and engine.owned("user-1", None) is not None
        await engine.feed("user-1", b"\x00\x00", owner="A")
        assert engine.streams["user-1"].samples_fed == 0
        await engine.close("user-1", owner="A")
        assert "user-1" in engine.streams
        await engine.close("user-1", owner="B")
        assert "user-1" not in engine.streams
    finally:
        engine.executor.shutdown(wait=False)


def test_recorder_shutdown_prints_nothing(capfd):
    """RealtimeSTT 1.1.2 prints a red "RealtimeSTT shutting down" at every recorder shutdown: the test run
    ended with two. The engine routes that print to its debug log (contract test on the pinned version)."""
    import threading
    import types

    from RealtimeSTT.core.shutdown import shutdown_recorder

    from transcription.engine import quiet_shutdown_banner

    quiet_shutdown_banner()
    recorder = types.SimpleNamespace(shutdown_lock=threading.Lock(), is_shut_down=False,
                                     start_recording_event=threading.Event(), stop_recording_event=threading.Event(),
                                     shutdown_event=threading.Event())
    shutdown_recorder(recorder)
    assert recorder.is_shut_down
    captured = capfd.readouterr()
    assert "shutting down" not in captured.out + captured.err


def test_voice_detector_hears_no_silence_noise_tones_or_tiny_frames():
    import math
    import random
    import struct

    from transcription.voice import VoiceDetector

    def heard(pcm: bytes, frame: int = 3200) -> bool:
        detector = VoiceDetector()
        return any([detector.heard(pcm[i:i + frame]) for i in range(0, len(pcm), frame)])

    rng = random.Random(3)
    noise = b"".join(struct.pack("<h", rng.randint(-8000, 8000)) for _ in range(16000 * 3))
    tone = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 16000))) for i in range(16000 * 3))
    assert not heard(b"\x00" * 96000)
    assert not heard(b"\x01\x00" * 4000, frame=2)
    assert not heard(noise)
    assert not heard(tone)


def test_voice_detector_hears_speech_in_any_frame_size():
    from transcription.tests.speech import SENTENCES, missing_tools, speech_pcm
    from transcription.voice import VoiceDetector

    if missing_tools():
        pytest.skip(missing_tools())
    for frame in (64, 640, 3200, 64000):
        detector = VoiceDetector()
        pcm = speech_pcm(SENTENCES[3])
        assert any([detector.heard(pcm[i:i + frame]) for i in range(0, len(pcm), frame)]), frame


async def test_the_runtime_drains_its_engine_then_closes_its_sockets_and_starts_no_new_engine():
    from transcription.runtime import TranscriptionRuntime
    from transcription.status import engine_status

    events = []

    class Engine:
        closed = False

        def snapshot(self):
            return {"recorder_initialized": False, "streams": {}, "error": None}

        async def shutdown(self):
            self.closed = True
            events.append("engine flushed and stopped")

    class Socket:
        async def going_away(self):
            events.append("socket closed 1001")

    runtime = TranscriptionRuntime(engine_factory=Engine)
    engine, socket = runtime.get_engine(), Socket()
    runtime.sockets.add(socket)
    runtime.clients["listeners"] += 1
    assert engine_status(runtime)["clients"] == {"speakers": 0, "listeners": 1, "status": 0}

    await runtime.drain()
    assert events == ["engine flushed and stopped", "socket closed 1001"]
    assert runtime.get_engine() is engine and engine.closed  # shutting down: no fresh engine for a late socket
