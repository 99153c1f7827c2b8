"""Transcription websockets: speakers send audio, listeners receive partials and finals.

Close codes are in transcription/errors.py and docs/transcription.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from flashlearn.errors import DomainError
from flashlearn.rates import TokenBucket
from transcription import access, engine, groups, status
from transcription import runtime as runtime_module
from transcription.client import engine_client
from transcription.errors import (
    CLOSE_BAD_STREAM,
    CLOSE_FORBIDDEN,
    CLOSE_GOING_AWAY,
    CLOSE_TOO_BIG,
    CLOSE_UNAVAILABLE,
    EngineUnavailable,
    InvalidStream,
)

logger = logging.getLogger("transcription.consumers")

def now() -> float:
    return time.time()


class Outbox:
    """A listener's queue: finals are never dropped, a newer partial replaces a queued older one."""

    def __init__(self):
        self.items: deque[dict] = deque()
        self.ready = asyncio.Event()

    def put(self, event: dict) -> None:
        if not event["final"]:
            for index in range(len(self.items) - 1, -1, -1):
                queued = self.items[index]
                if queued["stream"] == event["stream"]:
                    if not queued["final"]:
                        self.items[index] = event
                        return
                    break
        self.items.append(event)
        self.ready.set()

    async def get(self) -> dict:
        while not self.items:
            self.ready.clear()
            await self.ready.wait()
        return self.items.popleft()


class AccessCache:
    """Permission answers per stream, asked again once older than TRANSCRIPTION_ACCESS_RECHECK_SECONDS.

    Sockets outlive permissions: leaving a live session, being removed from it, its deletion or a
    revoked speaker grant reach open sockets within that many seconds (docs/transcription.md).
    """

    def __init__(self, user, check):
        self.user, self.check = user, check
        self.answers: dict[str, tuple[bool, float]] = {}

    def remember(self, stream: str, allowed: bool) -> None:
        self.answers[stream] = (allowed, time.monotonic())

    async def allowed(self, stream: str) -> bool:
        answer = self.answers.get(stream)
        if answer is not None and time.monotonic() - answer[1] < settings.TRANSCRIPTION_ACCESS_RECHECK_SECONDS:
            return answer[0]
        allowed = await database_sync_to_async(self.check)(user=self.user, stream=stream)
        self.remember(stream, allowed)
        return allowed


def audio_bucket(clock=time.monotonic) -> TokenBucket:
    """Audio bytes a speaker may send: TRANSCRIPTION_MAX_AUDIO_RATE x real time on average, bursts of
    TRANSCRIPTION_AUDIO_BURST_SECONDS of audio."""
    return TokenBucket(rate=settings.TRANSCRIPTION_MAX_AUDIO_RATE * engine.BYTES_PER_SECOND,
                       burst=settings.TRANSCRIPTION_AUDIO_BURST_SECONDS * engine.BYTES_PER_SECOND, clock=clock)


def transcription_frame(event: dict) -> dict:
    frame = {"type": "transcription", "text": event["text"], "final": event["final"], "stream": event["stream"],
             "seq": event["seq"], "timestamp": event["timestamp"]}
    if event["final"]:
        frame.update(segment=event.get("segment"), stored=was_stored(event), start=event["start"], end=event["end"])
    return frame


def was_stored(event: dict) -> bool:
    """The engine says (`stored`); an event from a process without that field, by its segment id."""
    return event.get("stored", event.get("segment") is not None)


def not_stored_frame(event: dict) -> dict:
    """Follows a final whose segment could not be stored: it is missing from the REST list."""
    return {"type": "error", "code": "segment_not_stored", "stream": event["stream"], "seq": event["seq"],
            "message": "This final could not be saved; it will be missing from the stored transcript.",
            "timestamp": now()}


