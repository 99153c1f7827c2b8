"""The engine: the active streams of this process, their slots (recorders) and their lifecycle.

Threads and the loop:
- Recorders are built, fed, flushed and shut down in an executor, never on the event loop.
- Each recorder has one thread running its blocking `text()` loop (transcription/engine/recorder.py).
- Recorder callbacks (recording start/stop, realtime updates) and finals cross to the engine's
  event loop with `loop.call_soon_threadsafe`; there, each stream numbers its events
  (transcription/engine/stream.py) and one sender task per stream stores finals and sends
  everything to the stream's Channels group, in order (transcription/engine/publish.py).

Recorders are pooled: a stream that closes hands its recorder to the next stream after a flush and a
wash of silence; pooled recorders are shut down after TRANSCRIPTION_KEEP_WARM seconds unused. All of
them share the process's one Whisper model (transcription/whisper.py), loaded with the first stream.

Slots (transcription/slots.py): at most TRANSCRIPTION_MAX_STREAMS active streams, at most
TRANSCRIPTION_MAX_STREAMS_PER_USER per account, and a live session's stream may take the slot of
the user stream idle longest. Idle means no voiced audio (transcription/voice.py), not no frames.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from channels.layers import get_channel_layer
from django.conf import settings

from transcription import whisper
from transcription.engine.publish import publish_events, store_segment
from transcription.engine.recorder import BYTES_PER_SECOND, Slot, build_recorder, feed_recorder
from transcription.engine.stream import ActiveStream
from transcription.errors import (
    CLOSE_GOING_AWAY,
    CLOSE_IDLE,
    CLOSE_PREEMPTED,
    EngineUnavailable,
    StreamBusy,
)
from transcription.slots import Holder, LocalSlots
from transcription.voice import VoiceDetector

logger = logging.getLogger("transcription.engine")

FLUSH_TIMEOUT_SECONDS = 15.0
PUMP_INTERVAL = 0.1
PUMP_SILENCE = b"\x00" * int(BYTES_PER_SECOND * PUMP_INTERVAL)
PREEMPTED_REASON = "a live session needed this slot and this stream was idle longest"


# Which model and device, and the one loaded copy every stream shares: transcription/whisper.py.
resolve_model, model_state = whisper.resolve_model, whisper.model_state


class Engine:
    """Owns the recorders of this process. Every public method is a coroutine for the event loop."""

    def __init__(self, *, recorder_factory: Callable | None = None, transcriber_factory: Callable | None = None,
                 model_resolver: Callable[[], tuple[str, str]] | None = None) -> None:
        """The factories default to the real thing (RealtimeSTT recorders, the configured Whisper model);
        tests hand in stand-ins (transcription/tests/fake_recorder.py)."""
        self.recorder_factory = recorder_factory or build_recorder
        self.transcriber_factory = transcriber_factory or whisper.build_transcriber
        self.model_resolver = model_resolver or resolve_model
        self.store_segment = store_segment  # (**fields) -> a saved TranscriptSegment; the bench stores nothing
        self.max_streams = settings.TRANSCRIPTION_MAX_STREAMS
        self.idle_timeout = settings.TRANSCRIPTION_IDLE_TIMEOUT
        self.keep_warm = settings.TRANSCRIPTION_KEEP_WARM
        self.executor = ThreadPoolExecutor(max_workers=self.max_streams + 2, thread_name_prefix="transcription")
        self.streams: dict[str, ActiveStream] = {}
        self.reserved: set[str] = set()
        self.pool: list[Slot] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.reaper: asyncio.Task | None = None
        self.error: str | None = None
        self.model_name: str | None = None
        self.closed = False
        self.slots = LocalSlots()  # a StreamRegistry (Redis) with REDIS_URL: transcription.runtime.default_engine
        self.tasks: set[asyncio.Task] = set()
        self.device, self.compute_type = whisper.resolve_device()  # cuda without a GPU stops here
        self.transcriber: whisper.SharedTranscriber | None = None  # loaded with the first stream
        self.transcriber_lock = threading.Lock()

    # -- state
    @property
    def recorder_initialized(self) -> bool:
        return any(s.slot is not None for s in self.streams.values()) or bool(self.pool)

    def snapshot(self) -> dict:
        return {
            "recorder_initialized": self.recorder_initialized,
            "model": self.model_name or model_state()["model"],
            "error": self.error,
            "max_streams": self.max_streams,
            "active_streams": len(self.streams),
            "warm_recorders": len(self.pool),
            "speech": (self.transcriber.snapshot() if self.transcriber is not None else
                       {"device": self.device, "compute_type": self.compute_type, "models_loaded": 0}),
            "streams": {
                name: {"state": s.state, "speaker": s.speaker_id, "seq": s.seq,
                       "audio_seconds": round(s.offset, 2),
                       "idle_seconds": round(time.monotonic() - s.last_voiced, 1)}
                for name, s in self.streams.items()
            },
        }

    def retry_after(self) -> int:
        """When a slot may free: the soonest idle timeout among active streams (at least 5 s)."""
        now = time.monotonic()
        waits = [self.idle_timeout - (now - s.last_voiced) for s in self.streams.values()]
        return max(5, math.ceil(min(waits))) if waits else 5

    def bind(self) -> None:
        loop = asyncio.get_running_loop()
        if self.loop is loop:
            return
        if self.streams or self.reserved:
            raise RuntimeError("the engine is serving streams on another event loop")
        self.loop = loop
        self.reaper = loop.create_task(self.reap())

    # -- streams
    def voiced_times(self) -> dict[str, tuple[str, float]]:
        """{stream: (speaker channel, wall-clock time of its last voiced audio)} for the slot ledger."""
        mono, wall = time.monotonic(), time.time()
        return {name: (s.reply_channel or "", wall - (mono - s.last_voiced)) for name, s in self.streams.items()}

    async def open(self, *, stream: str, speaker_id: int | None, reply_channel: str | None,
                   live: bool = False) -> ActiveStream:
        """Start serving `stream`; raises StreamBusy, StreamLimitReached, EngineAtCapacity or EngineUnavailable.

        `live`: the stream of a session that is live now, which may preempt the user stream idle longest."""
        if self.closed:
            raise EngineUnavailable("The speech engine is shutting down.", retry_after=5)
        self.bind()
        try:
            model, self.model_name = self.model_resolver()
        except EngineUnavailable as exc:
            if self.error != exc.message:
                logger.error("the speech engine cannot start: %s", exc.message)
            self.error = exc.message
            exc.retry_after = 60
            raise
        if stream in self.streams or stream in self.reserved:
            raise StreamBusy()
        await self.slots.heartbeat(self.voiced_times())  # which stream is idlest must be current
        victim = await self.slots.claim(stream=stream, user=str(speaker_id), live=live, channel=reply_channel or "",
                                        cap=self.max_streams, per_user=settings.TRANSCRIPTION_MAX_STREAMS_PER_USER,
                                        retry_after=self.retry_after())
        self.reserved.add(stream)
        try:
            if victim is not None:
                await self.preempt(victim, by=stream)
            slot = self.pool.pop() if self.pool else None
            if slot is None:
                slot = Slot(self)
                try:
                    transcriber = await self.loop.run_in_executor(self.executor, self.shared_transcriber)
                    await self.loop.run_in_executor(self.executor, slot.start, model, transcriber)
                except Exception as exc:
                    logger.exception("could not start a recorder")
                    self.error = f"recorder failed to start: {exc.__class__.__name__}"
                    await self.loop.run_in_executor(self.executor, slot.shutdown)
                    raise EngineUnavailable("The speech engine failed to start.", retry_after=30) from exc
            self.error = None
            active = ActiveStream(engine=self, name=stream, speaker_id=speaker_id, reply_channel=reply_channel,
                                  loop=self.loop, slot=slot, state="listening", live=live, voice=VoiceDetector())
            active.sender = self.loop.create_task(publish_events(active))
            slot.stream = active
            self.streams[stream] = active
        except BaseException:
            await self.slots.release(stream, reply_channel or "")
            raise
        finally:
            self.reserved.discard(stream)
        logger.info("transcription stream %s opened", stream)
        return active

    def shared_transcriber(self) -> whisper.SharedTranscriber:
        """Blocking (executor): the process's one loaded model, loaded on first use."""
        with self.transcriber_lock:
            if self.transcriber is None:
                self.transcriber = self.transcriber_factory()
            self.transcriber.start()
            return self.transcriber

    async def preempt(self, victim: Holder, *, by: str) -> None:
        """The slot of `victim` (already taken from it) went to live stream `by`: end it with 4410 and a frame
        saying why. Served here: closed like an idle stream (its recorder then serves `by`). Served by another
        process: its speaker socket is told, closes and ends the stream there."""
        logger.info("transcription stream %s preempted by live stream %s", victim.stream, by)
        active = self.owned(victim.stream, victim.channel)
        if active is not None:
            active.closing = True
            await self.close(victim.stream, code=CLOSE_PREEMPTED, reason=PREEMPTED_REASON, owner=victim.channel)
        elif victim.channel:
            try:
                await get_channel_layer().send(victim.channel, {
                    "type": "transcription.preempted", "stream": victim.stream, "code": CLOSE_PREEMPTED,
                    "reason": PREEMPTED_REASON})
            except Exception:
                logger.warning("could not tell the speaker of %s that it was preempted", victim.stream)

    def owned(self, stream: str, owner: str | None) -> ActiveStream | None:
        """The active stream, unless `owner` (a speaker's reply channel) no longer serves it: a speaker
        whose stream was closed (idle) must not feed or close the next speaker's stream of that name."""
        active = self.streams.get(stream)
        if active is None or (owner is not None and active.reply_channel != owner):
            return None
        return active

    async def feed(self, stream: str, data: bytes, *, owner: str | None = None) -> None:
        active = self.owned(stream, owner)
        if active is None or active.slot is None:
            return
        active.last_audio = time.monotonic()
        active.samples_fed += len(data) // 2
        if await self.loop.run_in_executor(self.executor, feed_recorder, active.slot.recorder, active.voice, data):
            active.last_voiced = time.monotonic()

    async def flush(self, stream: str, timeout: float = FLUSH_TIMEOUT_SECONDS, *, owner: str | None = None) -> None:
        """End the current sentence now and wait until its final went out (or nothing was pending)."""
        active = self.owned(stream, owner)
        if active is None or active.slot is None:
            return
        recorder = active.slot.recorder
        waiter = self.loop.create_future()
        active.final_waiters.append(waiter)

        def end_utterance() -> None:
            recorder.flush_audio_input()
            recorder.drain_audio_input(timeout=5)
            if recorder.is_recording:
                # stop() refuses recordings shorter than min_length_of_recording: give it that long.
                deadline = time.monotonic() + 2
                while recorder.is_recording and time.monotonic() < deadline:
                    recorder.stop()
                    if recorder.is_recording:
                        time.sleep(0.05)

        await self.loop.run_in_executor(self.executor, end_utterance)
        if not active.in_utterance and active.outbox.empty():
            if waiter in active.final_waiters:
                active.final_waiters.remove(waiter)
            return
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            logger.warning("flush of %s timed out", stream)

    async def close(self, stream: str, *, flush: bool = True, code: int | None = None, reason: str = "",
                    owner: str | None = None) -> None:
        """Stop serving `stream`: flush its last sentence, tell its speaker, pool the recorder."""
        active = self.owned(stream, owner)
        if active is None:
            return
        if flush:
            await self.flush(stream, owner=owner)
        if self.streams.get(stream) is active:
            self.streams.pop(stream)
        slot, active.slot = active.slot, None
        active.outbox.put_nowait(None)
        if active.sender is not None:
            await asyncio.wait([active.sender], timeout=10)
        if slot is not None:
            slot.stream = None
            if self.closed:
                await self.loop.run_in_executor(self.executor, slot.shutdown)
            else:
                await self.loop.run_in_executor(self.executor, slot.wash)
                slot.idle_since = time.monotonic()
                self.pool.append(slot)
        await self.slots.release(stream, active.reply_channel or "")
        if code is not None and active.reply_channel:
            try:
                await get_channel_layer().send(active.reply_channel, {
                    "type": "transcription.closed", "stream": stream, "code": code, "reason": reason})
            except Exception:
                logger.warning("could not tell the speaker of %s that it closed", stream)
        logger.info("transcription stream %s closed (%s)", stream, reason or "speaker left")

    async def reap(self) -> None:
        """Every 0.1 s pump silence into paused sentences; every 1 s close idle streams, shut down recorders
        pooled for too long and refresh the slot ledger. One failure is logged, never the end of the loop."""
        beat = 0
        while not self.closed:
            await asyncio.sleep(PUMP_INTERVAL)
            beat += 1
            try:
                await self.pump()
                if beat % 10 == 0:
                    await self.housekeeping()
            except Exception:
                logger.exception("transcription housekeeping failed")

    async def pump(self) -> None:
        now = time.monotonic()
        for active in list(self.streams.values()):
            slot = active.slot
            if active.in_utterance and slot is not None and now - active.last_audio > PUMP_INTERVAL * 2:
                # The speaker paused sending mid-sentence: RealtimeSTT only notices the end of speech
                # while audio flows, so feed it silence.
                active.samples_fed += len(PUMP_SILENCE) // 2
                await self.loop.run_in_executor(self.executor, slot.recorder.feed_audio, PUMP_SILENCE)

    async def housekeeping(self) -> None:
        now = time.monotonic()
        for name, active in list(self.streams.items()):
            if now - active.last_voiced > self.idle_timeout and not active.in_utterance and not active.closing:
                active.closing = True
                task = self.loop.create_task(self.close(name, code=CLOSE_IDLE,
                                                        reason=f"idle: no speech for {self.idle_timeout:g} s"))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
        for slot in list(self.pool):
            if now - slot.idle_since > self.keep_warm:
                self.pool.remove(slot)
                await self.loop.run_in_executor(self.executor, slot.shutdown)
        await self.slots.heartbeat(self.voiced_times())

    async def shutdown(self) -> None:
        """Flush every stream (speakers get their last final), close with 1001, stop every recorder."""
        if self.closed:
            return
        self.closed = True
        await asyncio.gather(*(self.close(name, code=CLOSE_GOING_AWAY, reason="server shutting down")
                               for name in list(self.streams)), return_exceptions=True)
        pool, self.pool = self.pool, []
        await asyncio.gather(*(self.loop.run_in_executor(self.executor, slot.shutdown) for slot in pool))
        if self.transcriber is not None:
            await self.loop.run_in_executor(self.executor, self.transcriber.close)
        if self.reaper is not None:
            self.reaper.cancel()
        self.executor.shutdown(wait=False)

    def shutdown_blocking(self) -> None:
        """Last resort at interpreter exit: stop recorders without the loop."""
        self.closed = True
        logging.getLogger("realtimestt").disabled = True  # its handlers' streams may be closed already
        for slot in [*self.pool, *(s.slot for s in self.streams.values() if s.slot)]:
            slot.shutdown()
        if self.transcriber is not None:
            self.transcriber.close()
        self.pool.clear()
        self.streams.clear()
