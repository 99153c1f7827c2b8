"""`python -m flashlearn.workers FD`: one uvicorn worker serving the project on an inherited socket.

`manage.py serve` binds HOST:PORT once and starts one of these per core. uvicorn's own `--fd`
wraps the descriptor as an AF_UNIX socket whatever it is, and asyncio then skips TCP_NODELAY
on every connection (Nagle + delayed ACKs: ~40 ms stalls); `socket.socket(fileno=fd)` reads
the real family from the descriptor.
"""

from __future__ import annotations

import argparse
import importlib
import socket

import uvicorn

APPLICATION = "flashlearn.asgi:application"


def config() -> uvicorn.Config:
    from django.conf import settings

    # No access log (RequestLogMiddleware logs each request as JSON), no proxy-header rewriting
    # (accounts reads X-Forwarded-For itself, CLIENT_IP_PROXY_COUNT), no lifespan (Channels' router
    # has none). httptools and uvloop are picked up when installed.
    return uvicorn.Config(
        APPLICATION, lifespan="off", access_log=False, proxy_headers=False, server_header=False,
        log_level="warning", timeout_graceful_shutdown=max(settings.WEB_SHUTDOWN_GRACE - 1.0, 1.0),
        # Websocket messages capped like daphne's (flashlearn/daphne_server.py); request heads and
        # bodies by h11/httptools' own limits and flashlearn.request_limits.BodySizeLimit.
        ws_max_size=max(settings.WS_CHAT_MAX_BYTES, settings.TRANSCRIPTION_MAX_FRAME_BYTES),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("fd", type=int, help="an inherited, listening TCP socket")
    args = parser.parse_args()
    listener = socket.socket(fileno=args.fd)
    importlib.import_module(APPLICATION.split(":")[0])  # sets Django up before config() reads settings
    uvicorn.Server(config()).run(sockets=[listener])


if __name__ == "__main__":
    main()
