"""What the ASGI server can tell us about one socket's outgoing side, and the fan-out fast path.

Under daphne the ASGI `send` is `partial(server.handle_reply, protocol)`. Twisted buffers writes
without limit, so the protocol's transport is the only place a slow reader shows up, and writing
through the protocol directly skips a coroutine and a task switch per frame on the fan-out path.
Under any other server both helpers step aside (backlog 0, no direct writer).

Our own ASGI middlewares that wrap a websocket's `send` (the handshake guard, the credential guard)
keep the send they wrap in `wrapped_send` on the object whose bound method they hand inward, and say
how the direct writer may pass them:
- `forwards_verbatim = True`: once the socket is open every frame goes through unchanged;
- a `forwards_now()` method: the wrapper's per-frame check, synchronous (True: this frame would go
  through unchanged now). The direct writer asks it before every frame; on anything but True the
  frame takes the awaited path through the wrapper's `send`, which decides (and closes the socket);
- neither: no direct writer at all, every frame goes through the wrappers' `send`.
The backlog is read through every such wrapper (reading it changes nothing).

A frame the hub hands to many sockets is the same `str` object for all of them: the direct writer
frames it once per process (autobahn's prepared message, the RFC 6455 bytes ready for any server
socket that did not negotiate compression) and writes those bytes to each socket.
"""

from __future__ import annotations

from collections.abc import Callable


def unwrap_send(send, *, gates: list | None = None):
    """The server's own `send` behind our wrappers (see the module docstring).

    With `gates` (a list to fill), each wrapper's per-frame check is appended to it, and None is
    returned when a wrapper neither forwards verbatim nor has a synchronous check.
    """
    while (owner := getattr(send, "__self__", None)) is not None and hasattr(owner, "wrapped_send"):
        if gates is not None and not getattr(owner, "forwards_verbatim", False):
            check = getattr(owner, "forwards_now", None)
            if check is None:
                return None
            gates.append(check)
        send = owner.wrapped_send
    return send


def daphne_parts(send) -> tuple[object, object] | None:
    """(daphne server, protocol) behind an ASGI `send`, or None."""
    func = getattr(send, "func", None)
    args = getattr(send, "args", ())
    server = getattr(func, "__self__", None)
    # daphne's Server or a subclass (flashlearn/daphne_server.py's runs as `__main__` under `-m`)
    if server is None or not args or not any(c.__module__ == "daphne.server" for c in type(server).__mro__):
        return None
    return server, args[0]


def protocol_backlog(protocol) -> int:
    transport = getattr(protocol, "transport", None)
    if transport is None:
        return 0
    try:
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
    except (AttributeError, TypeError):
        return 0


def transport_backlog(send) -> int:
    """Bytes accepted for this socket that the client has not read yet, or 0 when unknown."""
    parts = daphne_parts(unwrap_send(send))
    return protocol_backlog(parts[1]) if parts else 0


class PreparedFrames:
    """Frames built once per process for the texts the hub is fanning out (a few at a time)."""

    LIMIT = 16

    def __init__(self):
        self.frames: dict[str, object] = {}

    def get(self, factory, text: str):
        frame = self.frames.get(text)
        if frame is None:
            if len(self.frames) >= self.LIMIT:
                self.frames.clear()
            frame = self.frames[text] = factory.prepareMessage(text.encode("utf8"), isBinary=False)
        return frame


prepared_frames = PreparedFrames()


class DirectWriter:
    """`write(text) -> bool` straight into daphne's protocol; False: not written, send it the awaited way."""

    __slots__ = ("server", "protocol", "gates")

    def __init__(self, server, protocol, gates: list[Callable[[], bool]]):
        self.server = server
        self.protocol = protocol
        self.gates = gates

    def __call__(self, text: str) -> bool:
        for gate in self.gates:
            if gate() is not True:
                return False
        protocol = self.protocol
        details = self.server.connections.get(protocol)
        if details is None or details.get("disconnected") or protocol.state != protocol.STATE_OPEN:
            return False  # the awaited path knows what to do with a closing socket
        frame = prepared_frames.get(protocol.factory, text)
        if protocol.send_queue or getattr(protocol, "_perMessageCompress", None) is not None:
            protocol.sendPreparedMessage(frame)  # autobahn's own path: queued chops, or compression
        else:
            # What sendPreparedMessage does here, without its debug-log arguments (built eagerly:
            # a third of its cost in the 1,000-member profile, docs/benchmarks.md).
            protocol.transport.write(frame.payloadHybi)
        return True

    def backlog(self) -> int:
        return protocol_backlog(self.protocol)


def direct_writer(send) -> DirectWriter | None:
    """A synchronous writer for daphne sockets (see DirectWriter), or None under other servers or
    behind a wrapper that has no synchronous per-frame check."""
    gates: list = []
    parts = daphne_parts(unwrap_send(send, gates=gates))
    if parts is None or not hasattr(parts[1], "sendPreparedMessage"):
        return None
    return DirectWriter(parts[0], parts[1], gates)
