"""One channel-layer subscription per process and session, shared by every local socket.

With one subscription per socket, a message to N local members costs N layer deliveries, N
deserialisations, N dispatches and N JSON encodings. The hub receives each group event once,
encodes each frame once (twice for messages: the author's copy keeps `client_id`) and hands the
text to every local socket's bounded send queue. docs/messaging.md has the figures.

The layer is a fast path, not the record: a broadcast lost to a Redis outage is gone. The database
is the record, and every message has a gapless per-session `seq`. The hub remembers the last seq it
delivered per session and hands its sockets messages strictly in seq order:
- an event whose seq jumps ahead (a gap) waits while the missing messages are read from the database;
- a probe through the layer (MESSAGING_HUB_PROBE_INTERVAL) notices an outage; while it lasts the hub
  delivers from the database each interval, and when it ends it subscribes again, catches up and
  re-announces its members' presence;
- a sweep (MESSAGING_HUB_SWEEP_INTERVAL) compares each session's newest seq with what was delivered,
  for a broadcast that was lost without the layer looking down (a publisher that failed).
docs/operations.md "Chat delivery guarantees" says what clients get from this.

A process (event loop) has one hub: `runtime().hub` (messaging/runtime.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime

from channels.layers import get_channel_layer
from django.conf import settings

from messaging import events, selectors
from messaging import presence as presence_store
from messaging.db_executor import db
from messaging.events import channel_layer_alias, session_group
from messaging.runtime import runtime

logger = logging.getLogger("messaging.hub")
MESSAGE_EVENTS = ("message.new", "message.updated", "message.deleted")
REPAIR_PAGE = 200  # messages read from the database per query while repairing a gap


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def encode(frame: dict) -> str:
    return json.dumps({**frame, "timestamp": now_iso()})


def seq_of(event: dict) -> int | None:
    return event["message"].get("seq")


class SessionState:
    """What this process delivered in one session, and what waits for a repair."""

    __slots__ = ("sockets", "last_seq", "pending", "repair", "heartbeat")

    def __init__(self):
        self.heartbeat: asyncio.Task | None = None
        self.sockets: set = set()
        self.last_seq: int | None = None  # newest seq handed to the sockets, in order
        self.pending: list[dict] | None = []  # message events held until the baseline/a repair is done
        self.repair: asyncio.Task | None = None


class SessionHub:
    def __init__(self) -> None:
        self.layer = get_channel_layer(channel_layer_alias())
        self.channel: str | None = None
        self.sessions: dict[int, SessionState] = {}
        self.lock = asyncio.Lock()
        self.tasks: set[asyncio.Task] = set()
        self.probe_waiter: tuple[str, asyncio.Future] | None = None
        self.layer_up = True

    def watching(self, session_id: int) -> int:
        """How many of this process's sockets are attached to a session."""
        state = self.sessions.get(session_id)
        return len(state.sockets) if state is not None else 0

    def caught_up(self, session_id: int) -> bool:
        """Whether the hub watches a session and has no baseline read or repair in progress there."""
        state = self.sessions.get(session_id)
        return state is not None and state.pending is None

    # --- sockets --------------------------------------------------------------------------

    async def attach(self, session_id: int, socket) -> None:
        async with self.lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel()
                self.spawn(self.read_loop())
                self.spawn(self.watch_loop())
            state = self.sessions.get(session_id)
            created = state is None
            if created:
                state = self.sessions[session_id] = SessionState()
                try:
                    await self.layer.group_add(session_group(session_id), self.channel)
                except Exception:
                    del self.sessions[session_id]
                    raise
            state.sockets.add(socket)
        if created:
            state.repair = self.spawn(self.start(session_id, state))
            state.heartbeat = self.spawn(self.presence_loop(session_id, state))

    async def detach(self, session_id: int, socket) -> None:
        async with self.lock:
            state = self.sessions.get(session_id)
            if state is None:
                return
            state.sockets.discard(socket)
            if not state.sockets:
                del self.sessions[session_id]
                if state.repair is not None:
                    state.repair.cancel()
                if state.heartbeat is not None:
                    state.heartbeat.cancel()
                await self.layer.group_discard(session_group(session_id), self.channel)

    def spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def presence_loop(self, session_id: int, state: SessionState) -> None:
        """The presence heartbeat of this process's sockets in one session: one refresh of all their
        entries and one prune per interval. (It was one of each per socket: a thousand sockets that
        connected together refreshed together, a thousand Redis round trips in a burst that held
        up broadcasts every interval.)"""
        while True:
            await asyncio.sleep(presence_store.heartbeat_interval())
            try:
                entries = [s.presence_entry for s in list(state.sockets)
                           if getattr(s, "presence_entry", None) and not s.closing]
                await presence_store.refresh_many(session_id, entries)
                for gone in await presence_store.prune(session_id):
                    runtime().presence_batcher.add(session_id, left=gone)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("presence heartbeat failed", exc_info=True)

    # --- events from the layer -----------------------------------------------------------

    async def read_loop(self) -> None:
        while True:
            try:
                event = await self.layer.receive(self.channel)
            except Exception:  # Redis trouble: keep the process's sockets subscribed, retry
                logger.warning("hub receive failed; retrying", exc_info=True)
                self.layer_up = False
                await asyncio.sleep(1)
                continue
            try:
                self.deliver(event)
            except Exception:
                logger.exception("hub could not deliver an event", extra={"event": event.get("type")})

    def deliver(self, event: dict) -> None:
        kind = event["type"]
        if kind == "hub.probe":
            if self.probe_waiter and self.probe_waiter[0] == event.get("token"):
                if not self.probe_waiter[1].done():
                    self.probe_waiter[1].set_result(True)
            return
        state = self.sessions.get(event.get("session_id"))
        if state is None or not state.sockets:
            return
        sockets = list(state.sockets)
        if kind in MESSAGE_EVENTS:
            self.ordered(event.get("session_id"), state, event)
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

    def ordered(self, session_id: int, state: SessionState, event: dict) -> None:
        """Hand message events on in seq order, each new message once; a jump starts a repair."""
        seq = seq_of(event)
        if seq is None:  # an event from a process that predates seq: pass it on as it is
            self.fan_out(state, event)
            return
        if state.pending is not None:  # a repair runs: it hands this on in order
            state.pending.append(event)
            return
        if state.last_seq is None:  # no baseline (the database was down at attach): start here
            state.last_seq = seq - 1 if event["type"] == "message.new" else seq
        if event["type"] == "message.new":
            if seq <= state.last_seq:
                return  # already delivered (from the database, or a repeated broadcast)
            if seq == state.last_seq + 1:
                state.last_seq = seq
                self.fan_out(state, event)
                return
        elif seq <= state.last_seq:
            self.fan_out(state, event)
            return
        state.pending = [event]  # seq jumped ahead: fetch what lies between
        state.repair = self.spawn(self.repair(session_id, state))

    def fan_out(self, state: SessionState, event: dict) -> None:
        kind = event["type"]
        message = event["message"]
        seq = message.get("seq")
        full = encode({"type": kind, "seq": seq, "message": message})
        public = (
            encode({"type": kind, "seq": seq, "message": {**message, "client_id": None}})
            if message.get("client_id") else full
        )
        author = message["author"]["id"]
        for socket in list(state.sockets):
            socket.deliver_message(kind, message["id"], seq, full if socket.user.pk == author else public)

    # --- repair from the database ----------------------------------------------------------

    async def start(self, session_id: int, state: SessionState) -> None:
        """Take the session's newest seq as the baseline (the first socket's replay covers what
        came before), then hand on what arrived meanwhile."""
        try:
            latest = await db(selectors.session_last_seqs, session_ids=[session_id])
            state.last_seq = latest.get(session_id, 0)
        except Exception:
            logger.warning("hub could not read where session %s stands; repairs start at its next message",
                           session_id, exc_info=True)
        await self.repair(session_id, state, fetch=state.last_seq is not None)

    async def repair(self, session_id: int, state: SessionState, *, fetch: bool = True) -> None:
        """Deliver from the database every message after `last_seq`, then the held events in order.

        A held event that still jumps ahead sends us back to the database; when the database has
        nothing to fill the jump with (a row an operator deleted), the jump is accepted.
        """
        try:
            while True:
                found = await self.catch_up(session_id, state) if fetch and state.last_seq is not None else 0
                fetch = True
                held = sorted(state.pending or [], key=seq_of)
                state.pending = []
                for index, event in enumerate(held):
                    seq = seq_of(event)
                    if state.last_seq is None:
                        state.last_seq = seq - 1
                    if event["type"] == "message.new":
                        if seq <= state.last_seq:
                            continue
                        if seq > state.last_seq + 1 and found:
                            state.pending = held[index:]  # something is still in flight: ask again
                            break
                        state.last_seq = seq
                    self.fan_out(state, event)
                else:
                    state.pending = None
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("hub repair of session %s failed; retrying", session_id, exc_info=True)
            await asyncio.sleep(settings.MESSAGING_HUB_PROBE_INTERVAL)
            if self.sessions.get(session_id) is state:
                state.repair = self.spawn(self.repair(session_id, state))
        finally:
            if state.pending is None:
                state.repair = None

    async def catch_up(self, session_id: int, state: SessionState) -> int:
        """Deliver every stored message after `last_seq`, in order; how many there were."""
        total = 0
        while True:
            rows = await db(selectors.messages_after_seq, session_id=session_id, after_seq=state.last_seq,
                            limit=REPAIR_PAGE)
            for message in rows:
                if message.seq > state.last_seq:
                    state.last_seq = message.seq
                    self.fan_out(state, {"type": "message.new", "message": events.message_payload(message)})
            total += len(rows)
            if len(rows) < REPAIR_PAGE or self.sessions.get(session_id) is not state:
                return total

    async def sweep(self) -> None:
        """Compare what each session holds with what was delivered; repair where behind."""
        idle = {sid: st for sid, st in self.sessions.items() if st.pending is None and st.last_seq is not None}
        if not idle:
            return
        latest = await db(selectors.session_last_seqs, session_ids=list(idle))
        for session_id, seq in latest.items():
            state = idle[session_id]
            if seq > state.last_seq and state.pending is None and self.sessions.get(session_id) is state:
                state.pending = []
                state.repair = self.spawn(self.repair(session_id, state))

    # --- the layer's health -----------------------------------------------------------------

    async def probe(self) -> bool:
        """A round trip through the layer to our own channel, within one probe interval."""
        token = uuid.uuid4().hex
        waiter = asyncio.get_running_loop().create_future()
        self.probe_waiter = (token, waiter)
        timeout = max(settings.MESSAGING_HUB_PROBE_INTERVAL, 0.5)
        try:
            await asyncio.wait_for(self.layer.send(self.channel, {"type": "hub.probe", "token": token}), timeout)
            await asyncio.wait_for(waiter, timeout)
            return True
        except Exception:
            return False
        finally:
            self.probe_waiter = None

    async def watch_loop(self) -> None:
        interval = settings.MESSAGING_HUB_PROBE_INTERVAL
        loop = asyncio.get_running_loop()
        next_sweep = loop.time() + settings.MESSAGING_HUB_SWEEP_INTERVAL
        while True:
            await asyncio.sleep(interval)
            try:
                up = await self.probe()
                if not up and self.layer_up:
                    logger.warning("chat channel layer unreachable; delivering from the database until it is back")
                elif up and not self.layer_up:
                    logger.warning("chat channel layer is back; catching up and re-announcing presence")
                    await self.recover()
                self.layer_up = up
                if not up or loop.time() >= next_sweep:
                    next_sweep = loop.time() + settings.MESSAGING_HUB_SWEEP_INTERVAL
                    await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("hub watch step failed", exc_info=True)

    async def recover(self) -> None:
        """After an outage: subscribe again (a restarted Redis forgot groups), deliver what was
        missed, and tell everyone who is here (joins and leaves during the outage were lost)."""
        for session_id in list(self.sessions):
            try:
                await self.layer.group_add(session_group(session_id), self.channel)
            except Exception:
                logger.warning("hub could not re-subscribe to session %s", session_id, exc_info=True)
        await self.sweep()
        for session_id, state in list(self.sessions.items()):
            members: dict[int, dict] = {}
            for socket in list(state.sockets):
                try:
                    member = await socket.presence_refresh()
                except Exception:
                    logger.warning("presence refresh failed", exc_info=True)
                    continue
                if member:
                    members[member["id"]] = member
            if members:
                try:
                    await self.layer.group_send(session_group(session_id), {
                        "type": "presence", "session_id": session_id, "joined": list(members.values()), "left": []})
                except Exception:
                    logger.warning("presence re-announce failed", exc_info=True)
        self.spawn(self.presence_snapshot_later())

    async def presence_snapshot_later(self) -> None:
        """Once the other processes had time to re-announce, give every local socket the full list."""
        await asyncio.sleep(settings.MESSAGING_HUB_PROBE_INTERVAL * 2)
        for session_id, state in list(self.sessions.items()):
            try:
                online = await presence_store.online(session_id)
            except Exception:
                continue
            text = encode({"type": "presence", "online": online, "joined": [], "left": []})
            for socket in list(state.sockets):
                socket.deliver_text(text)

