"""A stand-in for RealtimeSTT's AudioToTextRecorder, put in at `engine.build_recorder`.

Everything around it is the real thing: the consumers behind the real router, the engine's slots,
idle clock and voice detection (transcription/voice.py), and the Redis registry when REDIS_URL is
set. It never transcribes and has no voice detection of its own, so what a test sees of idleness
and preemption is the engine's doing.
"""

from __future__ import annotations

import threading


class FakeRecorder:
    pre_recording_buffer_duration = 0.2

    def __init__(self) -> None:
        self.frames: list[int] = []  # the length of every frame fed
        self.is_recording = False
        self.stopped = threading.Event()

    def feed_audio(self, data: bytes) -> None:
        self.frames.append(len(data))

    def text(self) -> str:
        self.stopped.wait()
        return ""

    def flush_audio_input(self) -> None:
        pass

    def drain_audio_input(self, timeout: float | None = None) -> None:
        pass

    def abort(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def clear_audio_queue(self) -> None:
        pass

    def shutdown(self) -> None:
        self.stopped.set()
