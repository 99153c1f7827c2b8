"""Messaging: chat history, websocket limits, presence and the hub (docs/messaging.md)."""

from __future__ import annotations

from flashlearn.env import env_float, env_int
from flashlearn.settings.databases import _db_options

MESSAGING_HISTORY_PAGE_SIZE = env_int("MESSAGING_HISTORY_PAGE_SIZE", 50)
MESSAGING_HISTORY_MAX_PAGE_SIZE = env_int("MESSAGING_HISTORY_MAX_PAGE_SIZE", 200)
MESSAGING_REPLAY_LIMIT = env_int("MESSAGING_REPLAY_LIMIT", 500)  # messages replayed on `?after=`
MESSAGING_WS_RATE = env_float("MESSAGING_WS_RATE", 10.0)  # inbound frames per second per connection
MESSAGING_WS_BURST = env_int("MESSAGING_WS_BURST", 20)
MESSAGING_TYPING_INTERVAL = env_float("MESSAGING_TYPING_INTERVAL", 2.0)  # seconds between typing broadcasts
MESSAGING_SEND_QUEUE = env_int("MESSAGING_SEND_QUEUE", 1000)  # frames queued per connection before 4408
MESSAGING_SEND_BUFFER_BYTES = env_int("MESSAGING_SEND_BUFFER_BYTES", 4 * 1024 * 1024)  # unread bytes before 4408
MESSAGING_PRESENCE_TTL = env_float("MESSAGING_PRESENCE_TTL", 30.0)  # an unrefreshed presence entry expires
MESSAGING_PRESENCE_COALESCE = env_float("MESSAGING_PRESENCE_COALESCE", 0.1)  # presence deltas batched
# Websocket database calls run on this many threads (default: the connection pool's size), and fail
# at once for this many seconds after the database failed (docs/operations.md "Chat delivery guarantees").
MESSAGING_DB_THREADS = env_int("MESSAGING_DB_THREADS", _db_options["pool_max"])
MESSAGING_DB_FAIL_FAST_SECONDS = env_float("MESSAGING_DB_FAIL_FAST_SECONDS", 2.0)
# Each process's chat hub checks its channel layer this often, and compares what it delivered with
# the database this often (sooner while the layer is down), so a missed broadcast is repaired.
MESSAGING_HUB_PROBE_INTERVAL = env_float("MESSAGING_HUB_PROBE_INTERVAL", 1.0)
MESSAGING_HUB_SWEEP_INTERVAL = env_float("MESSAGING_HUB_SWEEP_INTERVAL", 5.0)
