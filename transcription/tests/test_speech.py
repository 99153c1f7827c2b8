"""Real audio through the real model: espeak-ng sentences → audio socket → listener sockets."""

import asyncio

import pytest

from transcription.errors import CLOSE_AT_CAPACITY, CLOSE_TOO_BIG
from transcription.models import TranscriptSegment
from transcription.status import engine_status
from transcription.tests.conftest import adb, connect, speak, stop_and_wait, token_for, until_final
from transcription.tests.speech import SENTENCES, wer, words

pytestmark = [pytest.mark.speech, pytest.mark.django_db(transaction=True)]


async def open_speaker(user, stream):
    speaker, connected = await connect(f"/ws/transcription/{stream}/audio/", token_for(user))
    assert connected
    ready = await speaker.receive_json_from(timeout=90)
    assert ready["type"] == "ready", ready
    assert ready["sample_rate"] == 16000
    return speaker


async def test_partials_and_final_reach_the_listener(speech_ready, users, engine):
    user = users[0]
    stream = f"user-{user.pk}"
    listener, connected = await connect(f"/ws/transcription/{stream}/", token_for(user))
    assert connected
    speaker = await open_speaker(user, stream)

    await speak(speaker, speech_ready(SENTENCES[3]), silence=1.0, speedup=1.0)  # real time: partials are timed
    partials, final = await until_final(listener)
    await stop_and_wait(speaker)

    assert wer(SENTENCES[3], final["text"]) < 0.25, final["text"]
    assert final["stream"] == stream and final["segment"] and final["end"] >= final["start"] >= 0
    assert partials, "realtime partials expected before the final"
    seqs = [p["seq"] for p in partials] + [final["seq"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(p["final"] is False and p["stream"] == stream and p["timestamp"] for p in partials)

    segment = await adb(TranscriptSegment.objects.get)(pk=final["segment"])
    assert (segment.text, segment.speaker_id, segment.stream) == (final["text"], user.pk, stream)
    await speaker.disconnect()
    await listener.disconnect()


async def test_two_speakers_share_one_model_and_each_listener_gets_only_its_own_words(speech_ready, users, engine):
    a, b = users[0], users[1]
    listeners = {}
    for user in (a, b):
        listeners[user.pk], connected = await connect(f"/ws/transcription/user-{user.pk}/", token_for(user))
        assert connected
    speakers = {user.pk: await open_speaker(user, f"user-{user.pk}") for user in (a, b)}
    texts = {a.pk: SENTENCES[0], b.pk: SENTENCES[1]}

    await asyncio.gather(*(speak(speakers[pk], speech_ready(texts[pk]), silence=1.0) for pk in texts))
    frames = {}
    for pk in texts:
        partials, final = await until_final(listeners[pk])
        frames[pk] = [*partials, final]
    for pk, text in texts.items():
        other = next(t for other_pk, t in texts.items() if other_pk != pk)
        foreign = set(words(other)) - set(words(text))
        assert all(frame["stream"] == f"user-{pk}" for frame in frames[pk])
        assert not [frame["text"] for frame in frames[pk] if foreign & set(words(frame["text"]))], frames[pk]
        assert wer(text, frames[pk][-1]["text"]) < 0.25, (text, frames[pk][-1]["text"])
    # One model in the process served both streams, on the configured device (the CPU here).
    speech = engine.snapshot()["speech"]
    assert engine.transcriber.loads == speech["models_loaded"] == 1, speech
    assert speech["device"] == "cpu" and speech["served"]["final"] >= 2
    assert {model.model.device for model in engine.transcriber.models.values()} == {"cpu"}
    for pk in texts:
        await stop_and_wait(speakers[pk])
        assert await listeners[pk].receive_nothing(timeout=0.5)
        await speakers[pk].disconnect()
        await listeners[pk].disconnect()


async def test_listener_joining_mid_stream_gets_the_rest(speech_ready, users, engine):
    user = users[0]
    stream = f"user-{user.pk}"
    speaker = await open_speaker(user, stream)
    await speak(speaker, speech_ready(SENTENCES[0]))
    await stop_and_wait(speaker)

    listener, connected = await connect(f"/ws/transcription/{stream}/", token_for(user))
    assert connected
    await speak(speaker, speech_ready(SENTENCES[2]))
    await stop_and_wait(speaker)
    _, final = await until_final(listener)
    assert wer(SENTENCES[2], final["text"]) < 0.25, final["text"]
    assert await listener.receive_nothing(timeout=0.5)

    # Both sentences were stored, in order, and the REST route lists them.
    texts = await adb(lambda: list(TranscriptSegment.objects.filter(stream=stream).values_list("text", flat=True)))()
    assert len(texts) == 2 and wer(SENTENCES[0], texts[0]) < 0.25
    await speaker.disconnect()
    await listener.disconnect()


async def test_all_streams_socket_sees_only_visible_streams(speech_ready, users, engine):
    a, b = users[0], users[1]
    watcher, connected = await connect("/ws", token_for(a))
    assert connected
    other = await open_speaker(b, f"user-{b.pk}")
    await speak(other, speech_ready(SENTENCES[1]))
    await stop_and_wait(other)
    await other.disconnect()
    own = await open_speaker(a, f"user-{a.pk}")
    await speak(own, speech_ready(SENTENCES[0]))
    await stop_and_wait(own)
    _, final = await until_final(watcher)
    assert final["stream"] == f"user-{a.pk}"
    assert wer(SENTENCES[0], final["text"]) < 0.25
    await own.disconnect()
    await watcher.disconnect()


async def test_stream_cap_refuses_with_retry_after(speech_ready, users, engine, monkeypatch):
    monkeypatch.setattr(engine, "max_streams", 2)
    first = await open_speaker(users[0], f"user-{users[0].pk}")
    second = await open_speaker(users[1], f"user-{users[1].pk}")
    current = await adb(engine_status)()
    assert current["state"] == "active" and current["recorder_initialized"] is True
    assert set(current["streams"]) == {f"user-{users[0].pk}", f"user-{users[1].pk}"}
    assert current["clients"]["speakers"] == 2

    third, connected = await connect(f"/ws/transcription/user-{users[2].pk}/audio/", token_for(users[2]))
    assert connected
    frame = await third.receive_json_from(timeout=30)
    assert frame["type"] == "wait" and frame["code"] == "transcription_at_capacity" and frame["retry_after"] >= 5
    closed = await third.receive_output(timeout=30)
    assert closed == {"type": "websocket.close", "code": CLOSE_AT_CAPACITY,
                      "reason": f"{frame['message']} retry_after={frame['retry_after']}"}
    assert (await adb(engine_status)())["clients"]["speakers"] == 2
    # The open streams are untouched.
    await first.send_json_to({"type": "ping"})
    assert (await first.receive_json_from(timeout=30))["type"] == "pong"
    for socket in (first, second, third):
        await socket.disconnect()


async def test_second_speaker_on_a_busy_stream_is_refused(speech_ready, users, engine):
    user = users[0]
    first = await open_speaker(user, f"user-{user.pk}")
    again, _ = await connect(f"/ws/transcription/user-{user.pk}/audio/", token_for(user))
    frame = await again.receive_json_from(timeout=30)
    assert frame["code"] == "stream_busy"
    assert (await again.receive_output(timeout=30))["code"] == 4409
    await again.disconnect()
    await first.disconnect()


async def test_bad_frames_get_errors_and_earlier_text_is_kept(speech_ready, users, engine, settings):
    user = users[0]
    stream = f"user-{user.pk}"
    settings.TRANSCRIPTION_AUDIO_BURST_SECONDS = 4.0
    settings.TRANSCRIPTION_MAX_AUDIO_RATE = 4.5
    speaker = await open_speaker(user, stream)
    await speak(speaker, speech_ready(SENTENCES[0]), silence=0.3)
    await stop_and_wait(speaker)

    await speaker.send_to(text_data="not json")
    assert (await speaker.receive_json_from(timeout=30))["code"] == "invalid_message"
    await speaker.send_json_to({"type": "dance"})
    assert (await speaker.receive_json_from(timeout=30))["code"] == "invalid_message"
    await speaker.send_to(bytes_data=b"\x00" * 3201)
    assert (await speaker.receive_json_from(timeout=30))["code"] == "odd_frame_length"
    for _ in range(3):  # 6 s of audio at once: more than the 4 s burst
        await speaker.send_to(bytes_data=b"\x00" * 64000)
    frame = await speaker.receive_json_from(timeout=30)
    assert frame["code"] == "rate_limited" and frame["retry_after"] > 0
    await speaker.send_to(bytes_data=b"\x00" * 64002)
    assert (await speaker.receive_json_from(timeout=30))["code"] == "frame_too_large"
    assert (await speaker.receive_output(timeout=30)) == {"type": "websocket.close", "code": CLOSE_TOO_BIG,
                                                          "reason": "frame too large"}
    texts = await adb(lambda: list(TranscriptSegment.objects.filter(stream=stream).values_list("text", flat=True)))()
    assert len(texts) == 1 and wer(SENTENCES[0], texts[0]) < 0.25
    await speaker.disconnect()


async def test_idle_stream_is_closed(speech_ready, users, engine, monkeypatch):
    monkeypatch.setattr(engine, "idle_timeout", 1.5)
    speaker = await open_speaker(users[0], f"user-{users[0].pk}")
    frame = await speaker.receive_json_from(timeout=30)
    assert frame["type"] == "closed" and "idle" in frame["reason"]
    closed = await speaker.receive_output(timeout=30)
    assert closed["type"] == "websocket.close" and closed["code"] == 4408
    assert f"user-{users[0].pk}" not in engine.streams
    await speaker.disconnect()
