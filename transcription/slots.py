"""Who holds the engine's stream slots, and who gives one up when a live session needs it.

The rules (issue 10, item 11; docs/security.md, "## Transcription slots"):
- at most TRANSCRIPTION_MAX_STREAMS slots in all, one speaker per stream;
- at most TRANSCRIPTION_MAX_STREAMS_PER_USER slots per account, so one account cannot hold them all;
- a stream of a live session that finds no free slot takes the one of the `user-{id}` stream that
  has been idle longest (no voiced audio, transcription/voice.py); when the per-account limit is what
  stops it, only one of that account's own user streams qualifies. Live-session streams are never taken.

LocalSlots keeps them for one process (no REDIS_URL); transcription/registry.py's StreamRegistry
applies the same rules in one Redis script, so they hold across processes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from transcription.errors import EngineAtCapacity, StreamBusy, StreamLimitReached


@dataclass
class Holder:
    stream: str
    user: str
    channel: str  # the speaker socket's reply channel: where a preemption is announced
    voiced: float  # wall-clock time of its last voiced audio (its opening until it speaks)


def is_user_stream(stream: str) -> bool:
    return stream.startswith("user-")


def at_capacity(cap: int, retry_after: int) -> EngineAtCapacity:
    return EngineAtCapacity(f"All {cap} transcription streams are in use; retry after {retry_after} s.",
                            retry_after=retry_after)


def user_limit(per_user: int) -> StreamLimitReached:
    return StreamLimitReached(f"This account already speaks on {per_user} transcription stream"
                              f"{'' if per_user == 1 else 's'}; close it before opening another.")


class LocalSlots:
    """One process's slots. Every method runs on the event loop without awaiting, so each is atomic."""

    def __init__(self) -> None:
        self.held: dict[str, Holder] = {}

    async def claim(self, *, stream: str, user: str, live: bool, channel: str, cap: int, per_user: int,
                    retry_after: int) -> Holder | None:
        """Take a slot for `stream`; returns the holder it was taken from (already released), if any."""
        if stream in self.held:
            raise StreamBusy()
        over_user = sum(1 for h in self.held.values() if h.user == user) >= per_user
        over_cap = len(self.held) >= cap
        victim = None
        if over_user or over_cap:
            if live:
                candidates = [h for h in self.held.values()
                              if is_user_stream(h.stream) and (not over_user or h.user == user)]
                victim = min(candidates, key=lambda h: h.voiced, default=None)
            if victim is None:
                raise user_limit(per_user) if over_user else at_capacity(cap, retry_after)
            del self.held[victim.stream]
        self.held[stream] = Holder(stream=stream, user=user, channel=channel, voiced=time.time())
        return victim

    async def release(self, stream: str, channel: str) -> None:
        holder = self.held.get(stream)
        if holder is not None and holder.channel == channel:
            del self.held[stream]

    async def heartbeat(self, voiced: dict[str, tuple[str, float]]) -> None:
        """{stream: (channel, last voiced)} of the streams this engine serves."""
        for stream, (channel, when) in voiced.items():
            holder = self.held.get(stream)
            if holder is not None and holder.channel == channel and math.isfinite(when):
                holder.voiced = when
