"""How an audio socket reaches the engine: in this process, or a worker over the channel layer."""

from __future__ import annotations

import asyncio

from channels.layers import get_channel_layer
from django.conf import settings

from flashlearn.errors import DomainError
from transcription.errors import (
    EngineAtCapacity,
    EngineUnavailable,
    StreamBusy,
    StreamForbidden,
    StreamLimitReached,
)

OPEN_TIMEOUT_SECONDS = 30.0
_REFUSALS = {cls.code: cls for cls in (EngineAtCapacity, EngineUnavailable, StreamBusy, StreamForbidden,
                                       StreamLimitReached)}


def refusal_message(exc: DomainError) -> dict:
    return {"code": exc.code, "message": exc.message, "retry_after": exc.retry_after}


def refusal_error(reply: dict) -> Exception:
    cls = _REFUSALS.get(reply.get("code"), EngineUnavailable)
    return cls(reply.get("message"), retry_after=reply.get("retry_after"))


class LocalEngine:
    """Embedded mode: the engine lives in this process."""

    def __init__(self, *, engine, stream: str, speaker_id: int, reply_channel: str, live: bool = False):
        self.stream, self.speaker_id, self.reply_channel, self.live = stream, speaker_id, reply_channel, live
        self.engine = engine

    async def open(self) -> None:
        await self.engine.open(stream=self.stream, speaker_id=self.speaker_id, reply_channel=self.reply_channel,
                               live=self.live)

    async def feed(self, data: bytes) -> None:
        await self.engine.feed(self.stream, data, owner=self.reply_channel)

    async def flush(self) -> None:
        await self.engine.flush(self.stream, owner=self.reply_channel)

    async def close(self) -> None:
        await self.engine.close(self.stream, owner=self.reply_channel)


class RemoteEngine:
    """Worker mode: `manage.py transcription_worker` owns the recorders; we relay frames to it.

    Replies come on a channel of their own: the consumer's channel is busy running the handler
    that waits for them.
    """

    def __init__(self, *, stream: str, speaker_id: int, reply_channel: str, live: bool = False):
        self.stream, self.speaker_id, self.reply_channel, self.live = stream, speaker_id, reply_channel, live
        self.layer = get_channel_layer()
        self.worker: str | None = None

    async def request(self, channel: str, message: dict, timeout: float) -> dict:
        reply_to = await self.layer.new_channel()  # default prefix: channels_redis receives one per layer
        await self.layer.send(channel, {**message, "stream": self.stream, "reply_channel": self.reply_channel,
                                        "reply_to": reply_to})
        return await asyncio.wait_for(self.layer.receive(reply_to), timeout)

    async def open(self) -> None:
        try:
            reply = await self.request(settings.TRANSCRIPTION_ENGINE_CHANNEL,
                                       {"type": "engine.open", "speaker_id": self.speaker_id, "live": self.live},
                                       OPEN_TIMEOUT_SECONDS)
        except TimeoutError as exc:
            raise EngineUnavailable("No transcription worker answered.", retry_after=30) from exc
        if reply.get("refused"):
            raise refusal_error(reply)
        self.worker = reply["worker"]

    async def feed(self, data: bytes) -> None:
        await self.layer.send(self.worker, {"type": "engine.audio", "stream": self.stream, "data": data,
                                            "reply_channel": self.reply_channel})

    async def flush(self) -> None:
        try:
            await self.request(self.worker, {"type": "engine.flush"}, 20)
        except TimeoutError:
            pass

    async def close(self) -> None:
        if self.worker:
            await self.layer.send(self.worker, {"type": "engine.close", "stream": self.stream,
                                                "reply_channel": self.reply_channel})


def engine_client(*, runtime, stream: str, speaker_id: int, reply_channel: str, live: bool = False):
    """The engine of `runtime` (a TranscriptionRuntime) in embedded mode, else a relay to a worker."""
    if settings.TRANSCRIPTION_ENGINE == "worker":
        return RemoteEngine(stream=stream, speaker_id=speaker_id, reply_channel=reply_channel, live=live)
    return LocalEngine(engine=runtime.get_engine(), stream=stream, speaker_id=speaker_id,
                       reply_channel=reply_channel, live=live)