class TranscriptionSocket(AsyncWebsocketConsumer):
    """Shared pieces: accept with the auth subprotocol, error frames, JSON out, going away."""

    kind = "listeners"
    counted = False
    closing = False
    runtime: runtime_module.TranscriptionRuntime | None = None  # `as_asgi(runtime=...)`; else the process's

    def get_runtime(self) -> runtime_module.TranscriptionRuntime:
        if self.runtime is None:
            self.runtime = runtime_module.current()
        return self.runtime

    async def accept_socket(self) -> None:
        await self.accept(subprotocol=self.scope.get("auth_subprotocol"))
        self.accepted = True
        self.get_runtime().socket_opened(self, self.kind)  # counted; 1001 on SIGTERM even before any audio
        self.counted = True

    async def refuse(self, code: int, error_code: str, message: str, retry_after: int | None = None) -> None:
        """Accept, say why in a frame, close with the code (a browser only sees codes after an accept)."""
        if not getattr(self, "accepted", False):
            await self.accept(subprotocol=self.scope.get("auth_subprotocol"))
            self.accepted = True
        frame = {"type": "wait" if retry_after else "error", "code": error_code, "message": message,
                 "timestamp": now()}
        if retry_after:
            frame["retry_after"] = retry_after
        await self.send_json(frame)
        await self.close_with(code, f"{message} retry_after={retry_after}" if retry_after else message)

    async def close_with(self, code: int, reason: str = "") -> None:
        """The one close sequence: no more frames or counts for this socket, then the close frame
        (a reason is cut to what a close frame holds)."""
        self.closing = True
        self.uncount()
        await self.close(code=code, reason=reason.encode()[:120].decode(errors="ignore") or None)

    async def send_json(self, data: dict) -> None:
        await self.send(text_data=json.dumps(data))

    async def send_error(self, code: str, message: str, **extra) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, "timestamp": now(), **extra})

    async def going_away(self) -> None:
        if not self.closing:
            await self.close_with(CLOSE_GOING_AWAY)

    def uncount(self) -> None:
        if self.counted:
            self.get_runtime().socket_closed(self, self.kind)
            self.counted = False

    async def websocket_disconnect(self, message):
        self.uncount()
        await super().websocket_disconnect(message)

    def stream_from_route(self) -> str:
        return access.stream_validate(self.scope["url_route"]["kwargs"]["stream"])


