"""Is a speaker speaking? An audio stream's idle timer only moves for voiced audio (issue 10, item 11).

The two stages RealtimeSTT itself uses before it starts a recording:
- webrtcvad on every 30 ms chunk: microseconds, but it also takes noise and tones for speech;
- Silero (RealtimeSTT's ONNX adapter, no torch) confirms a voiced stretch: ~0.3 ms per 32 ms
  window, run on the last 320 ms only when webrtcvad hears a stretch and at most every
  CONFIRM_INTERVAL seconds, so a stream costs a few milliseconds of CPU a second at most.
Silence, tiny keep-alive frames, noise and tones never reset the idle timer; real speech split
into small frames still does (chunks are joined across frames).
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

SAMPLE_RATE = 16000
CHUNK_BYTES = SAMPLE_RATE * 2 * 30 // 1000  # 30 ms of PCM16, a length webrtcvad accepts
WINDOW_CHUNKS = 10  # webrtcvad looks at the last 300 ms ...
VOICED_CHUNKS = 5  # ... and hears a stretch when 150 ms of it are voiced
WEBRTC_MODE = 3  # its strictest mode, RealtimeSTT's default webrtc_sensitivity
SILERO_WINDOW = 512  # samples per Silero call at 16 kHz
SILERO_WINDOWS = 10  # 320 ms checked per confirmation
SILERO_THRESHOLD = 0.5
SILERO_VOICED_WINDOWS = 2
CONFIRM_INTERVAL = 1.0  # a confirmed stretch counts as speech this long; noise after it then needs Silero again
REJECT_BACKOFF = 0.25  # after Silero said no, webrtcvad alone is not asked to call it again sooner

_silero = None
_silero_lock = threading.Lock()


def silero_load() -> None:
    """Blocking (~0.1 s, once per process): the engine loads it with a recorder, not on a speaker's first words."""
    global _silero
    with _silero_lock:
        if _silero is None:
            from RealtimeSTT.core.silero_vad import create_silero_vad_model

            _silero = create_silero_vad_model(onnx_threads=1)


def silero_probabilities(pcm: bytes) -> list[float]:
    """Speech probability of each 512-sample window of `pcm`, from a fresh state. Blocking; thread-safe."""
    silero_load()
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
    with _silero_lock:
        _silero.reset_states()
        return [_silero(samples[i:i + SILERO_WINDOW], SAMPLE_RATE)
                for i in range(0, len(samples) - SILERO_WINDOW + 1, SILERO_WINDOW)]


class VoiceDetector:
    """One per stream; `heard` is blocking (Silero), so the engine calls it in its executor."""

    def __init__(self) -> None:
        import webrtcvad

        self.vad = webrtcvad.Vad(WEBRTC_MODE)
        self.pending = bytearray()
        self.recent: deque[bool] = deque(maxlen=WINDOW_CHUNKS)
        self.tail = bytearray()  # the last SILERO_WINDOWS windows of audio
        self.confirmed_at = -float("inf")
        self.rejected_at = -float("inf")

    def heard(self, data: bytes) -> bool:
        """True when `data` completes a stretch of speech."""
        self.pending += data
        self.tail += data
        del self.tail[:-SILERO_WINDOW * SILERO_WINDOWS * 2]
        stretch = False
        while len(self.pending) >= CHUNK_BYTES:
            chunk = bytes(self.pending[:CHUNK_BYTES])
            del self.pending[:CHUNK_BYTES]
            self.recent.append(self.vad.is_speech(chunk, SAMPLE_RATE))
            stretch = stretch or sum(self.recent) >= VOICED_CHUNKS
        if not stretch:
            return False
        now = time.monotonic()
        if now - self.confirmed_at < CONFIRM_INTERVAL:
            return True
        if now - self.rejected_at < REJECT_BACKOFF:
            return False
        voiced = sum(p > SILERO_THRESHOLD for p in silero_probabilities(bytes(self.tail))) >= SILERO_VOICED_WINDOWS
        if voiced:
            self.confirmed_at = now
        else:
            self.rejected_at = now
        return voiced
