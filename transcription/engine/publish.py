"""A stream's sender: finals stored first (for their id), then every event to the stream's Channels
group and the all-streams group, in order. A final that could not be stored still goes out, flagged
`stored: false` (consumers follow it with a `segment_not_stored` error frame)."""

from __future__ import annotations

import logging
import time

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from transcription import groups
from transcription.engine.stream import ActiveStream

logger = logging.getLogger("transcription.engine")


async def publish_events(stream: ActiveStream) -> None:
    """One sender per stream: finals are stored first (for their id), then everything goes out in order."""
    layer = get_channel_layer()
    while True:
        event = await stream.outbox.get()
        if event is None:
            return
        if not event["final"] and not stream.outbox.empty():
            continue  # a newer event is queued: this partial is already stale
        message = {"type": "transcription.event", "stream": stream.name, "timestamp": time.time(), **event}
        if event["final"]:
            try:
                segment = await database_sync_to_async(stream.engine.store_segment)(
                    stream=stream.name, speaker_id=stream.speaker_id, text=event["text"],
                    start=event["start"], end=event["end"], seq=event["seq"])
                message["segment"], message["stored"] = segment.pk, True
            except Exception:
                # Listeners are told (a `stored: false` final and a `segment_not_stored` error frame):
                # the REST list, their durable record, will not have this sentence.
                logger.exception("could not store a final segment of %s", stream.name)
                message["segment"], message["stored"] = None, False
        try:
            await layer.group_send(groups.stream_group(stream.name), message)
            await layer.group_send(groups.ALL_STREAMS, message)
        except Exception:
            logger.exception("could not publish a transcription event of %s", stream.name)
        if event["final"]:
            stream.wake_final_waiters()


def store_segment(*, stream: str, speaker_id: int | None, text: str, start: float, end: float, seq: int):
    from transcription.services import segment_create

    return segment_create(stream=stream, speaker_id=speaker_id, text=text, start=start, end=end, seq=seq)
