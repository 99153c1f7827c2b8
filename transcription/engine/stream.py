"""An active stream's state, on the event loop: recorder events numbered (`seq`) and queued for its
sender (transcription/engine/publish.py) in order. No I/O here."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from transcription.engine.recorder import SAMPLE_RATE, Slot
from transcription.voice import VoiceDetector

if TYPE_CHECKING:
    from transcription.engine.engine import Engine


@dataclass
class ActiveStream:
    engine: Engine
    name: str
    speaker_id: int | None
    reply_channel: str | None
    loop: asyncio.AbstractEventLoop
    slot: Slot | None = None
    live: bool = False
    state: str = "starting"
    seq: int = 0
    samples_fed: int = 0
    utterance_start: float = 0.0
    utterance_end: float = 0.0
    in_utterance: bool = False
    finals: int = 0
    last_audio: float = field(default_factory=time.monotonic)  # any frame: the pump's clock
    last_voiced: float = field(default_factory=time.monotonic)  # speech: the idle clock
    voice: VoiceDetector | None = None
    opened_at: float = field(default_factory=time.time)
    outbox: asyncio.Queue = field(default_factory=asyncio.Queue)
    sender: asyncio.Task | None = None
    final_waiters: list = field(default_factory=list)
    closing: bool = False

    @property
    def offset(self) -> float:
        return self.samples_fed / SAMPLE_RATE

    def on_recorder_event(self, kind: str, text: str) -> None:
        """On the loop: number the event and queue it for the sender, in order."""
        if kind == "recording_start":
            self.in_utterance, self.state = True, "recording"
            self.utterance_start = self.offset
        elif kind == "recording_stop":
            self.state = "transcribing"
            self.utterance_end = self.offset
        elif kind == "partial":
            if self.state == "recording" and text.strip():
                self.seq += 1
                self.outbox.put_nowait({"final": False, "text": text.strip(), "seq": self.seq})
        elif kind == "final":
            end = self.utterance_end if self.state == "transcribing" else self.offset
            self.in_utterance, self.state = False, "listening"
            self.finals += 1
            if text.strip():
                self.seq += 1
                start = min(self.utterance_start, end)
                self.outbox.put_nowait({"final": True, "text": text.strip(), "seq": self.seq,
                                        "start": round(start, 2), "end": round(end, 2)})
            else:
                self.wake_final_waiters()

    def wake_final_waiters(self) -> None:
        for waiter in self.final_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self.final_waiters.clear()
