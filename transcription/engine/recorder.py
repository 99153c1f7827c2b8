"""A pooled recorder (a "slot"): one RealtimeSTT recorder, its `text()` thread, and the stream it serves.

Recorders are pooled: a stream that closes hands its recorder to the next stream after a flush and a
wash of silence. A recorder keeps its own voice detection and buffers and loads no model: its finals
and partials go to the process's SharedTranscriber (transcription/whisper.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings

from transcription import whisper
from transcription.voice import VoiceDetector, silero_load

if TYPE_CHECKING:
    from transcription.engine.engine import Engine
    from transcription.engine.stream import ActiveStream

logger = logging.getLogger("transcription.engine")

SAMPLE_RATE = 16000
BYTES_PER_SECOND = SAMPLE_RATE * 2


class _QuietClose(logging.Filter):
    """RealtimeSTT 1.1.2 logs an error with a traceback at every shutdown: its engine has no close()."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Could not close realtime transcription model")


def quiet_shutdown_banner() -> None:
    """RealtimeSTT 1.1.2 prints a red "RealtimeSTT shutting down" on stdout at every recorder shutdown
    (a print, so no log level silences it; the test run ended with two). That module's print becomes a
    debug log line; nothing else in the process is touched."""
    from RealtimeSTT.core import shutdown as stt_shutdown

    if getattr(stt_shutdown, "print", None) is not _banner_to_debug_log:
        stt_shutdown.print = _banner_to_debug_log


def _banner_to_debug_log(*args, **kwargs) -> None:
    logger.debug("realtimestt: %s", " ".join(str(arg) for arg in args))


def build_recorder(model: str, callbacks: dict[str, Callable], executors: dict[str, object]):
    """A RealtimeSTT recorder fed by hand (blocking, run it in an executor). It loads no model of its own:
    `executors` send its finals and partials to the process's SharedTranscriber (transcription/whisper.py);
    it keeps its own voice detection and buffers."""
    from RealtimeSTT import AudioToTextRecorder

    stt_logger = logging.getLogger("realtimestt")
    if not any(isinstance(f, _QuietClose) for f in stt_logger.filters):
        stt_logger.addFilter(_QuietClose())
    quiet_shutdown_banner()

    return AudioToTextRecorder(
        model=model, realtime_model_type=model, use_microphone=False, spinner=False, language="en",
        enable_realtime_transcription=True, use_main_model_for_realtime=False,
        post_speech_silence_duration=settings.TRANSCRIPTION_POST_SPEECH_SILENCE,
        realtime_processing_pause=settings.TRANSCRIPTION_PARTIAL_INTERVAL,
        early_transcription_on_silence=settings.TRANSCRIPTION_EARLY_FINAL_SILENCE, no_log_file=True,
        level=logging.WARNING, **executors, **callbacks,
    )


# --- A pooled recorder --------------------------------------------------------------------------
class Slot:
    """A recorder, its `text()` thread, and the stream it currently serves (None when pooled)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.stream: ActiveStream | None = None
        self.recorder = None
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.idle_since = time.monotonic()

    def callbacks(self) -> dict[str, Callable]:
        return {
            "on_recording_start": lambda *a: self.post("recording_start"),
            "on_recording_stop": lambda *a: self.post("recording_stop"),
            "on_realtime_transcription_update": lambda text, *a: self.post("partial", text),
        }

    def post(self, kind: str, text: str = "") -> None:
        """Called on recorder threads: hand the event to the loop of the stream being served."""
        stream = self.stream
        if stream is None:
            return
        try:
            stream.loop.call_soon_threadsafe(stream.on_recorder_event, kind, text)
        except RuntimeError:  # the loop is closed: the stream is gone
            pass

    def start(self, model: str, transcriber: whisper.SharedTranscriber) -> None:
        silero_load()  # the idle clock's voice check (transcription/voice.py)
        self.recorder = self.engine.recorder_factory(model, self.callbacks(), transcriber.executors(self))
        self.thread = threading.Thread(target=self.text_loop, name="transcription-text", daemon=True)
        self.thread.start()

    def text_loop(self) -> None:
        recorder = self.recorder
        while not self.stopping.is_set():
            try:
                text = recorder.text()
            except Exception:
                if not self.stopping.is_set():
                    logger.exception("recorder text() failed")
                return
            if self.stopping.is_set():
                return
            self.post("final", text or "")

    def wash(self) -> None:
        """Blocking: flush what the last stream left and push its audio out of the pre-roll buffer."""
        recorder = self.recorder
        recorder.flush_audio_input()
        recorder.drain_audio_input(timeout=5)
        if recorder.is_recording:
            recorder.abort()
        recorder.clear_audio_queue()
        recorder.feed_audio(b"\x00" * int(BYTES_PER_SECOND * (recorder.pre_recording_buffer_duration + 0.2)))
        recorder.drain_audio_input(timeout=5)

    def shutdown(self) -> None:
        """Blocking: stop the recorder and join its thread."""
        self.stopping.set()
        if self.recorder is not None:
            try:
                self.recorder.shutdown()
            except Exception:  # RealtimeSTT 1.1.2 logs a harmless AttributeError on close()
                logger.debug("recorder shutdown raised", exc_info=True)
        if self.thread is not None:
            self.thread.join(timeout=10)
        if self.engine.transcriber is not None:
            self.engine.transcriber.forget(self)


def feed_recorder(recorder, voice: VoiceDetector | None, data: bytes) -> bool:
    """Blocking (executor): feed the recorder; True when the frame completed a stretch of speech."""
    recorder.feed_audio(data)
    return voice is not None and voice.heard(data)
