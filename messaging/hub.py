"""One channel-layer subscription per process and session, shared by every local socket.

With one subscription per socket, a message to N local members costs N layer deliveries, N
deserialisations, N dispatches and N JSON encodings. The hub receives each group event once,
encodes each frame once (twice for messages: the author's copy keeps `client_id`) and hands the
text to every local socket's bounded send queue. README "## Messaging" has the figures.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from datetime import UTC, datetime

from channels.layers import get_channel_layer

from messaging.events import channel_layer_alias, session_group

logger = logging.getLogger("messaging.hub")
MESSAGE_EVENTS = ("message.new", "message.updated", "message.deleted")


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def encode(frame: dict) -> str:
    return json.dumps({**frame, "timestamp": now_iso()})


class SessionHub:
    def __init__(self):
        self.layer = get_channel_layer(channel_layer_alias())
        self.channel: str | None = None
        self.sessions: dict[int, set] = {}
        self.lock = asyncio.Lock()
        self.reader: asyncio.Task | None = None

    async def attach(self, session_id: int, socket) -> None:
        async with self.lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel()
                self.reader = asyncio.ensure_future(self.read_loop())
            sockets = self.sessions.get(session_id)
            if sockets is None:
                await self.layer.group_add(session_group(session_id), self.channel)
                sockets = self.sessions[session_id] = set()
            sockets.add(socket)

    async def detach(self, session_id: int, socket) -> None:
        async with self.lock:
            sockets = self.sessions.get(session_id)
            if sockets is None:
                return
            sockets.discard(socket)
            if not sockets:
                del self.sessions[session_id]
                await self.layer.group_discard(session_group(session_id), self.channel)

    async def read_loop(self) -> None:
        while True:
            try:
                event = await self.layer.receive(self.channel)
            except Exception:  # Redis trouble: keep the process's sockets subscribed, retry
                logger.warning("hub receive failed; retrying", exc_info=True)
                await asyncio.sleep(1)
                continue
            try:
                self.deliver(event)
            except Exception:
                logger.exception("hub could not deliver an event", extra={"event": event.get("type")})

    def deliver(self, event: dict) -> None:
        sockets = list(self.sessions.get(event.get("session_id"), ()))
        if not sockets:
            return
        kind = event["type"]
        if kind in MESSAGE_EVENTS:
            message = event["message"]
            full = encode({"type": kind, "message": message})
            public = encode({"type": kind, "message": {**message, "client_id": None}}) if message["client_id"] else full
            author = message["author"]["id"]
            for socket in sockets:
                socket.deliver_message(kind, message["id"], full if socket.user.pk == author else public)
        elif kind == "typing":
            text = encode({"type": "typing", "user": event["user"]})
            for socket in sockets:
                if socket.connection_id != event.get("origin"):
                    socket.deliver_text(text)
        elif kind == "presence":
            text = encode({"type": "presence", "joined": event["joined"], "left": event["left"]})
            for socket in sockets:
                socket.deliver_text(text)
        else:  # rare, per-socket decisions: read receipts, session changes, a member leaving
            for socket in sockets:
                socket.handle_event(event)


_hubs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def hub() -> SessionHub:
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = SessionHub()
    return found
