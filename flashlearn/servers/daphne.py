"""`python -m flashlearn.servers.daphne [daphne options] APP`: daphne, adapted in this one module.

`manage.py serve` runs one of these per worker. Daphne's command line and Server are used as they
are; what daphne offers no option for is added here, against the daphne version named below
(checked at start-up; flashlearn/tests/test_servers.py holds the contract tests):

- request heads: a request line over HTTP_MAX_REQUEST_LINE_BYTES is a 414 and a head over
  HTTP_MAX_HEADER_BYTES a 431, answered (Twisted would answer 400 or just drop the connection);
- request bodies: over HTTP_MAX_BODY_BYTES is a 413 as soon as that is known, before the body is
  buffered (daphne reads a whole body, then copies it into the application's queue at once);
- websocket messages: autobahn's maxMessagePayloadSize/maxFramePayloadSize at the largest route
  cap, so an oversized frame is refused from its header (close 1009) instead of being assembled;
- SIGTERM/SIGINT drain (Drain below): stop accepting, let in-flight HTTP
  requests finish, tell each websocket to reconnect (a JSON frame, then close 1001), and stop
  within WEB_SHUTDOWN_GRACE;
- websocket close codes: the application may close with the server-side codes of RFC 6455 and
  its registry (1001 going away, 1011 internal error, 1012 service restart, 1013 try again later,
  1014 bad gateway); autobahn's sendClose accepts only 1000 and 3000-4999 and raises on these.
  (This replaces the patch of daphne's serverClose that transcription applied at import time: it
  is part of this server, applied when the server starts.)
- messaging's fan-out (DaphneSockets, installed through flashlearn.servers.serving): Twisted
  buffers writes without limit, so an awaited `send` never pushes back and a bounded queue never
  fills; the unread bytes in the socket's transport (Twisted's private `_tempDataLen` and
  `dataBuffer`) are the only place a slow reader shows (close 4408, MESSAGING_SEND_BUFFER_BYTES).
  And a frame fanned out to many sockets is framed once per process and written straight into
  each protocol, skipping a coroutine, a task switch and autobahn's per-frame framing and debug
  logging per socket: measured to pay (docs/benchmarks.md, "Chat fan-out": fan-out to 1,000 p50
  170.6 -> 146.6 ms; docs/decisions/asgi-server.md has the same-run comparison of servers).
"""

from __future__ import annotations

import daphne.server  # isort:skip  (installs the asyncio reactor: before anything imports Twisted's)

import json
import logging
import signal
import sys
import time
from functools import partial

import daphne
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.ws_protocol import WebSocketProtocol
from django.conf import settings
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory

from flashlearn import servers

logger = logging.getLogger("flashlearn.server")

WRITTEN_FOR_DAPHNE = "4.2"
GOING_AWAY = 1001
# Sent with sendCloseFrame, which writes any code: sendClose refuses all but 1000 and 3000-4999.
SERVER_CLOSE_CODES = frozenset({1001, 1011, 1012, 1013, 1014})
DRAIN_POLL_SECONDS = 0.1
RECONNECT_AFTER_SECONDS = 1


def check_version(version: str = daphne.__version__) -> None:
    """Another major version may have moved what this module adapts: refuse to start on one."""
    servers.check_version(server="daphne", written_for=WRITTEN_FOR_DAPHNE, found=version)


def worker_command(fd: int) -> list[str]:
    """daphne's own command line on the inherited socket `fd`, through this adapter. No access log
    (RequestLogMiddleware logs each request as JSON), no proxy headers (accounts reads
    X-Forwarded-For itself, CLIENT_IP_PROXY_COUNT), no websocket timeout."""
    return [sys.executable, "-m", "flashlearn.servers.daphne", "--fd", str(fd), "-v", "0",
            "--websocket_timeout", "-1", servers.APPLICATION]


def websocket_max_message_bytes() -> int:
    """The server-wide cap: the largest per-route cap (flashlearn.request_limits enforces those)."""
    return max(settings.WS_CHAT_MAX_BYTES, settings.TRANSCRIPTION_MAX_FRAME_BYTES)


def raw_response(status: int, reason: str, body: bytes) -> bytes:
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode("ascii") + body


def error_json(code: str, message: str) -> bytes:
    from flashlearn.errors import error_body

    return json.dumps(error_body(code, message)).encode()


# --- Bodies ---------------------------------------------------------------------------------


class LimitedRequest(WebRequest):
    """Daphne's request, refusing a body over HTTP_MAX_BODY_BYTES as soon as that is known."""

    refused = False

    def gotLength(self, length):  # noqa: N802 (Twisted's name): called once the headers are in
        self.body_limit = settings.HTTP_MAX_BODY_BYTES
        self.body_received = 0
        if length is not None and length > self.body_limit:
            self.refuse_body()
            length = 0  # no temporary file for a body we will not read
        super().gotLength(length)

    def handleContentChunk(self, data):  # noqa: N802 (each piece of body, declared or chunked)
        if self.refused:
            return
        self.body_received += len(data)
        if self.body_received > self.body_limit:
            self.refuse_body()
            return
        super().handleContentChunk(data)

    def process(self):
        if self.refused:
            return None
        return super().process()

    def refuse_body(self) -> None:
        from flashlearn.request_limits import too_large_body

        self.refused = True
        self.channel.transport.write(raw_response(413, "Content Too Large", too_large_body(self.body_limit)))
        self.channel.loseConnection()


class LimitedHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr):  # noqa: N802
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = LimitedRequest
        return protocol


# --- Request heads --------------------------------------------------------------------------


class HeadLimit(ProtocolWrapper):
    """Counts the bytes of each request head before Twisted parses it: 414 for a long request line,
    431 for a long head. Only heads are watched: after a head the connection's bytes pass straight
    through until the request is answered (its body is daphne's business, capped above).
    A head ends at b"\r\n\r\n" only, as in Twisted's HTTPChannel (a LineReceiver on b"\r\n"): a bare-LF
    head is never parsed there, so it is refused here at the cap as Twisted would (400 at 16 KiB). Ending
    at b"\n\n" too would stop the watch early on a head Twisted still reads, skipping the cap
    (test_transport.test_head_limit_ends_a_head_where_twisted_does pins this against Twisted upgrades)."""

    def __init__(self, factory, wrapped):
        super().__init__(factory, wrapped)
        self.watching = True
        self.head = b""

    def dataReceived(self, data):  # noqa: N802
        if self.watching:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            line_end = self.head.find(b"\r\n")
            line_length = line_end if line_end >= 0 else len(self.head)
            head_length = end if end >= 0 else len(self.head)
            if line_length > settings.HTTP_MAX_REQUEST_LINE_BYTES:
                return self.refuse(414, "URI Too Long", "request_line_too_long",
                                   f"The request line is longer than {settings.HTTP_MAX_REQUEST_LINE_BYTES} bytes.")
            if head_length > settings.HTTP_MAX_HEADER_BYTES:
                return self.refuse(431, "Request Header Fields Too Large", "headers_too_large",
                                   f"The request headers are larger than {settings.HTTP_MAX_HEADER_BYTES} bytes.")
            if end >= 0:
                # One head checked; later requests on a kept-alive connection rely on Twisted's own
                # limit (16 KiB, answered 400): telling their heads from bodies needs a full parser.
                self.watching = False
                self.head = b""
        super().dataReceived(data)

    def refuse(self, status: int, reason: str, code: str, message: str) -> None:
        self.watching = False
        self.head = b""
        self.transport.write(raw_response(status, reason, error_json(code, message)))
        self.transport.loseConnection()


class HeadLimitFactory(WrappingFactory):
    protocol = HeadLimit


# --- Websocket close codes -----------------------------------------------------------------


class FlashlearnWebSocketProtocol(WebSocketProtocol):
    """Daphne's websocket protocol, closing with the server-side codes autobahn's sendClose refuses."""

    def serverClose(self, code=None):  # noqa: N802 (daphne's name): the application's websocket.close
        if code in SERVER_CLOSE_CODES:
            self.sendCloseFrame(code=code, isReply=False)
            return
        super().serverClose(code=code)


# --- Shutdown -------------------------------------------------------------------------------


class Drain:
    """SIGTERM/SIGINT: stop accepting, finish in-flight HTTP, websockets 1001, stop by the deadline."""

    def __init__(self, server: FlashlearnServer, grace: float):
        self.server = server
        self.grace = grace
        self.deadline: float | None = None

    def install(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.on_signal)

    def on_signal(self, signum, frame) -> None:
        from twisted.internet import reactor

        reactor.callFromThread(self.begin)

    def begin(self) -> None:
        if self.deadline is not None:
            return
        self.deadline = time.monotonic() + self.grace
        for port in self.server.ports:
            port.stopListening()
        frame = json.dumps({"type": "reconnect", "reason": "server shutting down",
                            "retry_after": RECONNECT_AFTER_SECONDS}).encode()
        for protocol in self.open_websockets():
            if protocol.state != protocol.STATE_OPEN:
                continue  # already closing (transcription closed its own sockets first)
            protocol.sendMessage(frame, isBinary=False)
            protocol.sendCloseFrame(code=GOING_AWAY, isReply=False)  # sendClose refuses 1001 (RFC: server-only)
        logger.info("draining: %d requests in flight, %d websockets closing",
                    len(self.requests_in_flight()), len(self.open_websockets()))
        self.wait()

    def open_websockets(self) -> list[WebSocketProtocol]:
        return [p for p, details in list(self.server.connections.items())
                if isinstance(p, WebSocketProtocol) and "disconnected" not in details
                and p.state in (p.STATE_OPEN, p.STATE_CLOSING)]

    def requests_in_flight(self) -> list[WebRequest]:
        return [p for p, details in list(self.server.connections.items())
                if isinstance(p, WebRequest) and "disconnected" not in details]

    def wait(self) -> None:
        from twisted.internet import reactor

        busy = self.requests_in_flight() or self.open_websockets()
        if busy and time.monotonic() < self.deadline:
            reactor.callLater(DRAIN_POLL_SECONDS, self.wait)
            return
        if busy:
            logger.warning("shutdown grace of %ss ran out with %d requests and %d websockets open",
                           self.grace, len(self.requests_in_flight()), len(self.open_websockets()))
        self.server.stop()


