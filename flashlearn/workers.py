"""`python -m flashlearn.workers FD`: one uvicorn worker serving the project on an inherited socket.

`manage.py serve` binds HOST:PORT once and starts one of these per core. uvicorn's own `--fd`
wraps the descriptor as an AF_UNIX socket whatever it is, and asyncio then skips TCP_NODELAY
on every connection (Nagle + delayed ACKs: ~40 ms stalls); `socket.socket(fileno=fd)` reads
the real family from the descriptor.
"""

from __future__ import annotations

import argparse
import socket

import uvicorn

APPLICATION = "flashlearn.asgi:application"
GRACEFUL_SHUTDOWN_SECONDS = 15


def config() -> uvicorn.Config:
    # No access log (RequestLogMiddleware logs each request as JSON), no proxy-header rewriting
    # (accounts reads X-Forwarded-For itself, CLIENT_IP_PROXY_COUNT), no lifespan (Channels' router
    # has none). httptools and uvloop are picked up when installed.
    return uvicorn.Config(
        APPLICATION, lifespan="off", access_log=False, proxy_headers=False, server_header=False,
        log_level="warning", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("fd", type=int, help="an inherited, listening TCP socket")
    args = parser.parse_args()
    listener = socket.socket(fileno=args.fd)
    uvicorn.Server(config()).run(sockets=[listener])


if __name__ == "__main__":
    main()
