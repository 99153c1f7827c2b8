"""HTTP body cap in front of Django: a body over HTTP_MAX_BODY_BYTES is a 413 before it is read.

Declared bodies (Content-Length) are refused from the header alone; streamed ones (chunked) are
counted as they arrive and refused the moment they pass the cap, so no body larger than the cap is
ever held. Under daphne the same cap is also enforced in the server itself (flashlearn/servers/daphne.py),
because daphne buffers a whole body before the application sees any of it.
"""

from __future__ import annotations

import json

from django.conf import settings

from flashlearn.errors import error_body


class BodyTooLarge(Exception):
    pass


def too_large_body(limit: int) -> bytes:
    return json.dumps(
        error_body("payload_too_large", f"The request body is larger than the limit of {limit} bytes.")
    ).encode()


def declared_length(scope) -> int | None:
    """Content-Length as an int; -1 when the header is there but is not a number."""
    for name, value in scope.get("headers") or []:
        if name == b"content-length":
            return int(value) if value.strip().isdigit() else -1
    return None


class BodySizeLimit:
    """ASGI middleware for the HTTP side of the application (flashlearn.asgi)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.application(scope, receive, send)
        limit = settings.HTTP_MAX_BODY_BYTES
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            return await self.refuse(send, limit)
        received = 0
        started = False

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def watched_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            return await self.application(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if not started:  # Django reads the whole body before its view runs, so this is the usual case
                await self.refuse(send, limit)

    @staticmethod
    async def refuse(send, limit: int) -> None:
        body = too_large_body(limit)
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]})
        await send({"type": "http.response.body", "body": body})
