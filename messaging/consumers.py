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

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import InterfaceError, OperationalError

from flashlearn.breaker import CircuitOpen, safe_reason
from flashlearn.errors import DEPENDENCY_ERRORS, DomainError, InvalidInput
from flashlearn.rates import TokenBucket
from messaging import events, selectors, services
from messaging import presence as presence_store
from messaging.db_executor import db
from messaging.hub import encode
from messaging.runtime import runtime
from messaging.transport import direct_writer, transport_backlog

logger = logging.getLogger("messaging.consumers")

CLOSE_FORBIDDEN = 4403
CLOSE_SESSION_GONE = 4404
CLOSE_TOO_SLOW = 4408
CLOSE_TRY_AGAIN = 1013  # the database is unavailable: reconnect later
CLOSE_INTERNAL_ERROR = 1011  # the server failed unexpectedly
# A frame larger than any valid one (a 4,000-character body, JSON-escaped) is refused unparsed.
MAX_FRAME_CHARS = 64 * 1024
# message.send frames one socket may have waiting for their commit before it stops reading frames.
MAX_SENDS_IN_FLIGHT = 100


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

    async def dispatch(self, message):
        """channels' dispatch without its `close_old_connections` before every frame: that runs on
        the process's one shared thread (so every inbound frame of every socket queued there, behind
        SQLite's calls too), and this consumer never touches that thread's connection: its database
        calls run through messaging.db_executor, which closes what it used itself."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- lifecycle ----------------------------------------------------------------------

    async def connect(self):
        self.user = self.scope["user"]
        self.session_id = int(self.scope["url_route"]["kwargs"]["session_id"])
        self.connection_id = uuid.uuid4().hex
        self.outbox: asyncio.Queue = asyncio.Queue(maxsize=settings.MESSAGING_SEND_QUEUE)
        self.closing = False
        self.attached = False
        self.direct = None
        self.writing = False  # the write loop holds a frame it has not handed to the server yet
        self.tasks: list[asyncio.Task] = []
        self.send_slots = asyncio.Semaphore(MAX_SENDS_IN_FLIGHT)
        self.sending: set[asyncio.Task] = set()  # sends waiting for their group commit
        self.presence_entry: str | None = None
        # message.new frames sent outside the hub's in-order stream (replay, resync, a retry's ack):
        # {message id: seq}; the hub's copy of these is skipped, so each message is sent once.
        self.sent_early: dict[int, int | None] = {}
        self.hub_seqs: tuple[int, int] | None = None  # first and last seq this socket got from the hub
        self.held: list[tuple[str, int | None, int | None, str]] | None = []  # live frames held during a replay
        self.bucket = TokenBucket(rate=settings.MESSAGING_WS_RATE, burst=settings.MESSAGING_WS_BURST)
        self.last_typing = float("-inf")
        subprotocol = self.scope.get("auth_subprotocol")

        try:
            role = await db(selectors.session_role, user=self.user, session_id=self.session_id)
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
        await runtime().hub.attach(self.session_id, self)
        self.attached = True
        await self.accept(subprotocol=subprotocol)
        self.direct = direct_writer(self.base_send)
        self.tasks.append(asyncio.ensure_future(self.write_loop()))

        me = events.user_payload(self.user)
        self.presence_entry = presence_store.entry(self.connection_id, self.user.pk, me["display_name"])
        try:
            announce, online = await presence_store.join(self.session_id, self.presence_entry)
            if announce:
                runtime().presence_batcher.add(self.session_id, joined=me)
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
            self.release_held()

    async def replay(self):
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        if query.get("after_seq"):
            try:
                after_seq = int(query["after_seq"][0])
                if after_seq < 0:
                    raise ValueError
            except ValueError:
                self.push_error("invalid_after", "`after_seq` must be a non-negative sequence number.")
                return
            await self.send_missed(after_seq=after_seq, done="replay.done")
            return
        raw = query.get("after")
        if not raw:
            return
        try:
            after = int(raw[0])
            if after < 0:
                raise ValueError
        except ValueError:
            self.push_error("invalid_after", "`after` must be a non-negative message id.")
            return
        await self.send_missed(after_id=after, done="replay.done")

    async def send_missed(self, *, done: str, after_id: int | None = None, after_seq: int | None = None):
        """Stored messages after a message id or a seq, each marked `replay`, then a `done` frame.
        The caller holds live frames (`self.held`) until this is out."""
        limit = settings.MESSAGING_REPLAY_LIMIT
        if after_seq is not None:
            messages = await db(selectors.messages_after_seq, session_id=self.session_id, after_seq=after_seq,
                                limit=limit + 1)
        else:
            messages = await db(selectors.messages_after, session_id=self.session_id, after=after_id,
                                limit=limit + 1)
        has_more = len(messages) > limit
        messages = messages[:limit]
        for message in messages:
            self.sent_early[message.pk] = message.seq
            self.push({"type": "message.new", "seq": message.seq,
                       "message": self.for_me(events.message_payload(message)), "replay": True})
        last = messages[-1] if messages else None
        frame = {"type": done, "count": len(messages), "has_more": has_more,
                 "last_seq": last.seq if last else after_seq}
        if after_id is not None:
            frame["last_id"] = last.pk if last else after_id
        self.push(frame)

    def release_held(self) -> None:
        held, self.held = self.held, None
        for kind, message_id, seq, text in held or ():
            self.deliver_message(kind, message_id, seq, text)
    async def disconnect(self, code):
        self.closing = True
        for task in getattr(self, "tasks", []):
            task.cancel()
        if getattr(self, "attached", False):
            try:
                await runtime().hub.detach(self.session_id, self)
            except Exception:  # Redis trouble: still take this socket out of presence below
                logger.warning("hub detach failed", exc_info=True)
        if getattr(self, "presence_entry", None):
            try:
                if await presence_store.leave(self.session_id, self.presence_entry):
                    me = events.user_payload(self.user)
                    runtime().presence_batcher.add(self.session_id, left=me)
            except Exception:
                logger.warning("presence leave failed; the entry expires by itself", exc_info=True)

    async def presence_refresh(self) -> dict | None:
        """Put this socket's presence entry back (after a Redis outage); who it announces."""
        if not self.presence_entry or self.closing:
            return None
        await presence_store.refresh(self.session_id, self.presence_entry)
        return events.user_payload(self.user)

    # --- outgoing: one bounded queue per socket -----------------------------------------

    def push(self, frame: dict) -> None:
        self.push_text(encode(frame))

    def push_text(self, text: str | int) -> None:
        if self.closing:
            return
        if self.direct is not None and not self.writing and self.outbox.empty() and isinstance(text, str):
            # Nothing queued or in flight ahead of this frame, so writing now keeps the order. The
            # direct writer asks the credential guard first; a frame it does not write is queued
            # and goes through the guard's awaited `send` (which closes the socket when it must).
            if self.direct.backlog() > settings.MESSAGING_SEND_BUFFER_BYTES:
                self.drop_slow()
                return
            if self.direct(text):
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
        """Drains the outbox. It never dies silently: on an unexpected error the socket is closed
        (1013 for a dependency that is down, else 1011), not left open with nobody writing to it."""
        try:
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
                self.writing = True
                try:
                    await self.send(text_data=text)
                finally:
                    self.writing = False
        except Exception as exc:
            if isinstance(exc, (*DEPENDENCY_ERRORS, CircuitOpen)):
                code = CLOSE_TRY_AGAIN
                logger.warning("websocket write failed, closing (1013): %s", safe_reason(exc),
                               extra={"session_id": self.session_id})
            else:
                code = CLOSE_INTERNAL_ERROR
                logger.exception("websocket write loop failed, closing (1011)", extra={"session_id": self.session_id})
            self.closing = True
            try:
                await self.close(code=code)
            except Exception:
                logger.warning("websocket close after a failed write failed too", exc_info=True)

    def push_error(self, code: str, message: str, **extra) -> None:
        self.push({"type": "error", "code": code, "message": message, **extra})

    def for_me(self, message: dict) -> dict:
        """The author's own copies carry `client_id` (the acknowledgement); others do not see it."""
        return events.for_viewer(message, self.user.pk)

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
        except RecursionError:
            self.push_error("invalid_message", "The frame is nested too deeply.")
            return
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            self.push_error("missing_type", "A frame is a JSON object with a string `type`.")
            return
        handler = {
            "message.send": self.on_message_send,
            "typing": self.on_typing,
            "read": self.on_read,
            "ping": self.on_ping,
            "resync": self.on_resync,
        }.get(data["type"])
        if handler is None:
            self.push_error("unknown_type", f"Unknown frame type {data['type'][:50]!r}.")
            return
        # An error answers the frame it is about: a send's `client_id` tells the client what to retry.
        about = {"client_id": data["client_id"]} if isinstance(data.get("client_id"), str) else {}
        try:
            await handler(data)
        except Exception as exc:
            self.push_failure(exc, data["type"], about)

    def push_failure(self, exc: Exception, kind: str, about: dict) -> None:
        if isinstance(exc, DomainError):
            extra = {"fields": exc.fields} if exc.fields else {}
            self.push_error(exc.code, exc.message, **extra, **about)
        elif isinstance(exc, (OperationalError, InterfaceError)):
            retry_after = max(1, round(runtime().database_calls.retry_after()))
            self.push_error("service_unavailable", "The database is unavailable; retry.", retry_after=retry_after,
                            **about)
        else:
            logger.error("websocket frame failed", exc_info=exc, extra={"type": kind})
            self.push_error("server_error", "The frame could not be processed.", **about)

    async def on_message_send(self, data: dict):
        """Queued for the session's group commit; this socket reads its next frame meanwhile (at
        most MAX_SENDS_IN_FLIGHT queued, then it waits). The ack is the hub's copy, after commit."""
        await self.send_slots.acquire()
        try:
            future = runtime().group_commit.submit(user=self.user, session_id=self.session_id, body=data.get("body"),
                                           client_id=data.get("client_id"))
        except BaseException:
            self.send_slots.release()
            raise
        about = {"client_id": data["client_id"]} if isinstance(data.get("client_id"), str) else {}
        task = asyncio.ensure_future(self.finish_send(future, about))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    async def finish_send(self, future: asyncio.Future, about: dict) -> None:
        try:
            message, created = await future
        except Exception as exc:
            self.push_failure(exc, "message.send", about)
            return
        finally:
            self.send_slots.release()
        if not created and not self.was_sent(message.pk, message.seq):
            # A retry whose first ack this socket has not had: acknowledge it here, once (the
            # broadcast's copy is then skipped); one it already had is not acknowledged again.
            payload = events.message_payload(message)  # author loaded by the service
            self.sent_early[message.pk] = message.seq
            self.push({"type": "message.new", "seq": message.seq, "message": payload})

    async def on_typing(self, data: dict):
        loop_time = asyncio.get_running_loop().time()
        if loop_time - self.last_typing < settings.MESSAGING_TYPING_INTERVAL:
            return  # throttled: typing is a hint, extra ones are dropped without an error
        self.last_typing = loop_time
        await group_send(self.session_id, {"type": "typing", "user": events.user_payload(self.user),
                                           "origin": self.connection_id})

    async def on_read(self, data: dict):
        membership, moved = await db(
            services.membership_mark_read,
            user=self.user, session_id=self.session_id, message_id=data.get("message_id")
        )
        if not moved:  # nothing broadcast: answer this socket with the current marker
            await self.push_own_read(membership.last_read_message_id)

    async def on_ping(self, data: dict):
        self.push({"type": "pong"})

    async def on_resync(self, data: dict):
        """The client saw a gap (or reconnected): every message after `after_seq`, then `resync.done`."""
        after_seq = data.get("after_seq")
        if isinstance(after_seq, bool) or not isinstance(after_seq, int) or not 0 <= after_seq < 2**63:
            raise InvalidInput.on("after_seq", "Must be a non-negative integer.")
        if self.held is None:
            self.held = []
        try:
            await self.send_missed(after_seq=after_seq, done="resync.done")
        finally:
            self.release_held()

    async def push_own_read(self, message_id: int | None):
        unread = await db(selectors.unread_count, user=self.user, session_id=self.session_id)
        self.push({"type": "read", "user_id": self.user.pk, "message_id": message_id, "unread_count": unread})

    # --- events from the hub --------------------------------------------------------------

    def was_sent(self, message_id: int, seq: int | None) -> bool:
        if message_id in self.sent_early:
            return True
        return seq is not None and self.hub_seqs is not None and self.hub_seqs[0] <= seq <= self.hub_seqs[1]

    def deliver_message(self, kind: str, message_id: int, seq: int | None, text: str) -> None:
        """A message event from the hub, which hands them on in seq order."""
        if self.held is not None:
            self.held.append((kind, message_id, seq, text))
            return
        if kind == "message.new":
            if seq is not None:
                first = self.hub_seqs[0] if self.hub_seqs else seq
                self.hub_seqs = (first, seq)
                if self.sent_early:  # the hub is past these: nothing below `seq` comes again
                    self.sent_early = {i: s for i, s in self.sent_early.items() if s is None or s >= seq}
            if self.sent_early.pop(message_id, False) is not False:
                return  # already sent (replay, resync or a retry's ack)
        self.push_text(text)

    def deliver_text(self, text: str) -> None:
        if self.held is not None:
            self.held.append(("", None, None, text))
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
