"""Group commit for chat sends from websockets: concurrent sends to a session share one transaction.

Each `message.send` used to be its own transaction on a database thread (membership read,
client_id read, counter update, INSERT, COMMIT), awaited before the socket's next frame was read:
one sender topped out near 1 / (that round trip), 10-25 msg/s on this 2-core box under load
(docs/benchmarks.md). Here a send is queued for its session and its socket goes on reading; the
session's one flusher stores everything that queued up meanwhile with services.message_send_many
(one transaction) and starts over while more wait. So:

- order: sends reach the queue in the order the socket read them, a batch assigns seqs in queue
  order, and a session's batches run one after another, so one socket's messages keep its order;
- durability: a sender's future resolves only after its batch committed; a batch that fails
  (database down, a worker killed mid-batch: nothing of it is committed) fails every future in it,
  and each sender gets an error frame naming its client_id, never an acknowledgement;
- two processes meet at the session's row lock, as message_send does: seqs stay gapless;
- sessions are independent: a session whose row is locked holds up only its own senders.

After commit the new messages go to this process's hub at once (no layer round trip for the
local sockets) and to the layer for the other processes; the hub drops the layer's copy by seq.

A process (event loop) has one `GroupCommit`, delivering to its hub: `runtime().group_commit`
(messaging/runtime.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from channels.layers import get_channel_layer

from messaging import services
from messaging.db_executor import db
from messaging.events import channel_layer_alias, session_group

logger = logging.getLogger("messaging.group_commit")
MAX_BATCH = 200  # sends per transaction


class SessionQueue:
    __slots__ = ("waiting", "flusher")

    def __init__(self):
        self.waiting: list[tuple[services.SendRequest, asyncio.Future]] = []
        self.flusher: asyncio.Task | None = None


class GroupCommit:
    def __init__(self, *, deliver_local: Callable[[dict], None] | None = None) -> None:
        self.queues: dict[int, SessionQueue] = {}
        self.deliver_local = deliver_local  # the hub's deliver(event), or None
        self.outgoing: asyncio.Queue = asyncio.Queue()
        self.publisher: asyncio.Task | None = None

    def submit(self, *, user, session_id: int, body, client_id=None) -> asyncio.Future:
        """Queue one send; the future gives message_send's (message, created) after commit, or raises."""
        future = asyncio.get_running_loop().create_future()
        queue = self.queues.get(session_id)
        if queue is None:
            queue = self.queues[session_id] = SessionQueue()
        queue.waiting.append((services.SendRequest(user, session_id, body, client_id), future))
        if queue.flusher is None:
            queue.flusher = asyncio.ensure_future(self.flush(session_id, queue))
        return future

    async def flush(self, session_id: int, queue: SessionQueue) -> None:
        try:
            await asyncio.sleep(0)  # let the sends read in this loop iteration join the first batch
            while queue.waiting:
                batch, queue.waiting = queue.waiting[:MAX_BATCH], queue.waiting[MAX_BATCH:]
                live = [(request, future) for request, future in batch if not future.cancelled()]
                if live:
                    await self.store(live)
        finally:
            queue.flusher = None
            if queue.waiting:  # cancelled with sends still queued: fail them rather than leave them hanging
                for _, future in queue.waiting:
                    if not future.done():
                        future.set_exception(RuntimeError("the chat writer stopped"))
                queue.waiting = []
            if self.queues.get(session_id) is queue and not queue.waiting:
                del self.queues[session_id]

    async def store(self, batch: list[tuple[services.SendRequest, asyncio.Future]]) -> None:
        stored: list[dict] = []
        try:
            results = await db(services.message_send_many, requests=[request for request, _ in batch],
                               announce=stored.extend)
        except BaseException as exc:
            failure = exc if isinstance(exc, Exception) else RuntimeError("the chat writer was cancelled")
            for _, future in batch:
                if not future.done():
                    future.set_exception(failure)
            if not isinstance(exc, Exception):
                raise
            return
        # Committed (message_send_many ran `announce` on commit, on its thread; we are back on the loop).
        if stored:
            self.announce(stored)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    def announce(self, stored: list[dict]) -> None:
        if self.deliver_local is not None:
            for event in stored:
                try:
                    self.deliver_local({**event, "session_id": event["message"]["session"]})
                except Exception:
                    logger.exception("local delivery failed; the layer's copy or the hub's sweep delivers it")
        self.outgoing.put_nowait(stored)
        if self.publisher is None or self.publisher.done():
            self.publisher = asyncio.ensure_future(self.publish())

    async def publish(self) -> None:
        """To the other processes, in commit order (one task, so batches never overtake each other)."""
        layer = get_channel_layer(channel_layer_alias())
        while not self.outgoing.empty():
            for event in self.outgoing.get_nowait():
                session_id = event["message"]["session"]
                try:
                    await layer.group_send(session_group(session_id), {**event, "session_id": session_id})
                except Exception:  # the hub's sweep (every process's) repairs from the database
                    logger.warning("broadcast failed", exc_info=True, extra={"event": event["type"]})

