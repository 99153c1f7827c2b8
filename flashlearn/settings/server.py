"""Serving: worker processes, graceful shutdown and transport limits (docs/security.md)."""

from __future__ import annotations

from flashlearn.env import env_float, env_int

WEB_CONCURRENCY = env_int("WEB_CONCURRENCY", 0)  # 0: decided by `manage.py serve`

# SIGTERM: stop accepting, finish in-flight requests, close websockets 1001, all within this (seconds).
WEB_SHUTDOWN_GRACE = env_float("WEB_SHUTDOWN_GRACE", 20.0)
# Transport limits (docs/security.md "Transport limits"): bodies, websocket messages, request heads.
HTTP_MAX_BODY_BYTES = env_int("HTTP_MAX_BODY_BYTES", 1024 * 1024)
WS_CHAT_MAX_BYTES = env_int("WS_CHAT_MAX_BYTES", 64 * 1024)
HTTP_MAX_REQUEST_LINE_BYTES = env_int("HTTP_MAX_REQUEST_LINE_BYTES", 8192)
HTTP_MAX_HEADER_BYTES = env_int("HTTP_MAX_HEADER_BYTES", 16384)
