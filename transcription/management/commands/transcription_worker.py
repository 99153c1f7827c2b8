"""Run the speech engine in its own process (TRANSCRIPTION_ENGINE=worker, needs REDIS_URL).

Daphne processes relay audio sockets over the channel layer: they send `engine.open` to the
shared channel TRANSCRIPTION_ENGINE_CHANNEL; the worker that takes it answers with its own
private channel, where that stream's frames (`engine.audio`), flushes and close go. Run one
worker per machine core pair; the stream cap holds across workers (Redis registry).
"""

from __future__ import annotations

import asyncio
import signal

from channels.layers import get_channel_layer
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from flashlearn.errors import DomainError
from transcription import runtime as runtime_module
from transcription.client import refusal_message
from transcription.errors import EngineUnavailable
from transcription.whisper import resolve_model


class Command(BaseCommand):
    help = "Serve transcription streams for daphne processes over the channel layer (TRANSCRIPTION_ENGINE=worker)."

    def handle(self, *args, **options):
        if not settings.REDIS_URL:
            raise CommandError("transcription_worker needs REDIS_URL (frames arrive through Redis).")
        try:
            _, name = resolve_model()
        except EngineUnavailable as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"transcription worker: model {name}, up to {settings.TRANSCRIPTION_MAX_STREAMS} streams")
        asyncio.run(self.serve())

    async def serve(self) -> None:
        runtime = runtime_module.TranscriptionRuntime()
        runtime_module.use(runtime)
        layer, engine = get_channel_layer(), runtime.get_engine()
        engine.bind()
        private = await layer.new_channel()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        runtime.start()  # exit hook and status publisher
        for signum in (signal.SIGTERM, signal.SIGINT):  # after start(): this loop's drain replaces its handlers
            loop.add_signal_handler(signum, stop.set)
        tasks = set()

        async def opened(message: dict) -> None:
            try:
                await engine.open(stream=message["stream"], speaker_id=message["speaker_id"],
                                  reply_channel=message["reply_channel"], live=bool(message.get("live")))
                reply = {"type": "transcription.opened", "worker": private}
            except DomainError as exc:
                reply = {"type": "transcription.opened", "refused": True, **refusal_message(exc)}
            await layer.send(message["reply_to"], reply)

        async def flushed(message: dict) -> None:
            await engine.flush(message["stream"], owner=message.get("reply_channel"))
            await layer.send(message["reply_to"], {"type": "transcription.flushed"})

        def spawn(coro) -> None:
            task = loop.create_task(coro)
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        async def shared_loop() -> None:
            while True:
                message = await layer.receive(settings.TRANSCRIPTION_ENGINE_CHANNEL)
                if message.get("type") == "engine.open":
                    spawn(opened(message))

        async def private_loop() -> None:
            while True:
                message = await layer.receive(private)
                kind = message.get("type")
                if kind == "engine.audio":
                    await engine.feed(message["stream"], message["data"], owner=message.get("reply_channel"))
                elif kind == "engine.flush":
                    spawn(flushed(message))
                elif kind == "engine.close":
                    spawn(engine.close(message["stream"], owner=message.get("reply_channel")))

        receivers = [loop.create_task(shared_loop()), loop.create_task(private_loop())]
        await stop.wait()
        self.stdout.write("transcription worker: flushing streams and shutting down")
        for task in receivers:
            task.cancel()
        await engine.shutdown()
        await runtime.publish_now()
