"""Websocket token auth: `?token=<jwt>` or the `bearer, <jwt>` subprotocol.

A missing or bad token closes the socket with 4401 before any consumer runs. An accepted socket
lives only as long as its credentials: it is closed with 4401 at the token's `exp`, and once the
user's token version changes (password change, deactivation, refresh-token reuse), the user is
deactivated or deleted, or the session the token belongs to is logged out. The check runs before
every outgoing frame (the database is asked at most every WS_AUTH_RECHECK_SECONDS) and on a timer,
so a silent socket is cut off too. It works for every route: the consumer sees an ordinary
disconnect (code 4401) and never sends another frame.

A database outage during a re-check is not a revocation: the socket stays open (its credentials
held at the last check), the check is retried within OUTAGE_RECHECK_SECONDS, and `exp` is still
enforced, since it needs no database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings

from accounts.authentication import SocketCredentials, socket_credentials_for_token, socket_credentials_hold
from accounts.request_meta import RequestMeta
from flashlearn.breaker import CircuitOpen, safe_reason
from flashlearn.errors import DEPENDENCY_ERRORS, ServiceUnavailable

logger = logging.getLogger("accounts.websocket")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_TRY_AGAIN_LATER = 1013  # the token could not be checked now (Supabase's keys unreachable)
# While the database cannot answer a re-check, the next one is due this soon (or sooner, at the
# usual WS_AUTH_RECHECK_SECONDS).
OUTAGE_RECHECK_SECONDS = 2.0
RECHECK_FAILURES = (*DEPENDENCY_ERRORS, CircuitOpen)


def token_from_scope(scope) -> tuple[str | None, str | None]:
    """(token, subprotocol to echo back) from the handshake."""
    subprotocols = [p.strip() for p in scope.get("subprotocols") or []]
    if len(subprotocols) >= 2 and subprotocols[0].lower() == "bearer":
        return subprotocols[1], subprotocols[0]
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    tokens = query.get("token")
    return (tokens[0] if tokens else None), None


class CredentialGuard:
    """Sits between one socket's consumer and the server: closes the socket with 4401 when its
    credentials lapse, and tells the consumer it is gone."""

    forwards_verbatim = False  # messaging.transport: each outgoing frame is checked (forwards_now), never bypassed

    def __init__(self, credentials: SocketCredentials, server_send, *, recheck_seconds: float):
        self.credentials = credentials
        self.server_send = server_send
        self.wrapped_send = server_send
        self.recheck_seconds = recheck_seconds
        self.checked_at = time.monotonic()  # the middleware checked everything just now
        self.valid = True
        self.outage = False  # the last re-check could not reach the database
        self.closed = asyncio.Event()
        self._lock = asyncio.Lock()

    async def still_valid(self) -> bool:
        if self.valid and time.time() >= self.credentials.expires_at:
            self.valid = False
        if self.valid and time.monotonic() - self.checked_at >= self.recheck_seconds:
            async with self._lock:  # concurrent senders share one database read
                if time.monotonic() - self.checked_at >= self.recheck_seconds:
                    await self._recheck()
        return self.valid

    async def _recheck(self) -> None:
        try:
            holds = await database_sync_to_async(socket_credentials_hold)(self.credentials)
        except RECHECK_FAILURES as exc:
            # Not a revocation: keep the socket (valid at the last check), try again soon.
            retry_in = min(self.recheck_seconds, OUTAGE_RECHECK_SECONDS)
            self.checked_at = time.monotonic() - self.recheck_seconds + retry_in
            if not self.outage:  # one warning per outage per socket, not one per retry
                self.outage = True
                logger.warning(
                    "websocket credential re-check failed, socket kept open, retrying in %.1fs: %s",
                    retry_in, safe_reason(exc), extra={"user_id": self.credentials.user_id},
                )
            return
        if self.outage:
            self.outage = False
            logger.info("websocket credential re-check works again", extra={"user_id": self.credentials.user_id})
        self.checked_at = time.monotonic()
        self.valid = self.valid and holds

    def forwards_now(self) -> bool:
        """The per-frame check without awaiting, for a writer that skips `send` (messaging.transport):
        True when a frame would go through now (not closed, token unexpired, the last database check,
        kept fresh by `watch`, within WS_AUTH_RECHECK_SECONDS and passed). Anything else, the frame
        must take `send`, which reads the database if due and closes the socket when it must."""
        return (
            self.valid and not self.closed.is_set() and time.time() < self.credentials.expires_at
            and time.monotonic() - self.checked_at < self.recheck_seconds
        )

    async def close(self) -> None:
        if not self.closed.is_set():
            self.closed.set()
            await self.server_send({"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED})

    async def send(self, message) -> None:
        if self.closed.is_set():
            return  # closed for its credentials: nothing more goes out
        if message.get("type") == "websocket.send" and not await self.still_valid():
            await self.close()
            return
        await self.server_send(message)

    async def receive(self, server_receive):
        disconnect = {"type": "websocket.disconnect", "code": CLOSE_UNAUTHENTICATED}
        if self.closed.is_set():
            return disconnect
        incoming = asyncio.ensure_future(server_receive())
        closing = asyncio.ensure_future(self.closed.wait())
        try:
            await asyncio.wait({incoming, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closing.cancel()
            if not incoming.done():
                incoming.cancel()
        return incoming.result() if incoming.done() and not incoming.cancelled() else disconnect

    async def watch(self) -> None:
        """The timer: wakes at `exp` and whenever a re-check is due, so silence does not keep a
        socket. An error in one round is logged and the timer goes on: it must never die silently."""
        while not self.closed.is_set():
            until_expiry = max(0.0, self.credentials.expires_at - time.time()) + 0.05
            until_due = max(0.05, self.checked_at + self.recheck_seconds - time.monotonic())
            await asyncio.sleep(min(self.recheck_seconds, until_expiry, until_due))
            try:
                if not await self.still_valid():
                    await self.close()
            except Exception:
                logger.exception("websocket credential timer round failed; retrying",
                                 extra={"user_id": self.credentials.user_id})


class TokenAuthMiddleware:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        token, subprotocol = token_from_scope(scope)
        found, refusal = None, CLOSE_UNAUTHENTICATED
        if token:
            try:
                found = await database_sync_to_async(socket_credentials_for_token)(token, RequestMeta.from_scope(scope))
            except ServiceUnavailable:
                refusal = CLOSE_TRY_AGAIN_LATER
        if found is None:
            # Accept-then-close is the only way a browser sees our close code.
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.accept", **({"subprotocol": subprotocol} if subprotocol else {})})
                await send({"type": "websocket.close", "code": refusal})
            return None
        user, credentials = found
        guard = CredentialGuard(credentials, send, recheck_seconds=settings.WS_AUTH_RECHECK_SECONDS)
        scope = dict(
            scope, user=user, auth_subprotocol=subprotocol,
            auth_expires_at=credentials.expires_at, auth_token_version=credentials.token_version,
        )
        watcher = asyncio.ensure_future(guard.watch())
        try:
            return await self.inner(scope, lambda: guard.receive(receive), guard.send)
        finally:
            watcher.cancel()
