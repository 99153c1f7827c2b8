"""Websocket handshakes during an outage: a prompt "try again", never a hang or an HTTP 500.

The token check reads the database and consumers join channel-layer groups on Redis. When
either fails during the handshake, daphne answers the upgrade with an HTTP 500 (or nothing at all
while the pool waits). This outer ASGI middleware turns a dependency error raised before or
during the handshake into: accept, one JSON error frame, close 1013 ("try again later"), the
only refusal a browser can read. (Plain daphne will not send 1013, autobahn's sendClose refuses
it; `manage.py serve` runs each server through its adapter in flashlearn/servers/, which sends
it.) While the database circuit breaker is open the handshake is refused that way at once, without the token check.

    {"type": "error", "code": "database_unavailable", "message": "...", "retry_after": 5}

Each refusal caused by an error is logged once (one line, the error's message without secrets);
refusals by an open breaker are not: the breaker logged the outage when it began.
"""

from __future__ import annotations

import json
import logging

import redis

from flashlearn.breaker import DATABASE, CircuitOpen, breaker_for, safe_reason
from flashlearn.errors import DATABASE_RETRY_AFTER_SECONDS, DEPENDENCY_ERRORS

logger = logging.getLogger("flashlearn.ws_guard")

CLOSE_TRY_AGAIN_LATER = 1013
_MESSAGES = {
    "database_unavailable": "The database is unavailable. Retry later.",
    "cache_unavailable": "The cache is unavailable. Retry later.",
}


def unavailable_code(exc: BaseException | None) -> str:
    if isinstance(exc, redis.exceptions.RedisError):
        return "cache_unavailable"
    if isinstance(exc, CircuitOpen) and exc.name != DATABASE:
        return "cache_unavailable"
    return "database_unavailable"


class _Handshake:
    """What the inner application has done with the socket so far."""

    forwards_verbatim = True  # messaging.transport: every frame goes through unchanged

    def __init__(self, receive, send):
        self.receive_inner, self.send_inner = receive, send
        self.wrapped_send = send
        self.connected = self.accepted = self.closed = self.disconnected = False

    async def receive(self):
        message = await self.receive_inner()
        if message["type"] == "websocket.connect":
            self.connected = True
        elif message["type"] == "websocket.disconnect":
            self.disconnected = True
        return message

    async def send(self, message):
        if message["type"] == "websocket.accept":
            self.accepted = True
        elif message["type"] in ("websocket.close", "websocket.http.response.start"):
            self.closed = True
        await self.send_inner(message)


class DependencyGuard:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        handshake = _Handshake(receive, send)
        database = breaker_for(DATABASE)
        if database.is_open():
            return await self.refuse(scope, handshake, "database_unavailable", database.retry_after())
        try:
            return await self.inner(scope, handshake.receive, handshake.send)
        except (*DEPENDENCY_ERRORS, CircuitOpen) as exc:
            if handshake.closed or handshake.disconnected:
                raise  # the socket is already over: nothing left to tell the client
            code = unavailable_code(exc)
            logger.warning(
                "websocket refused, try again: %s", safe_reason(exc),
                extra={"path": scope.get("path", ""), "code": code},
            )
            retry_after = exc.retry_after if isinstance(exc, CircuitOpen) else DATABASE_RETRY_AFTER_SECONDS
            return await self.refuse(scope, handshake, code, retry_after)

    @staticmethod
    async def refuse(scope, handshake: _Handshake, code: str, retry_after: int) -> None:
        if not handshake.connected:
            message = await handshake.receive()
            if message["type"] != "websocket.connect":
                return
        if not handshake.accepted:
            # A browser that offered subprotocols (`bearer, <token>`) fails a handshake that picks none.
            offered = scope.get("subprotocols") or []
            await handshake.send({"type": "websocket.accept", **({"subprotocol": offered[0]} if offered else {})})
        frame = {"type": "error", "code": code, "message": _MESSAGES[code], "retry_after": retry_after}
        await handshake.send({"type": "websocket.send", "text": json.dumps(frame)})
        await handshake.send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})
