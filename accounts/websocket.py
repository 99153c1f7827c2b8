"""Websocket token auth: `?token=<jwt>` or the `bearer, <jwt>` subprotocol.

A missing or bad token closes the socket with 4401 before any consumer runs.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser

from accounts.authentication import user_for_token
from accounts.request_meta import RequestMeta

CLOSE_UNAUTHENTICATED = 4401


def token_from_scope(scope) -> tuple[str | None, str | None]:
    """(token, subprotocol to echo back) from the handshake."""
    subprotocols = [p.strip() for p in scope.get("subprotocols") or []]
    if len(subprotocols) >= 2 and subprotocols[0].lower() == "bearer":
        return subprotocols[1], subprotocols[0]
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    tokens = query.get("token")
    return (tokens[0] if tokens else None), None


class TokenAuthMiddleware:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        token, subprotocol = token_from_scope(scope)
        user = await database_sync_to_async(user_for_token)(token, RequestMeta.from_scope(scope)) if token else None
        if user is None:
            # Accept-then-close is the only way a browser sees our close code.
            message = await receive()
            if message["type"] == "websocket.connect":
                await send({"type": "websocket.accept", **({"subprotocol": subprotocol} if subprotocol else {})})
                await send({"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED})
            return None
        scope = dict(scope, user=user or AnonymousUser(), auth_subprotocol=subprotocol)
        return await self.inner(scope, receive, send)
