"""Transcription slots from the speaker's side (issue 10, item 11): one account cannot hold them,
idle means no speech, and a live session takes the slot of the user stream idle longest.

Real audio sockets through the real router and the real engine; only the recorder is a stand-in
(tests/fake_recorder.py), so no speech model is needed. With REDIS_URL the engine keeps its slots
in Redis (transcription/registry.py), as in production.
"""

import asyncio
import random
import struct

import pytest

from messaging import services as messaging
from messaging.models import LiveSession
from transcription import runtime as runtime_module
from transcription import whisper
from transcription.errors import CLOSE_AT_CAPACITY, CLOSE_BUSY, CLOSE_IDLE, CLOSE_PREEMPTED, StreamLimitReached
from transcription.runtime import TranscriptionRuntime, default_engine
from transcription.status import engine_status
from transcription.tests.conftest import adb, connect, make_user, token_for
from transcription.tests.fake_recorder import FakeRecorder
from transcription.tests.speech import SENTENCES, missing_tools

pytestmark = pytest.mark.django_db(transaction=True)

FRAME = 3200  # 100 ms of 16 kHz PCM16


def clear_slot_keys(settings) -> None:
    if settings.REDIS_URL:
        import redis

        from transcription.registry import slot_keys

        client = redis.Redis.from_url(settings.REDIS_URL)
        client.delete(*slot_keys())
        client.close()


@pytest.fixture
async def start_engine(monkeypatch, settings):
    """start_engine(**settings): this process's engine, started afresh with those settings and a FakeRecorder
    (`engine.recorders`); shut down after the test."""
    recorders = []

    def build_recorder(model, callbacks, executors):
        recorders.append(FakeRecorder())
        return recorders[-1]

    def build_transcriber():
        return whisper.SharedTranscriber(model=("fake", "fake"), realtime_model=("fake", "fake"), device="cpu",
                                         compute_type="int8", beam_size=1, realtime_beam_size=1,
                                         loader=lambda *args, **kwargs: object())

    def engine_factory():
        engine = default_engine()
        engine.recorder_factory, engine.transcriber_factory = build_recorder, build_transcriber
        engine.model_resolver = lambda: ("fake", "fake recorder")
        engine.recorders = recorders
        return engine

    runtime = TranscriptionRuntime(engine_factory=engine_factory)
    previous = runtime_module.use(runtime)
    clear_slot_keys(settings)

    def start(**overrides):
        for name, value in overrides.items():
            setattr(settings, name, value)
        return runtime.get_engine()

    yield start
    current = runtime.current_engine()
    if current is not None and not current.closed:
        await current.shutdown()
    runtime_module.use(previous)
    clear_slot_keys(settings)


async def open_speaker(user, stream: str):
    speaker, connected = await connect(f"/ws/transcription/{stream}/audio/", token_for(user))
    assert connected
    return speaker, await speaker.receive_json_from(timeout=10)


async def live_session(host_email: str, *, live: bool):
    host = await adb(make_user)(host_email)
    session = await adb(messaging.live_session_create)(host=host, title="Captions",
                                                       visibility=LiveSession.Visibility.PUBLIC)
    if live:
        await adb(messaging.live_session_start)(user=host, session_id=session.pk)
    return host, f"live-session-{session.pk}"


async def assert_pong(socket) -> None:
    await socket.send_json_to({"type": "ping"})
    assert (await socket.receive_json_from(timeout=10))["type"] == "pong"


def white_noise(seconds: float, amplitude: int = 3000) -> bytes:
    """What webrtcvad alone takes for speech; the second stage (Silero) does not."""
    rng = random.Random(7)
    return b"".join(struct.pack("<h", rng.randint(-amplitude, amplitude)) for _ in range(int(16000 * seconds)))


async def test_an_account_opening_a_second_stream_is_refused(start_engine):
    start_engine(TRANSCRIPTION_MAX_STREAMS=4, TRANSCRIPTION_MAX_STREAMS_PER_USER=1)
    host, stream = await live_session("host@example.com", live=False)
    own, ready = await open_speaker(host, f"user-{host.pk}")
    assert ready["type"] == "ready"

    second, frame = await open_speaker(host, stream)
    assert frame["type"] == "error" and frame["code"] == "transcription_user_limit", frame
    assert "1 transcription stream" in frame["message"] and "retry_after" not in frame
    assert await second.receive_output(timeout=10) == {"type": "websocket.close", "code": CLOSE_BUSY,
                                                       "reason": frame["message"]}
    # The engine has room: another account is let in, and the first stream is untouched.
    other = await adb(make_user)("other@example.com")
    theirs, ready = await open_speaker(other, f"user-{other.pk}")
    assert ready["type"] == "ready"
    await assert_pong(own)
    assert set((await adb(engine_status)())["streams"]) == {f"user-{host.pk}", f"user-{other.pk}"}
    for socket in (own, second, theirs):
        await socket.disconnect()


