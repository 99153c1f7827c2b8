"""What the ASGI server can tell us about one socket's outgoing side, and the fan-out fast path.

The server-agnostic path is the one every server gets: each socket has a bounded queue
(`MESSAGING_SEND_QUEUE` frames) drained by one task through the awaited ASGI `send`. A server
whose `send` waits for the socket to drain (uvicorn, granian) fills that queue when a client stops
reading, and the consumer closes it with 4408.

A server that needs more is adapted in flashlearn/servers/ and offers it through
`flashlearn.servers.socket_access()` (installed by its worker at start-up; None in tests and under
a plain server command line). Both adapters do: each reads the bytes a socket's client has not
read yet (close 4408 past `MESSAGING_SEND_BUFFER_BYTES`; under daphne the only place a slow reader
shows, Twisted buffering without limit), and offers a direct writer that frames a fanned-out text
once per process and writes it into each socket (flashlearn/servers/daphne.py and uvicorn.py say
what that saves, with the measurement).

Our own ASGI middlewares that wrap a websocket's `send` (the handshake guard, the credential guard)
keep the send they wrap in `wrapped_send` on the object whose bound method they hand inward, and say
how the direct writer may pass them:
- `forwards_verbatim = True`: once the socket is open every frame goes through unchanged;
- a `forwards_now()` method: the wrapper's per-frame check, synchronous (True: this frame would go
  through unchanged now). The direct writer asks it before every frame; on anything but True the
  frame takes the awaited path through the wrapper's `send`, which decides (and closes the socket);
- neither: no direct writer at all, every frame goes through the wrappers' `send`.
The backlog is read through every such wrapper (reading it changes nothing).
"""

from __future__ import annotations

from collections.abc import Callable

from flashlearn import servers


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


def transport_backlog(send) -> int:
    """Bytes accepted for this socket that the client has not read yet, or 0 when unknown."""
    access = servers.socket_access()
    return access.backlog(unwrap_send(send)) if access is not None else 0


class DirectWriter:
    """`write(text) -> bool` without awaiting; False: not written, send it the awaited way.
    The wrappers' synchronous checks come first, then the server's writer."""

    __slots__ = ("write", "gates")

    def __init__(self, write: servers.DirectWrite, gates: list[Callable[[], bool]]):
        self.write = write
        self.gates = gates

    def __call__(self, text: str) -> bool:
        for gate in self.gates:
            if gate() is not True:
                return False
        return self.write(text)

    def backlog(self) -> int:
        return self.write.backlog()


def direct_writer(send) -> DirectWriter | None:
    """A synchronous writer for this socket, or None: the server offers none, or a wrapper has no
    synchronous per-frame check."""
    access = servers.socket_access()
    if access is None:
        return None
    gates: list = []
    inner = unwrap_send(send, gates=gates)
    if inner is None:
        return None
    write = access.direct_writer(inner)
    return DirectWriter(write, gates) if write is not None else None
