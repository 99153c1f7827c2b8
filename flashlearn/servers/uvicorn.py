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

Fan-out needs nothing here: uvicorn's ASGI `send` awaits the socket's drain (websockets' write
limit), so a client that stops reading fills the consumer's bounded queue (close 4408).
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

from flashlearn import servers

logger = logging.getLogger("flashlearn.server")

WRITTEN_FOR_UVICORN = "0.38"
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


def main() -> None:
    check_version()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("fd", type=int, help="an inherited, listening TCP socket")
    args = parser.parse_args()
    listener = socket.socket(fileno=args.fd)
    importlib.import_module(servers.APPLICATION.split(":")[0])  # sets Django up before config() reads settings
    DrainingServer(config()).run(sockets=[listener])


if __name__ == "__main__":
    main()