async def test_a_stream_sending_only_silence_noise_and_tiny_frames_is_closed_as_idle(start_engine):
    engine = start_engine(TRANSCRIPTION_IDLE_TIMEOUT=1.0)
    user = await adb(make_user)("idler@example.com")
    speaker, ready = await open_speaker(user, f"user-{user.pk}")
    assert ready["type"] == "ready"
    noise = white_noise(1.0)
    sent = 0
    for beat in range(100):  # 10 s at most; closed within ~2 s when idleness is judged by speech
        frame = (b"\x00\x00", b"\x00" * FRAME, noise[(beat % 10) * FRAME:(beat % 10 + 1) * FRAME])[beat % 3]
        await speaker.send_to(bytes_data=frame)
        sent += 1
        if not await speaker.receive_nothing(timeout=0.1):
            break
    assert sent < 100, "10 s of frames and the stream is still open"
    frame = await speaker.receive_json_from(timeout=10)
    assert frame["type"] == "closed" and frame["reason"] == "idle: no speech for 1 s", frame
    assert (await speaker.receive_output(timeout=10))["code"] == CLOSE_IDLE
    assert len(engine.recorders[0].frames) >= sent - 1  # the frames did reach the recorder: audio flowed
    assert f"user-{user.pk}" not in engine.streams
    await speaker.disconnect()


async def test_a_live_session_takes_the_slot_of_the_user_stream_idle_longest(start_engine):
    engine = start_engine(TRANSCRIPTION_MAX_STREAMS=2)
    first, second = await adb(make_user)("first@example.com"), await adb(make_user)("second@example.com")
    idlest, ready = await open_speaker(first, f"user-{first.pk}")
    assert ready["type"] == "ready"
    newer, ready = await open_speaker(second, f"user-{second.pk}")
    assert ready["type"] == "ready"

    # A session that is only scheduled waits like anyone else.
    planner, planned = await live_session("planner@example.com", live=False)
    waiting, frame = await open_speaker(planner, planned)
    assert frame["type"] == "wait" and frame["code"] == "transcription_at_capacity", frame
    assert (await waiting.receive_output(timeout=10))["code"] == CLOSE_AT_CAPACITY

    host, stream = await live_session("host@example.com", live=True)
    live, ready = await open_speaker(host, stream)
    assert ready["type"] == "ready", ready
    frame = await idlest.receive_json_from(timeout=10)
    assert frame["type"] == "closed" and frame["stream"] == f"user-{first.pk}", frame
    assert "live session" in frame["reason"] and "idle longest" in frame["reason"]
    assert await idlest.receive_output(timeout=10) == {"type": "websocket.close", "code": CLOSE_PREEMPTED,
                                                       "reason": frame["reason"]}
    await assert_pong(newer)
    await assert_pong(live)
    assert set(engine.streams) == {f"user-{second.pk}", stream}
    for socket in (idlest, newer, waiting, live):
        await socket.disconnect()


async def test_a_live_host_at_the_account_limit_gives_up_their_own_user_stream(start_engine):
    engine = start_engine(TRANSCRIPTION_MAX_STREAMS=4, TRANSCRIPTION_MAX_STREAMS_PER_USER=1)
    host, stream = await live_session("host@example.com", live=True)
    other = await adb(make_user)("other@example.com")
    theirs, _ = await open_speaker(other, f"user-{other.pk}")  # idle longer, but not the host's
    own, _ = await open_speaker(host, f"user-{host.pk}")
    live, ready = await open_speaker(host, stream)
    assert ready["type"] == "ready", ready
    frame = await own.receive_json_from(timeout=10)
    assert frame["type"] == "closed" and frame["stream"] == f"user-{host.pk}"
    assert (await own.receive_output(timeout=10))["code"] == CLOSE_PREEMPTED
    await assert_pong(theirs)
    assert set(engine.streams) == {f"user-{other.pk}", stream}
    for socket in (theirs, own, live):
        await socket.disconnect()


@pytest.fixture
def speech():
    reason = missing_tools()
    if reason:
        pytest.skip(reason)
    from transcription.tests.speech import speech_pcm

    return speech_pcm


async def speak_in_real_time(socket, pcm: bytes) -> None:
    """100 ms frames, paced by waiting for (and asserting) no frame back."""
    for start in range(0, len(pcm), FRAME):
        await socket.send_to(bytes_data=pcm[start:start + FRAME])
        assert await socket.receive_nothing(timeout=0.1)


async def test_speech_keeps_a_stream_open_past_the_idle_timeout(start_engine, speech):
    start_engine(TRANSCRIPTION_IDLE_TIMEOUT=1.0)
    user = await adb(make_user)("talker@example.com")
    speaker, ready = await open_speaker(user, f"user-{user.pk}")
    assert ready["type"] == "ready"
    await speak_in_real_time(speaker, speech(SENTENCES[2]) + speech(SENTENCES[5]))  # ~4 s, twice the timeout
    frame = await speaker.receive_json_from(timeout=10)  # silence from here on
    assert frame["type"] == "closed" and "idle" in frame["reason"]
    assert (await speaker.receive_output(timeout=10))["code"] == CLOSE_IDLE
    await speaker.disconnect()