class ListenerSocket(TranscriptionSocket):
    """`/ws/transcription/{stream}/` (one stream) and the base of `/ws` (every visible stream)."""

    kind = "listeners"

    async def connect(self):
        try:
            stream = self.stream_from_route()
        except InvalidStream as exc:
            return await self.refuse(CLOSE_BAD_STREAM, exc.code, exc.message)
        self.access = AccessCache(self.scope["user"], access.can_listen)
        if not await self.access.allowed(stream):
            return await self.refuse(CLOSE_FORBIDDEN, "stream_forbidden", "You may not listen to this stream.")
        await self.start_listening([groups.stream_group(stream)])

    async def start_listening(self, group_names: list[str]) -> None:
        self.group_names = group_names
        self.outbox = Outbox()
        for group in group_names:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept_socket()
        self.writer = asyncio.create_task(self.write_forever())

    async def write_forever(self) -> None:
        while True:
            event = await self.outbox.get()
            await self.send_json(transcription_frame(event))
            if event["final"] and not was_stored(event):
                await self.send_json(not_stored_frame(event))

    async def transcription_event(self, event):
        if self.closing:
            return
        if not await self.access.allowed(event["stream"]):
            return await self.revoke()
        self.outbox.put(event)

    async def revoke(self) -> None:
        """Access lost (left the session, removed, session deleted): nothing more goes out; close 4403."""
        writer = getattr(self, "writer", None)
        if writer is not None:
            writer.cancel()
        for group in self.group_names:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.group_names = []
        await self.refuse(CLOSE_FORBIDDEN, "stream_forbidden", "You may no longer listen to this stream.")

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is not None:
            try:
                message = json.loads(text_data)
            except ValueError:
                message = None
            if isinstance(message, dict) and message.get("type") == "ping":
                return await self.send_json({"type": "pong", "timestamp": now()})
        await self.send_error("invalid_message", "Listeners only send {\"type\": \"ping\"}.")

    async def disconnect(self, code):
        for group in getattr(self, "group_names", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        writer = getattr(self, "writer", None)
        if writer is not None:
            writer.cancel()


class AllStreamsSocket(ListenerSocket):
    """`/ws` (seed-compatible): every stream the caller may listen to; a lost stream is skipped, not closed."""

    async def connect(self):
        self.access = AccessCache(self.scope["user"], access.can_listen)
        await self.start_listening([groups.ALL_STREAMS])

    async def transcription_event(self, event):
        if await self.access.allowed(event["stream"]):
            self.outbox.put(event)


class StatusSocket(TranscriptionSocket):
    """`/st`: `{"type": "status", "status": {...}, "timestamp"}` on connect and whenever it changes."""

    kind = "status"
    interval = 1.0

    async def connect(self):
        self.access = AccessCache(self.scope["user"], access.can_listen)
        await self.accept_socket()
        self.sender = asyncio.create_task(self.send_forever())

    async def visible_status(self) -> dict:
        current = await database_sync_to_async(status.engine_status)(self.get_runtime())
        streams = {}
        for name, state in current["streams"].items():
            if await self.access.allowed(name):
                streams[name] = state
        current["streams"] = streams
        return current

    async def send_forever(self) -> None:
        last = None
        while True:
            current = await self.visible_status()
            comparable = json.dumps({**current, "streams": {k: v["state"] for k, v in current["streams"].items()}},
                                    sort_keys=True)
            if comparable != last:
                last = comparable
                await self.send_json({"type": "status", "status": current, "timestamp": now()})
            await asyncio.sleep(self.interval)

    async def receive(self, text_data=None, bytes_data=None):
        await self.send_json({"type": "status", "status": await self.visible_status(), "timestamp": now()})

    async def disconnect(self, code):
        sender = getattr(self, "sender", None)
        if sender is not None:
            sender.cancel()


class AudioSocket(TranscriptionSocket):
    """`/ws/transcription/{stream}/audio/`: binary 16 kHz mono PCM16 frames; `{"type": "stop"}` flushes."""

    kind = "speakers"

    async def connect(self):
        self.engine = None
        user = self.scope["user"]
        try:
            self.stream = self.stream_from_route()
        except InvalidStream as exc:
            return await self.refuse(CLOSE_BAD_STREAM, exc.code, exc.message)
        self.access = AccessCache(user, access.can_speak)
        if not await self.access.allowed(self.stream):
            return await self.refuse(CLOSE_FORBIDDEN, "stream_forbidden", "You may not speak on this stream.")
        live = await database_sync_to_async(access.stream_is_live)(user=user, stream=self.stream)
        await self.accept_socket()
        try:
            client = self.engine = engine_client(runtime=self.get_runtime(), stream=self.stream, speaker_id=user.pk,
                                                 reply_channel=self.channel_name, live=live)
            await client.open()
        except DomainError as exc:
            self.engine = None
            code = getattr(exc, "close_code", CLOSE_UNAVAILABLE)
            return await self.refuse(code, exc.code, exc.message, exc.retry_after)
        except Exception:
            logger.exception("could not open transcription stream %s", self.stream)
            self.engine = None
            return await self.refuse(CLOSE_UNAVAILABLE, EngineUnavailable.code, "The speech engine failed to start.",
                                     30)
        self.bucket = audio_bucket()
        await self.send_json({"type": "ready", "stream": self.stream, "sample_rate": engine.SAMPLE_RATE,
                              "format": "pcm_s16le", "channels": 1, "timestamp": now()})

    async def receive(self, text_data=None, bytes_data=None):
        if self.engine is None:
            return
        if not await self.access.allowed(self.stream):
            return await self.revoke()
        if bytes_data is not None:
            return await self.receive_audio(bytes_data)
        try:
            message = json.loads(text_data)
        except ValueError:
            message = None
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "stop":
            await self.engine.flush()
            return await self.send_json({"type": "flushed", "stream": self.stream, "timestamp": now()})
        if kind == "ping":
            return await self.send_json({"type": "pong", "timestamp": now()})
        await self.send_error("invalid_message", "Send audio as binary frames; text frames are {\"type\": \"stop\"}.")

    async def receive_audio(self, data: bytes) -> None:
        if len(data) > settings.TRANSCRIPTION_MAX_FRAME_BYTES:
            await self.send_error("frame_too_large", f"Frames are at most {settings.TRANSCRIPTION_MAX_FRAME_BYTES} "
                                  "bytes.")
            return await self.close_with(CLOSE_TOO_BIG, "frame too large")
        if len(data) % 2:
            return await self.send_error("odd_frame_length", "PCM16 frames hold an even number of bytes; "
                                         "this frame was dropped.")
        wait = self.bucket.take(len(data))
        if wait:
            return await self.send_error("rate_limited", "Audio arrives faster than the limit; this frame was "
                                         "dropped.", retry_after=round(wait, 2))
        await self.engine.feed(data)

    async def revoke(self) -> None:
        """The speaker lost the right (left, removed, grant revoked, session deleted): close 4403 now,
        then end the stream as on any disconnect (audio already received is flushed as a final)."""
        await self.refuse(CLOSE_FORBIDDEN, "stream_forbidden", "You may no longer speak on this stream.")
        await self.release_engine()

    async def disconnect(self, code):
        await self.release_engine()

    async def release_engine(self) -> None:
        client, self.engine = self.engine, None
        if client is not None:
            try:
                await client.close()
            except Exception:
                logger.exception("could not close transcription stream %s", self.stream)

    async def going_away(self) -> None:
        self.engine = None  # the engine already flushed and closed the stream
        if getattr(self, "accepted", False) and not self.closing:
            await self.send_json({"type": "closed", "stream": self.stream, "reason": "server shutting down",
                                  "timestamp": now()})
        await super().going_away()

    # Messages from the engine (channel layer).
    async def transcription_closed(self, event):
        self.engine = None
        if self.closing:
            return
        await self.send_json({"type": "closed", "stream": event["stream"], "reason": event["reason"],
                              "timestamp": now()})
        await self.close_with(event["code"], event["reason"])

    async def transcription_preempted(self, event):
        """A live session took this stream's slot in another process: say why, close 4410, end the stream
        (audio already received is flushed as a final, as on any disconnect)."""
        if self.closing or event["stream"] != getattr(self, "stream", None):
            return
        await self.send_json({"type": "closed", "stream": event["stream"], "reason": event["reason"],
                              "timestamp": now()})
        await self.close_with(event["code"], event["reason"])
        await self.release_engine()
