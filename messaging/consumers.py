"""`/ws/live_sessions/<id>/`: live chat for the members of one session.

Close codes: 4401 no/bad token (TokenAuthMiddleware), 4403 not a member (or no longer one),
4404 the session was deleted, 4408 the client reads too slowly (its send queue overflowed),
1013 the database is unavailable (try again later).
Every frame the server sends has `type` and `timestamp`.

Group events reach sockets through `messaging.hub` (one layer subscription per process and
session), so this consumer has no channel of its own (`channel_layer_alias = None`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import InterfaceError, OperationalError

from flashlearn.errors import DomainError
from messaging import events, selectors, services
from messaging import presence as presence_store
from messaging.hub import encode, hub
from messaging.throttle import TokenBucket
from messaging.transport import direct_writer, transport_backlog

logger = logging.getLogger("messaging.consumers")

CLOSE_FORBIDDEN = 4403
CLOSE_SESSION_GONE = 4404
CLOSE_TOO_SLOW = 4408
CLOSE_TRY_AGAIN = 1013  # the database is unavailable: reconnect later
# A frame larger than any valid one (a 4,000-character body, JSON-escaped) is refused unparsed.
MAX_FRAME_CHARS = 64 * 1024


async def group_send(session_id: int, event: dict) -> None:
    layer = get_channel_layer(events.channel_layer_alias())
    try:
        await layer.group_send(events.session_group(session_id), {**event, "session_id": session_id})
    except Exception:
        logger.warning("broadcast failed", exc_info=True, extra={"event": event["type"]})


async def send_presence_delta(session_id: int, joined: list[dict], left: list[dict]) -> None:
    await group_send(session_id, {"type": "presence", "joined": joined, "left": left})


class LiveSessionConsumer(AsyncWebsocketConsumer):
    channel_layer_alias = None  # events come through the hub

    # --- lifecycle ----------------------------------------------------------------------

    async def connect(self):
        self.user = self.scope["user"]
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        self.connection_id = uuid.uuid4().hex
        self.outbox: asyncio.Queue = asyncio.Queue(maxsize=settings.MESSAGING_SEND_QUEUE)
        self.closing = False
        self.attached = False
        self.direct = None
        self.tasks: list[asyncio.Task] = []
        self.presence_entry: str | None = None
        self.replayed: set[int] = set()
        self.held: list[tuple[int | None, str]] | None = []  # live frames held back during the replay
        self.bucket = TokenBucket(settings.MESSAGING_WS_RATE, settings.MESSAGING_WS_BURST)
        self.last_typing = float("-inf")
        subprotocol = self.scope.get("auth_subprotocol")

        try:
            role = await database_sync_to_async(selectors.session_role)(user=self.user, session_id=self.session_id)
        except (OperationalError, InterfaceError):
            logger.warning("database unavailable on websocket connect")
            await self.accept(subprotocol=subprotocol)
            await self.close(code=CLOSE_TRY_AGAIN)
            return
        if role is None:
            await self.accept(subprotocol=subprotocol)
            await self.close(code=CLOSE_FORBIDDEN)
            return
        # Subscribe before reading history: anything committed after the read is then delivered
        # live; live frames wait in `held` until the replay is out, and replayed ids are skipped.
        await hub().attach(self.session_id, self)
        self.attached = True
        await self.accept(subprotocol=subprotocol)
        self.direct = direct_writer(self.base_send)
        self.tasks.append(asyncio.ensure_future(self.write_loop()))

        me = events.user_payload(self.user)
        self.presence_entry = presence_store.entry(self.connection_id, self.user.pk, me["display_name"])
        try:
            if await presence_store.join(self.session_id, self.presence_entry):
                presence_store.batcher(send_presence_delta).add(self.session_id, joined=me)
            online = await presence_store.online(self.session_id)
        except Exception:  # Redis trouble: chat still works, presence catches up on the next heartbeat
            logger.warning("presence join failed", exc_info=True)
            online = [me]
        self.push({"type": "presence", "online": online, "joined": [], "left": []})
        try:
            await self.replay()
        except (OperationalError, InterfaceError):
            # The socket is open and attached: close it the normal way so `disconnect` cleans up.
            logger.warning("database unavailable during websocket replay")
            self.push_error("service_unavailable", "The database is unavailable; reconnect later.", retry_after=5)
            self.close_after_queued(CLOSE_TRY_AGAIN)
        finally:
            held, self.held = self.held, None
            for message_id, text in held:
                if message_id is None or message_id not in self.replayed:
                    self.push_text(text)
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
        if getattr(self, "attached", False):
            try:
                await hub().detach(self.session_id, self)
            except Exception:  # Redis trouble: still take this socket out of presence below
                logger.warning("hub detach failed", exc_info=True)
        if getattr(self, "presence_entry", None):
            try:
                if await presence_store.leave(self.session_id, self.presence_entry):
                    me = events.user_payload(self.user)
                    presence_store.batcher(send_presence_delta).add(self.session_id, left=me)
            except Exception:
                logger.warning("presence leave failed; the entry expires by itself", exc_info=True)

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
        self.push_text(encode(frame))

    def push_text(self, text: str | int) -> None:
        if self.closing:
            return
        if self.direct is not None and self.outbox.empty() and isinstance(text, str):
            # Nothing queued ahead of this frame (the writer never yields between taking a frame
            # and handing it to daphne), so writing now keeps the order.
            if transport_backlog(self.base_send) > settings.MESSAGING_SEND_BUFFER_BYTES:
                self.drop_slow()
            else:
                self.direct(text)
            return
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.drop_slow()

    def drop_slow(self) -> None:
        if not self.closing:
            self.closing = True
            logger.warning("dropping slow websocket client (close 4408)", extra={"session_id": self.session_id})
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
            if transport_backlog(self.base_send) > settings.MESSAGING_SEND_BUFFER_BYTES:
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

    def close_after_queued(self, code: int) -> None:
        if not self.closing:
            self.push_text(code)

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
        if len(text_data) > MAX_FRAME_CHARS:
            self.push_error("frame_too_large", f"Frames are at most {MAX_FRAME_CHARS} characters.")
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
        await group_send(self.session_id, {"type": "typing", "user": events.user_payload(self.user),
                                           "origin": self.connection_id})

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

    # --- events from the hub --------------------------------------------------------------

    def deliver_message(self, kind: str, message_id: int, text: str) -> None:
        if kind == "message.new" and message_id in self.replayed:
            return  # already sent in the replay
        if self.held is not None:
            self.held.append((message_id if kind == "message.new" else None, text))
        else:
            self.push_text(text)

    def deliver_text(self, text: str) -> None:
        if self.held is not None:
            self.held.append((None, text))
        else:
            self.push_text(text)

    def handle_event(self, event: dict) -> None:
        kind = event["type"]
        if kind == "read":
            if event["user_id"] == self.user.pk:
                self.tasks.append(asyncio.ensure_future(self.push_own_read(event["message_id"])))
            else:
                self.push({"type": "read", "user_id": event["user_id"], "message_id": event["message_id"]})
        elif kind == "session.updated":
            self.push({"type": "session.updated", "session": event["session"]})
        elif kind == "session.deleted":
            self.push({"type": "session.deleted", "session_id": event["session_id"]})
            self.close_after_queued(CLOSE_SESSION_GONE)
        elif kind == "member.left" and event["user_id"] == self.user.pk:
            self.push_error("not_a_member", "You left this session.")
            self.close_after_queued(CLOSE_FORBIDDEN)
