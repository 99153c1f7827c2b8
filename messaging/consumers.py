"""`/ws/live_sessions/<id>/`: live chat for the members of one session.

Close codes: 4401 no/bad token (TokenAuthMiddleware), 4403 not a member (or no longer one),
4404 the session was deleted, 4408 the client reads too slowly (its send queue overflowed).
Every frame the server sends has `type` and `timestamp`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import InterfaceError, OperationalError

from flashlearn.errors import DomainError
from messaging import events, selectors, services
from messaging import presence as presence_store
from messaging.throttle import TokenBucket, transport_backlog

logger = logging.getLogger("messaging.consumers")

CLOSE_FORBIDDEN = 4403
CLOSE_SESSION_GONE = 4404
CLOSE_TOO_SLOW = 4408
# Bytes the server may hold for one socket (unread by the client) before it is dropped as too slow.
SEND_BUFFER_LIMIT = 4 * 1024 * 1024


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


async def send_presence_delta(session_id: int, joined: list[dict], left: list[dict]) -> None:
    layer = get_channel_layer(events.channel_layer_alias())
    try:
        await layer.group_send(events.session_group(session_id), {"type": "presence", "joined": joined, "left": left})
    except Exception:
        logger.warning("presence broadcast failed", exc_info=True)


class LiveSessionConsumer(AsyncWebsocketConsumer):
    channel_layer_alias = events.channel_layer_alias()

    async def dispatch(self, message):
        """Group events skip Channels' per-dispatch `close_old_connections` thread hop.

        That hop runs through one shared thread for every consumer of the process, so a message
        to N members waited for N hops in a row (measured: p50 66 ms to 100 receivers with it,
        README "## Messaging"). Group handlers do no database work outside
        `database_sync_to_async`, which closes stale connections itself.
        """
        if message["type"].startswith("websocket."):
            return await super().dispatch(message)
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- lifecycle ----------------------------------------------------------------------

    async def connect(self):
        self.user = self.scope["user"]
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        self.group = events.session_group(self.session_id)
        self.outbox: asyncio.Queue = asyncio.Queue(maxsize=settings.MESSAGING_SEND_QUEUE)
        self.closing = False
        self.tasks: list[asyncio.Task] = []
        self.presence_entry: str | None = None
        self.replayed: set[int] = set()
        self.bucket = TokenBucket(settings.MESSAGING_WS_RATE, settings.MESSAGING_WS_BURST)
        self.last_typing = float("-inf")
        subprotocol = self.scope.get("auth_subprotocol")

        role = await database_sync_to_async(selectors.session_role)(user=self.user, session_id=self.session_id)
        if role is None:
            await self.accept(subprotocol=subprotocol)
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.role = role
        # Join the group before reading history: a message committed after the read is then
        # broadcast to us, and layer events wait until this handler returns (no gap, see replay).
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept(subprotocol=subprotocol)
        self.tasks.append(asyncio.ensure_future(self.write_loop()))

        me = events.user_payload(self.user)
        self.presence_entry = presence_store.entry(self.channel_name, self.user.pk, me["display_name"])
        try:
            if await presence_store.join(self.session_id, self.presence_entry):
                presence_store.batcher(send_presence_delta).add(self.session_id, joined=me)
            online = await presence_store.online(self.session_id)
        except Exception:  # Redis trouble: chat still works, presence catches up on the next heartbeat
            logger.warning("presence join failed", exc_info=True)
            online = [me]
        self.push({"type": "presence", "online": online, "joined": [], "left": []})
        await self.replay()
        self.tasks.append(asyncio.ensure_future(self.heartbeat_loop()))

    async def replay(self):
        raw = parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get("after")
        if not raw:
            return
        try:
            after = int(raw[0])
            if after < 0:
                raise ValueError
        except ValueError:
            self.push_error("invalid_after", "`after` must be a non-negative message id.")
            return
        limit = settings.MESSAGING_REPLAY_LIMIT
        messages = await database_sync_to_async(selectors.messages_after)(
            session_id=self.session_id, after=after, limit=limit + 1
        )
        has_more = len(messages) > limit
        for message in messages[:limit]:
            self.replayed.add(message.pk)
            self.push({"type": "message.new", "message": self.for_me(events.message_payload(message)),
                       "replay": True})
        self.push({"type": "replay.done", "count": min(len(messages), limit), "has_more": has_more,
                   "last_id": messages[limit - 1].pk if has_more else (messages[-1].pk if messages else after)})

    async def disconnect(self, code):
        self.closing = True
        for task in getattr(self, "tasks", []):
            task.cancel()
        if getattr(self, "presence_entry", None):
            try:
                if await presence_store.leave(self.session_id, self.presence_entry):
                    me = events.user_payload(self.user)
                    presence_store.batcher(send_presence_delta).add(self.session_id, left=me)
            except Exception:
                logger.warning("presence leave failed; the entry expires by itself", exc_info=True)
        if getattr(self, "group", None) and getattr(self, "role", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def heartbeat_loop(self):
        while True:
            await asyncio.sleep(presence_store.heartbeat_interval())
            try:
                await presence_store.refresh(self.session_id, self.presence_entry)
                for gone in await presence_store.prune(self.session_id):
                    presence_store.batcher(send_presence_delta).add(self.session_id, left=gone)
            except Exception:
                logger.warning("presence heartbeat failed", exc_info=True)

    # --- outgoing: one bounded queue per socket -----------------------------------------

    def push(self, frame: dict) -> None:
        if self.closing:
            return
        frame["timestamp"] = now_iso()
        try:
            self.outbox.put_nowait(json.dumps(frame))
        except asyncio.QueueFull:
            self.drop_slow()

    def drop_slow(self) -> None:
        if not self.closing:
            self.closing = True
            logger.info("dropping slow websocket client", extra={"session_id": self.session_id})
            self.tasks.append(asyncio.ensure_future(self.close(code=CLOSE_TOO_SLOW)))

    async def write_loop(self):
        while True:
            text = await self.outbox.get()
            if self.closing:
                return
            if isinstance(text, int):  # a close code queued behind the frames before it
                self.closing = True
                await self.close(code=text)
                return
            if transport_backlog(self.base_send) > SEND_BUFFER_LIMIT:
                self.drop_slow()
                return
            await self.send(text_data=text)

    def push_error(self, code: str, message: str, **extra) -> None:
        self.push({"type": "error", "code": code, "message": message, **extra})

    def for_me(self, message: dict) -> dict:
        """The author's own copies carry `client_id` (the acknowledgement); others do not see it."""
        if message["author"]["id"] != self.user.pk:
            return {**message, "client_id": None}
        return message

    # --- incoming frames ----------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if self.closing:
            return
        if not self.bucket.allow():
            self.push_error("rate_limited", "Too many frames; slow down.",
                            retry_after=round(self.bucket.retry_after(), 3))
            return
        if text_data is None:
            self.push_error("unsupported_frame", "Binary frames are not accepted; send JSON text.")
            return
        try:
            data = json.loads(text_data)
        except ValueError:
            self.push_error("malformed_json", "The frame is not valid JSON.")
            return
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            self.push_error("missing_type", "A frame is a JSON object with a string `type`.")
            return
        handler = {
            "message.send": self.on_message_send,
            "typing": self.on_typing,
            "read": self.on_read,
            "ping": self.on_ping,
        }.get(data["type"])
        if handler is None:
            self.push_error("unknown_type", f"Unknown frame type {data['type'][:50]!r}.")
            return
        try:
            await handler(data)
        except DomainError as exc:
            extra = {"fields": exc.fields} if exc.fields else {}
            if isinstance(data.get("client_id"), str):
                extra["client_id"] = data["client_id"]
            self.push_error(exc.code, exc.message, **extra)
        except (OperationalError, InterfaceError):
            self.push_error("service_unavailable", "The database is unavailable; retry.", retry_after=5)
        except Exception:
            logger.exception("websocket frame failed", extra={"type": data["type"]})
            self.push_error("server_error", "The frame could not be processed.")

    async def on_message_send(self, data: dict):
        message, created = await database_sync_to_async(services.message_send)(
            user=self.user, session_id=self.session_id, body=data.get("body"), client_id=data.get("client_id")
        )
        if not created:
            # A retry: acknowledge with the stored message, to this socket only.
            payload = await database_sync_to_async(events.message_payload)(message)
            self.push({"type": "message.new", "message": payload})

    async def on_typing(self, data: dict):
        loop_time = asyncio.get_running_loop().time()
        if loop_time - self.last_typing < settings.MESSAGING_TYPING_INTERVAL:
            return  # throttled: typing is a hint, extra ones are dropped without an error
        self.last_typing = loop_time
        await self.channel_layer.group_send(
            self.group, {"type": "typing", "user": events.user_payload(self.user), "origin": self.channel_name}
        )

    async def on_read(self, data: dict):
        membership, moved = await database_sync_to_async(services.membership_mark_read)(
            user=self.user, session_id=self.session_id, message_id=data.get("message_id")
        )
        if not moved:  # nothing broadcast: answer this socket with the current marker
            await self.push_own_read(membership.last_read_message_id)

    async def on_ping(self, data: dict):
        self.push({"type": "pong"})

    async def push_own_read(self, message_id: int | None):
        unread = await database_sync_to_async(selectors.unread_count)(user=self.user, session_id=self.session_id)
        self.push({"type": "read", "user_id": self.user.pk, "message_id": message_id, "unread_count": unread})

    # --- group events (type "a.b" is handled by method a_b) -----------------------------

    async def message_new(self, event):
        if event["message"]["id"] in self.replayed:
            return  # already sent in the replay
        self.push({"type": "message.new", "message": self.for_me(event["message"])})

    async def message_updated(self, event):
        self.push({"type": "message.updated", "message": self.for_me(event["message"])})

    async def message_deleted(self, event):
        self.push({"type": "message.deleted", "message": self.for_me(event["message"])})

    async def typing(self, event):
        if event.get("origin") != self.channel_name:
            self.push({"type": "typing", "user": event["user"]})

    async def presence(self, event):
        self.push({"type": "presence", "joined": event["joined"], "left": event["left"]})

    async def read(self, event):
        if event["user_id"] == self.user.pk:
            await self.push_own_read(event["message_id"])
        else:
            self.push({"type": "read", "user_id": event["user_id"], "message_id": event["message_id"]})

    async def session_updated(self, event):
        self.push({"type": "session.updated", "session": event["session"]})

    async def session_deleted(self, event):
        self.push({"type": "session.deleted", "session_id": event["session_id"]})
        await self.flush_and_close(CLOSE_SESSION_GONE)

    async def member_left(self, event):
        if event["user_id"] == self.user.pk:
            self.push_error("not_a_member", "You left this session.")
            await self.flush_and_close(CLOSE_FORBIDDEN)

    async def flush_and_close(self, code: int):
        """Close after the frames already queued (the writer sends them, then the close)."""
        if self.closing:
            return
        try:
            self.outbox.put_nowait(code)
        except asyncio.QueueFull:
            self.drop_slow()
