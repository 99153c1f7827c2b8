"""What the ASGI server can tell us about one socket's outgoing side.

Under daphne the ASGI `send` is `partial(server.handle_reply, protocol)`. Twisted buffers writes
without limit, so the protocol's transport is the only place a slow reader shows up, and writing
through the protocol directly skips a coroutine and a task switch per frame on the fan-out path.
Under any other server both helpers step aside (backlog 0, no direct writer).

Our own ASGI middlewares that wrap a websocket's `send` (the handshake guard, the credential guard)
keep the send they wrap in `wrapped_send` on the object whose bound method they hand inward, and say
with `forwards_verbatim` whether, once the socket is open, they pass every frame through unchanged.
The backlog is read through every such wrapper (reading it changes nothing); the direct writer is
used only when all of them forward verbatim, so a wrapper that checks each frame is never bypassed.
"""

from __future__ import annotations

from collections.abc import Callable


def unwrap_send(send, *, verbatim_only: bool = False):
    """The server's own `send` behind our wrappers (see the module docstring), or None when a wrapper
    that does not forward verbatim stands in the way and `verbatim_only` is asked for."""
    while (owner := getattr(send, "__self__", None)) is not None and hasattr(owner, "wrapped_send"):
        if verbatim_only and not getattr(owner, "forwards_verbatim", False):
            return None
        send = owner.wrapped_send
    return send


def daphne_parts(send) -> tuple[object, object] | None:
    """(daphne server, protocol) behind an ASGI `send`, or None."""
    func = getattr(send, "func", None)
    args = getattr(send, "args", ())
    server = getattr(func, "__self__", None)
    if server is None or not args or not type(server).__module__.startswith("daphne."):
        return None
    return server, args[0]


def transport_backlog(send) -> int:
    """Bytes accepted for this socket that the client has not read yet, or 0 when unknown."""
    parts = daphne_parts(unwrap_send(send))
    transport = getattr(parts[1], "transport", None) if parts else None
    if transport is None:
        return 0
    try:
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
    except (AttributeError, TypeError):
        return 0


def direct_writer(send) -> Callable[[str], bool] | None:
    """A synchronous `write(text) -> delivered` for daphne sockets (daphne's own handle_reply
    without its coroutine wrapper), or None under other servers or behind a checking wrapper."""
    parts = daphne_parts(unwrap_send(send, verbatim_only=True))
    if parts is None or not hasattr(parts[1], "handle_reply"):
        return None
    server, protocol = parts

    def write(text: str) -> bool:
        details = server.connections.get(protocol)
        if details is None or details.get("disconnected"):
            return False
        protocol.handle_reply({"type": "websocket.send", "text": text})
        return True

    return write
