"""Calendars: Google OAuth, token encryption, sync and push channels (docs/calendars.md)."""

from __future__ import annotations

from flashlearn.env import env_float, env_int, env_list, env_str
from flashlearn.settings.base import HOST, PORT

GOOGLE_CLIENT_ID = env_str("GOOGLE_CLIENT_ID", "")
GOOGLE_CLIENT_SECRET = env_str("GOOGLE_CLIENT_SECRET", "")
GOOGLE_REDIRECT_URI = env_str("GOOGLE_REDIRECT_URI", f"http://{HOST}:{PORT}/api/v1/calendars/google/callback")
GOOGLE_AUTH_URI = env_str("GOOGLE_AUTH_URI", "https://accounts.google.com/o/oauth2/auth")
GOOGLE_TOKEN_URI = env_str("GOOGLE_TOKEN_URI", "https://oauth2.googleapis.com/token")
GOOGLE_REVOKE_URI = env_str("GOOGLE_REVOKE_URI", "https://oauth2.googleapis.com/revoke")
GOOGLE_CALENDAR_API_ROOT = env_str("GOOGLE_CALENDAR_API_ROOT", "https://www.googleapis.com/")
TOKEN_ENCRYPTION_KEY = env_str("TOKEN_ENCRYPTION_KEY")
# Older keys still accepted for decryption while tokens are re-encrypted under the current one.
TOKEN_ENCRYPTION_OLD_KEYS = env_list("TOKEN_ENCRYPTION_OLD_KEYS", [])
CALENDAR_SYNC_CALENDAR_IDS = env_list("CALENDAR_SYNC_CALENDAR_IDS", ["primary"])
CALENDAR_SYNC_PAST_DAYS = env_int("CALENDAR_SYNC_PAST_DAYS", 90)  # full-sync window before now
CALENDAR_SYNC_FUTURE_DAYS = env_int("CALENDAR_SYNC_FUTURE_DAYS", 365)  # full-sync window after now
CALENDAR_SYNC_PAGE_SIZE = env_int("CALENDAR_SYNC_PAGE_SIZE", 1000)  # events.list maxResults (Google caps at 2500)
CALENDAR_SYNC_BATCH_SIZE = env_int("CALENDAR_SYNC_BATCH_SIZE", 500)  # rows per write transaction
CALENDAR_SYNC_LOCK_SECONDS = env_int("CALENDAR_SYNC_LOCK_SECONDS", 600)  # per-connection sync lease, renewed per page
CALENDAR_HTTP_TIMEOUT = env_float("CALENDAR_HTTP_TIMEOUT", 10.0)
CALENDAR_RETRY_MAX_ATTEMPTS = env_int("CALENDAR_RETRY_MAX_ATTEMPTS", 5)
CALENDAR_RETRY_BASE_SECONDS = env_float("CALENDAR_RETRY_BASE_SECONDS", 1.0)
CALENDAR_RETRY_MAX_SECONDS = env_float("CALENDAR_RETRY_MAX_SECONDS", 32.0)  # cap per wait, Retry-After included
CALENDAR_RETRY_SLEEP_SCALE = 1.0  # tests shrink real sleeps; computed delays stay as they are
CALENDAR_FAILURE_BACKOFF_MAX_SECONDS = env_int("CALENDAR_FAILURE_BACKOFF_MAX_SECONDS", 3600)
CALENDAR_OAUTH_STATE_TTL_SECONDS = env_int("CALENDAR_OAUTH_STATE_TTL_SECONDS", 600)
CALENDAR_CONNECT_RETURN_URL = env_str("CALENDAR_CONNECT_RETURN_URL")  # unset: the callback answers JSON
CALENDAR_RECONNECT_URL = env_str("CALENDAR_RECONNECT_URL")  # link in the reconnect email; unset: PUBLIC_BASE_URL
CALENDAR_WEBHOOK_BASE_URL = env_str("CALENDAR_WEBHOOK_BASE_URL")  # https origin Google can reach; unset: no push
CALENDAR_CHANNEL_TTL_SECONDS = env_int("CALENDAR_CHANNEL_TTL_SECONDS", 7 * 24 * 3600)
CALENDAR_CHANNEL_RENEW_MARGIN_SECONDS = env_int("CALENDAR_CHANNEL_RENEW_MARGIN_SECONDS", 24 * 3600)
# Sync tasks (calendars/tasks.py): a queued sync older than this is assumed lost and may be queued again.
CALENDAR_SYNC_QUEUED_STALE_SECONDS = env_int("CALENDAR_SYNC_QUEUED_STALE_SECONDS", 900)
CALENDAR_SYNC_REQUEUE_SECONDS = 10  # a sync that found another running looks once more this much later
CALENDAR_SYNC_TASK_MAX_RETRIES = env_int("CALENDAR_SYNC_TASK_MAX_RETRIES", 5)  # Google outages, then the schedule
CALENDAR_SYNC_RETRY_BACKOFF = env_int("CALENDAR_SYNC_RETRY_BACKOFF", 30)  # seconds, doubled per retry, jittered
CALENDAR_SYNC_RETRY_BACKOFF_MAX = env_int("CALENDAR_SYNC_RETRY_BACKOFF_MAX", 1800)
CALENDAR_SYNC_TASK_TIME_LIMIT = env_int("CALENDAR_SYNC_TASK_TIME_LIMIT", 900)
