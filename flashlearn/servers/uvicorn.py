"""`python -m flashlearn.servers.uvicorn FD`: one uvicorn worker serving the project on an inherited socket.

Written for uvicorn 0.38 with httptools, its `websockets` implementation (websockets 15's legacy
protocol) and uvloop; checked at start-up, contract tests in flashlearn/tests/test_servers.py.
What this module adds to uvicorn, with the same behaviour as the daphne adapter:

- the socket: uvicorn's own `--fd` wraps the descriptor as an AF_UNIX socket whatever it is, and
  asyncio then skips TCP_NODELAY on every connection (Nagle + delayed ACKs: ~40 ms stalls);
  `socket.socket(fileno=fd)` reads the real family from the descriptor;
- request heads: httptools has no size limit of its own, so `HeadLimit` answers a request line
  over HTTP_MAX_REQUEST_LINE_BYTES with 414 and a head over HTTP_MAX_HEADER_BYTES with 431 before
  the application sees the request (the bytes were read by then: the cap protects the
  application, not the parser); bodies are capped by flashlearn.request_limits in the application;
- websocket messages: `ws_max_size` at the largest route cap (close 1009); no permessage-deflate;
- SIGTERM/SIGINT drain: uvicorn's own graceful shutdown closes every websocket with 1012 at once;
  `DrainingServer.shutdown` first tells each open websocket to reconnect (a JSON frame, then close
  1001) through the public `websockets` API, then lets uvicorn finish in-flight requests within
  WEB_SHUTDOWN_GRACE. It reads `server_state.connections`, uvicorn's set of open protocols.
- messaging's fan-out (UvicornSockets, installed through flashlearn.servers.serving; see
  messaging/transport.py): a text fanned out to many sockets is framed once per process
  (websockets' `Frame.serialize`) and its bytes written straight into each open socket's
  transport, skipping per socket the queue, a task switch, uvicorn's `asgi_send` and websockets
  building the frame again. The slow-reader measure (close 4408 past MESSAGING_SEND_BUFFER_BYTES)
  is then the transport's public `get_write_buffer_size()`; frames the direct writer does not
  take go the awaited way, where `send` waits for the socket to drain and a client that stops
  reading fills the bounded queue (4408 too). It relies on websockets' legacy protocol
  (WRITTEN_FOR_WEBSOCKETS; another major version turns it off, the awaited path stays) and on
  uvicorn's `asgi_send` being the bound method the application gets as `send`. Measured to pay
  (docs/benchmarks.md, "uvicorn direct writer", five alternating runs each way): sustained rate
  to 100 members 100 -> 300 msg/s (0.50x -> 0.75x of bare websockets), fan-out to 1,000 p50
  35.2 -> 28.1 ms (0.55x -> 0.65x).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import socket
import sys
import time

import uvicorn
import websockets

from flashlearn import servers

logger = logging.getLogger("flashlearn.server")

WRITTEN_FOR_UVICORN = "0.38"
WRITTEN_FOR_WEBSOCKETS = "15.0"  # the library behind uvicorn's `websockets` implementation (its legacy protocol)
GOING_AWAY = 1001
RECONNECT_AFTER_SECONDS = 1
CLOSE_WAIT_SECONDS = 2.0


def check_version(version: str = uvicorn.__version__) -> None:
    servers.check_version(server="uvicorn", written_for=WRITTEN_FOR_UVICORN, found=version)


def worker_command(fd: int) -> list[str]:
    return [sys.executable, "-m", "flashlearn.servers.uvicorn", str(fd)]


def raw_error(status: int, code: str, message: str):
    from flashlearn.errors import error_body

    return status, json.dumps(error_body(code, message)).encode()


class HeadLimit:
    """ASGI: 414 for a long request line, 431 for a long head, before the application runs."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            refusal = self.refusal(scope)
            if refusal is not None:
                status, body = refusal
                await send({"type": "http.response.start", "status": status,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    @staticmethod
    def refusal(scope):
        from django.conf import settings

        target = scope.get("raw_path") or scope["path"].encode()
        # "METHOD SP target[?query] SP HTTP/x.y": what a client wrote on its request line
        query = scope["query_string"]
        line = len(scope["method"]) + 1 + len(target) + (1 + len(query) if query else 0) + 9
        if line > settings.HTTP_MAX_REQUEST_LINE_BYTES:
            return raw_error(414, "request_line_too_long",
                             f"The request line is longer than {settings.HTTP_MAX_REQUEST_LINE_BYTES} bytes.")
        head = line + 2 + sum(len(name) + len(value) + 4 for name, value in scope["headers"])
        if head > settings.HTTP_MAX_HEADER_BYTES:
            return raw_error(431, "headers_too_large",
                             f"The request headers are larger than {settings.HTTP_MAX_HEADER_BYTES} bytes.")
        return None


def application():
    """uvicorn's app factory: the project behind the head limits."""
    from flashlearn.asgi import application as project

    return HeadLimit(project)


def config() -> uvicorn.Config:
    from django.conf import settings

    # No access log (RequestLogMiddleware logs each request as JSON), no proxy-header rewriting
    # (accounts reads X-Forwarded-For itself, CLIENT_IP_PROXY_COUNT), no lifespan (Channels' router
    # has none).
    return uvicorn.Config(
        "flashlearn.servers.uvicorn:application", factory=True, lifespan="off", access_log=False,
        proxy_headers=False, server_header=False, log_level="warning", http="httptools", ws="websockets",
        loop="uvloop", timeout_graceful_shutdown=max(settings.WEB_SHUTDOWN_GRACE - 1.0, 1.0),
        ws_max_size=max(settings.WS_CHAT_MAX_BYTES, settings.TRANSCRIPTION_MAX_FRAME_BYTES),
        ws_ping_interval=None,  # as under daphne (--websocket_timeout -1): the apps run their own heartbeats
        # As under daphne: no permessage-deflate. Fan-out would compress every frame once per socket
        # (the frames are built once per process), and chat frames are small.
        ws_per_message_deflate=False,
    )


class DrainingServer(uvicorn.Server):
    async def shutdown(self, sockets=None):
        for server in self.servers:
            server.close()  # stop accepting first, as uvicorn's shutdown does
        sockets_open = [c for c in list(self.server_state.connections) if self.open_websocket(c)]
        frame = json.dumps({"type": "reconnect", "reason": "server shutting down",
                            "retry_after": RECONNECT_AFTER_SECONDS})
        logger.info("draining: %d websockets closing", len(sockets_open))
        deadline = time.monotonic() + CLOSE_WAIT_SECONDS
        await asyncio.gather(*(self.going_away(c, frame, deadline) for c in sockets_open), return_exceptions=True)
        await super().shutdown(sockets=sockets)

    @staticmethod
    def open_websocket(connection) -> bool:
        from uvicorn.protocols.websockets.websockets_impl import WebSocketProtocol

        return (isinstance(connection, WebSocketProtocol) and connection.handshake_completed_event.is_set()
                and connection.open)

    @staticmethod
    async def going_away(connection, frame: str, deadline: float) -> None:
        await connection.send(frame)
        connection.close_timeout = max(0.1, deadline - time.monotonic())
        await connection.close(code=GOING_AWAY, reason="server shutting down")


# --- Fan-out: unread bytes and the direct writer (messaging/transport.py) ---------------------


class PreparedFrames:
    """The wire bytes of the texts being fanned out (a few at a time), built once per process: an
    unmasked, uncompressed text frame is the same bytes for every server-side socket."""

    LIMIT = 16

    def __init__(self):
        self.frames: dict[str, bytes] = {}

    def get(self, text: str) -> bytes:
        frame = self.frames.get(text)
        if frame is None:
            from websockets.frames import Frame, Opcode

            if len(self.frames) >= self.LIMIT:
                self.frames.clear()
            frame = self.frames[text] = Frame(Opcode.TEXT, text.encode("utf-8")).serialize(mask=False, extensions=[])
        return frame


def transport_backlog(protocol) -> int:
    """Bytes asyncio holds for this connection that the kernel has not taken (the client is not reading)."""
    transport = protocol.transport
    if transport is None or transport.is_closing():
        return 0
    return transport.get_write_buffer_size()


class DirectWriter:
    """`write(text) -> bool` straight into one uvicorn websocket's transport; False: not written, send
    it the awaited way (the socket is not open, is closing, or negotiated an extension)."""

    __slots__ = ("protocol", "frames")

    def __init__(self, protocol, frames: PreparedFrames):
        self.protocol = protocol
        self.frames = frames

    def __call__(self, text: str) -> bool:
        protocol = self.protocol
        # `open`: the handshake is done and no close has begun (websockets' public property).
        # A fragmented message in progress (`send` of an iterable, which nothing here does) would
        # be split by a frame written in between: that one goes the awaited way too.
        if not protocol.open or protocol.extensions or protocol._fragmented_message_waiter is not None:
            return False
        transport = protocol.transport
        if transport.is_closing():
            return False
        transport.write(self.frames.get(text))
        return True

    def backlog(self) -> int:
        return transport_backlog(self.protocol)


class UvicornSockets:
    """flashlearn.servers.SocketAccess for one uvicorn server. The application's `send` for a
    websocket is the protocol's bound `asgi_send` (pinned by
    test_servers.test_uvicorn_send_is_the_protocols_bound_asgi_send): that is how a socket is found,
    and only among this server's open connections."""

    def __init__(self, server: uvicorn.Server):
        from uvicorn.protocols.websockets.websockets_impl import WebSocketProtocol

        self.connections = server.server_state.connections
        self.asgi_send = WebSocketProtocol.asgi_send
        self.frames = PreparedFrames()

    def protocol(self, send):
        if getattr(send, "__func__", None) is not self.asgi_send:
            return None
        protocol = send.__self__
        return protocol if protocol in self.connections else None

    def backlog(self, send) -> int:
        protocol = self.protocol(send)
        return transport_backlog(protocol) if protocol is not None else 0

    def direct_writer(self, send) -> DirectWriter | None:
        protocol = self.protocol(send)
        return DirectWriter(protocol, self.frames) if protocol is not None else None


def socket_access(server: uvicorn.Server, version: str = websockets.__version__) -> UvicornSockets | None:
    """The fan-out access for `server`, or None (the awaited path only) under another major version of
    websockets, whose protocol internals the direct writer may no longer match."""
    if version.split(".")[0] != WRITTEN_FOR_WEBSOCKETS.split(".")[0]:
        logger.warning("flashlearn.servers.uvicorn's fan-out writer was written for websockets %s.x, found %s: "
                       "off (every frame takes uvicorn's awaited send)", WRITTEN_FOR_WEBSOCKETS, version)
        return None
    return UvicornSockets(server)


def main() -> None:
    check_version()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("fd", type=int, help="an inherited, listening TCP socket")
    args = parser.parse_args()
    listener = socket.socket(fileno=args.fd)
    importlib.import_module(servers.APPLICATION.split(":")[0])  # sets Django up before config() reads settings
    server = DrainingServer(config())
    servers.serving(socket_access(server))
    server.run(sockets=[listener])


if __name__ == "__main__":
    main()