# --- Fan-out: unread bytes and the direct writer (messaging/transport.py) ---------------------


def protocol_backlog(protocol) -> int:
    """Bytes Twisted holds for this connection that the kernel has not taken (the client is not reading).
    Twisted has no public reading of this: FileDescriptor's `dataBuffer`/`offset`/`_tempDataLen`
    (test_servers.test_twisted_write_buffer_is_where_the_adapter_reads_it pins them)."""
    transport = getattr(protocol, "transport", None)
    if transport is None:
        return 0
    try:
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
    except (AttributeError, TypeError):
        return 0


class PreparedFrames:
    """Frames built once per process for the texts being fanned out (a few at a time)."""

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


class DirectWriter:
    """`write(text) -> bool` straight into daphne's protocol; False: not written, send it the awaited way.
    A text the hub hands to many sockets is the same `str`: it is framed once (autobahn's prepared
    message, the RFC 6455 bytes for any socket that did not negotiate compression)."""

    __slots__ = ("server", "protocol", "frames")

    def __init__(self, server, protocol, frames: PreparedFrames):
        self.server = server
        self.protocol = protocol
        self.frames = frames

    def __call__(self, text: str) -> bool:
        protocol = self.protocol
        details = self.server.connections.get(protocol)
        if details is None or details.get("disconnected") or protocol.state != protocol.STATE_OPEN:
            return False  # the awaited path knows what to do with a closing socket
        frame = self.frames.get(protocol.factory, text)
        if protocol.send_queue or getattr(protocol, "_perMessageCompress", None) is not None:
            protocol.sendPreparedMessage(frame)  # autobahn's own path: queued chops, or compression
        else:
            # What sendPreparedMessage does here, without its debug-log arguments (built eagerly:
            # a third of its cost in the 1,000-member profile, docs/benchmarks.md).
            protocol.transport.write(frame.payloadHybi)
        return True

    def backlog(self) -> int:
        return protocol_backlog(self.protocol)


class DaphneSockets:
    """flashlearn.servers.SocketAccess for one daphne server. Daphne's ASGI `send` for a connection is
    `partial(server.handle_reply, protocol)` (Server.create_application; pinned by
    test_servers.test_daphne_send_is_a_partial_of_handle_reply): that is how a socket is found."""

    def __init__(self, server):
        self.server = server
        self.frames = PreparedFrames()

    def protocol(self, send):
        if isinstance(send, partial) and getattr(send.func, "__self__", None) is self.server and send.args:
            return send.args[0]
        return None

    def backlog(self, send) -> int:
        protocol = self.protocol(send)
        return protocol_backlog(protocol) if protocol is not None else 0

    def direct_writer(self, send) -> DirectWriter | None:
        protocol = self.protocol(send)
        if protocol is None or not hasattr(protocol, "sendPreparedMessage"):
            return None
        return DirectWriter(self.server, protocol, self.frames)


# --- Server and command line ----------------------------------------------------------------


class FlashlearnServer(daphne.server.Server):
    def __init__(self, *args, **kwargs):
        kwargs["signal_handlers"] = False  # Drain owns SIGTERM/SIGINT (Twisted's would stop at once)
        kwargs["ready_callable"] = self.adapt
        super().__init__(*args, **kwargs)
        self.ports = []
        self.drain = Drain(self, grace=max(settings.WEB_SHUTDOWN_GRACE - 1.0, 1.0))

    @property
    def http_factory(self):
        return self.limited_http_factory

    @http_factory.setter
    def http_factory(self, factory):
        # Server.run() builds daphne's HTTPFactory and listens with it; ours is its subclass (body
        # cap) behind the head-limit wrapper. Websocket upgrades find daphne's protocol through the
        # wrapper, as they do behind TLS.
        self.limited_http_factory = HeadLimitFactory(LimitedHTTPFactory(self))

    def listen_success(self, port):
        self.ports.append(port)
        super().listen_success(port)

    def adapt(self) -> None:
        """Daphne's ready hook: the factories exist, the reactor has not started."""
        cap = websocket_max_message_bytes()
        # failByDrop=False: a refused socket gets its close frame (1009) rather than a bare reset.
        self.ws_factory.setProtocolOptions(maxMessagePayloadSize=cap, maxFramePayloadSize=cap, failByDrop=False)
        self.ws_factory.protocol = FlashlearnWebSocketProtocol
        self.drain.install()
        servers.serving(DaphneSockets(self))


class FlashlearnCommandLine(CommandLineInterface):
    server_class = FlashlearnServer


def main() -> None:
    check_version()
    FlashlearnCommandLine.entrypoint()


if __name__ == "__main__":
    main()