async def test_the_stream_that_spoke_last_is_not_the_one_preempted(start_engine, speech):
    engine = start_engine(TRANSCRIPTION_MAX_STREAMS=2, TRANSCRIPTION_IDLE_TIMEOUT=30.0)
    talker, silent = await adb(make_user)("talker@example.com"), await adb(make_user)("silent@example.com")
    talking, _ = await open_speaker(talker, f"user-{talker.pk}")  # opened first ...
    quiet, _ = await open_speaker(silent, f"user-{silent.pk}")
    await speak_in_real_time(talking, speech(SENTENCES[0]))  # ... but spoke since
    host, stream = await live_session("host@example.com", live=True)
    live, ready = await open_speaker(host, stream)
    assert ready["type"] == "ready", ready
    frame = await quiet.receive_json_from(timeout=10)
    assert frame["type"] == "closed" and frame["stream"] == f"user-{silent.pk}"
    assert (await quiet.receive_output(timeout=10))["code"] == CLOSE_PREEMPTED
    await assert_pong(talking)
    assert set(engine.streams) == {f"user-{talker.pk}", stream}
    for socket in (talking, quiet, live):
        await socket.disconnect()


@pytest.mark.redis
async def test_redis_slots_hold_when_many_processes_claim_at_once(settings):
    """Each registry call is one script: twenty claims racing (as from twenty processes) cannot overbook."""
    from transcription.registry import StreamRegistry

    clear_slot_keys(settings)
    try:
        claims = [StreamRegistry().claim(stream=f"live-session-{n}", user="racer", live=False, channel=f"c{n}", cap=10,
                                         per_user=1, retry_after=5) for n in range(20)]
        results = await asyncio.gather(*claims, return_exceptions=True)
        assert sum(result is None for result in results) == 1
        assert all(isinstance(r, StreamLimitReached) for r in results if r is not None)

        # Two live sessions race for the one idle user stream: one takes it, the other waits.
        registry = StreamRegistry()
        for n in range(1, 10):
            await registry.claim(stream=f"user-{n}", user=str(n), live=False, channel=f"u{n}", cap=10, per_user=1,
                                 retry_after=5)
        await registry.heartbeat({f"user-{n}": (f"u{n}", 1000.0 + n) for n in range(1, 10)})
        await registry.release("user-9", "someone-else")  # not the holder: nothing happens
        results = await asyncio.gather(*(StreamRegistry().claim(stream=f"live-session-{n}", user=f"h{n}", live=True,
                                                                channel=f"h{n}", cap=10, per_user=1, retry_after=5)
                                         for n in (100, 101)), return_exceptions=True)
        victims = sorted(r.stream for r in results if r is not None and not isinstance(r, Exception))
        assert victims == ["user-1", "user-2"]  # the two idlest, each taken once
    finally:
        clear_slot_keys(settings)


async def test_a_final_that_could_not_be_stored_reaches_listeners_flagged(start_engine):
    engine = start_engine()
    user = await adb(make_user)("unstored@example.com")
    stream = f"user-{user.pk}"
    listener, connected = await connect(f"/ws/transcription/{stream}/", token_for(user))
    assert connected
    speaker, ready = await open_speaker(user, stream)
    assert ready["type"] == "ready"
    active = engine.streams[stream]

    active.on_recorder_event("recording_start", "")
    active.on_recorder_event("final", "stored fine")
    stored = await listener.receive_json_from(timeout=10)
    assert stored["final"] and stored["stored"] is True and stored["segment"], stored

    def store_fails(**kwargs):
        raise RuntimeError("database down")

    engine.store_segment = store_fails
    active.on_recorder_event("recording_start", "")
    active.on_recorder_event("final", "not stored")
    final = await listener.receive_json_from(timeout=10)
    assert (final["text"], final["final"], final["stored"], final["segment"]) == ("not stored", True, False, None)
    error = await listener.receive_json_from(timeout=10)
    assert (error["type"], error["code"], error["stream"], error["seq"]) == ("error", "segment_not_stored", stream,
                                                                             final["seq"])
    assert await listener.receive_nothing(timeout=0.3)
    for socket in (speaker, listener):
        await socket.disconnect()


async def test_status_and_readyz_report_the_device_the_models_and_the_load(start_engine, settings):
    from transcription.health import readiness

    idle = await adb(engine_status)(TranscriptionRuntime())  # no engine in this process yet
    assert idle["device"] == settings.TRANSCRIPTION_DEVICE == "auto" and idle["load"]["models_loaded"] == 0
    start_engine()
    before = await adb(engine_status)()
    assert before["device"] == "cpu"  # auto, on this machine: the engine resolved it
    assert before["load"]["models_loaded"] == 0 and before["realtime_model"] == before["model"]  # no stream yet
    user = await adb(make_user)("loaded@example.com")
    speaker, ready = await open_speaker(user, f"user-{user.pk}")
    assert ready["type"] == "ready"

    status, check = await adb(engine_status)(), await adb(readiness)()
    assert status["device"] == check["device"] == "cpu"
    assert status["load"] == check["load"]
    assert status["load"]["models_loaded"] == 1 and status["load"]["queued_finals"] == 0
    assert 0.0 <= status["load"]["busy"] <= 1.0
    assert check["realtime_model"] == status["realtime_model"]
    await speaker.disconnect()
