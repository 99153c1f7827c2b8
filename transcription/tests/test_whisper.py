"""The process's one Whisper model: its queue, its load counter and the device switch (no real model here)."""

import threading
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured

from transcription import checks, whisper
from transcription.engine import Engine


class FakeModel:
    """faster-whisper's WhisperModel.transcribe shape; the first call waits for `gate`."""

    def __init__(self, calls: list, gate: threading.Event):
        self.calls, self.gate, self.options = calls, gate, []

    def transcribe(self, audio, **kwargs):
        self.calls.append((audio, kwargs["beam_size"]))
        self.options.append(kwargs)
        if len(self.calls) == 1:
            self.gate.wait(10)
        return [SimpleNamespace(text=f" {audio}")], SimpleNamespace(language="en", language_probability=1.0)


def transcriber(realtime_path="main", calls=None, gate=None, workers=1):
    calls = [] if calls is None else calls
    gate = gate or threading.Event()
    loaded = []

    def loader(path, *, device, compute_type, workers):
        loaded.append((path, device, compute_type))
        return FakeModel(calls, gate)

    shared = whisper.SharedTranscriber(model=("main", "main"), realtime_model=(realtime_path, realtime_path),
                                       device="cpu", compute_type="int8", beam_size=5, realtime_beam_size=2,
                                       workers=workers, loader=loader)
    return shared, loaded


def test_two_streams_share_one_loaded_model():
    shared, loaded = transcriber()
    shared.start()
    first, second = shared.executors("stream-a"), shared.executors("stream-b")
    assert first["transcription_executor"].transcribe("one", language="en").text == "one"
    assert second["realtime_transcription_executor"].transcribe("two", language="en").text == "two"
    assert second["transcription_executor"].transcribe("three", language="en").text == "three"
    assert shared.loads == 1 and loaded == [("main", "cpu", "int8")]
    final, partial, _ = shared.models["main"].options
    assert (final["beam_size"], final["vad_filter"], final.get("without_timestamps", False)) == (5, True, False)
    assert (partial["beam_size"], partial["vad_filter"], partial["without_timestamps"]) == (2, False, True)
    assert shared.snapshot()["served"] == {"final": 2, "partial": 1}
    shared.close()


def test_a_separate_realtime_model_is_loaded_once_beside_the_main_one():
    shared, loaded = transcriber(realtime_path="small-partials")
    shared.start()
    shared.start()
    assert shared.loads == 2 and [path for path, *_ in loaded] == ["main", "small-partials"]
    shared.close()


def queue_behind_a_busy_model(requests):
    """Stream a's partial holds the model while `requests` (stream, audio, final, queued after) queue;
    then the model is let go. Returns (audio in the order the model saw it, beams, texts answered)."""
    calls, gate = [], threading.Event()
    shared, _ = transcriber(calls=calls, gate=gate)
    shared.start()
    answers = {}

    def call(stream, audio, *, final):
        executor = shared.executors(stream)["transcription_executor" if final else "realtime_transcription_executor"]
        answers[audio] = executor.transcribe(audio).text

    threads = [threading.Thread(target=call, args=("a", "a-partial-1"), kwargs={"final": False})]
    threads[0].start()
    while not calls:
        threading.Event().wait(0.01)
    for stream, audio, final, queued in requests:
        threads.append(threading.Thread(target=call, args=(stream, audio), kwargs={"final": final}))
        threads[-1].start()
        while shared.snapshot()["queued_partials"] + shared.snapshot()["queued_finals"] != queued:
            threading.Event().wait(0.01)
    gate.set()
    for thread in threads:
        thread.join(10)
    shared.close()
    return [audio for audio, _ in calls], [beam for _, beam in calls], answers


def test_finals_go_first_and_partials_take_turns_between_streams():
    order, beams, answers = queue_behind_a_busy_model([
        ("a", "a-partial-2", False, 1), ("b", "b-partial", False, 2), ("c", "c-final", True, 3)])
    # The final first; then the partial of the stream served longest ago: b (never) before a.
    assert order == ["a-partial-1", "c-final", "b-partial", "a-partial-2"]
    assert beams == [2, 5, 2, 2]
    assert answers == {audio: audio for audio in order}


def test_a_final_drops_the_queued_partial_of_its_stream():
    order, _, answers = queue_behind_a_busy_model([("b", "b-partial", False, 1), ("b", "b-final", True, 1)])
    assert order == ["a-partial-1", "b-final"]
    assert answers["b-partial"] == "" and answers["b-final"] == "b-final"


def test_after_close_a_final_is_refused_and_a_partial_answers_empty():
    shared, _ = transcriber()
    shared.start()
    shared.close()
    with pytest.raises(RuntimeError, match="shutting down"):
        shared.executors("a")["transcription_executor"].transcribe("late")
    assert shared.executors("a")["realtime_transcription_executor"].transcribe("late").text == ""


def test_cpu_device_is_honoured_with_int8(settings):
    settings.TRANSCRIPTION_DEVICE, settings.TRANSCRIPTION_COMPUTE_TYPE = "cpu", None
    assert whisper.resolve_device() == ("cpu", "int8")
    settings.TRANSCRIPTION_COMPUTE_TYPE = "int8_float32"
    assert whisper.resolve_device() == ("cpu", "int8_float32")


def test_auto_picks_the_cpu_here_and_cuda_where_ctranslate2_sees_a_gpu(settings, monkeypatch):
    settings.TRANSCRIPTION_DEVICE, settings.TRANSCRIPTION_COMPUTE_TYPE = "auto", None
    if whisper.cuda_device_count() > 0:
        pytest.skip("this machine has a GPU")
    assert whisper.resolve_device() == ("cpu", "int8")
    monkeypatch.setattr(whisper, "cuda_device_count", lambda: 1)
    assert whisper.resolve_device() == ("cuda", "float16")


def test_cuda_without_a_gpu_is_a_start_up_error_naming_the_variable(settings):
    if whisper.cuda_device_count() > 0:
        pytest.skip("this machine has a GPU")
    settings.TRANSCRIPTION_DEVICE = "cuda"
    with pytest.raises(ImproperlyConfigured, match="TRANSCRIPTION_DEVICE=cuda"):
        whisper.resolve_device()
    with pytest.raises(ImproperlyConfigured, match="TRANSCRIPTION_DEVICE"):
        Engine()
    [error] = checks.speech_device_check()
    assert error.id == "transcription.E001" and "TRANSCRIPTION_DEVICE" in error.msg
    settings.TRANSCRIPTION_DEVICE = "cpu"
    assert checks.speech_device_check() == []


def test_with_two_workers_a_final_does_not_wait_for_the_partial_in_flight():
    calls, gate = [], threading.Event()
    shared, _ = transcriber(calls=calls, gate=gate, workers=2)
    shared.start()
    partial = threading.Thread(target=shared.executors("a")["realtime_transcription_executor"].transcribe,
                               args=("a-partial",))
    partial.start()
    while not calls:
        threading.Event().wait(0.01)
    assert shared.executors("b")["transcription_executor"].transcribe("b-final").text == "b-final"
    assert not gate.is_set() and partial.is_alive()  # the partial is still being transcribed
    gate.set()
    partial.join(10)
    shared.close()
