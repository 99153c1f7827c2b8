"""Calendar v3 over plain `requests`, with retries that follow Google's guidance.

Why not googleapiclient's discovery client: its httplib2 transport is not thread-safe and keeps
no connection pool; its `num_retries` ignores Retry-After and decides by itself what is
retryable; and its authorized transport refreshes tokens on a 401 by itself, outside the row
lock that keeps refreshes from racing (credentials.py). The REST surface used here is four
documented calls (calendars.get, events.list, events.watch, channels.stop), so a pooled requests.Session
against GOOGLE_CALENDAR_API_ROOT keeps full control of status codes, error reasons and headers.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from urllib.parse import quote

import requests
from django.conf import settings

from calendars.errors import CalendarAccessError, GoogleUnavailable, SyncTokenExpired
from calendars.google import backoff
from calendars.google.credentials import access_token_for

logger = logging.getLogger("calendars.client")

RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}


def error_reason(response: requests.Response) -> str:
    """The `errors[0].reason` of a Google error body ("rateLimitExceeded", "notFound", ...)."""
    if response.status_code < 300:
        return ""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return ""
    if not isinstance(error, dict):
        return str(error)
    errors = error.get("errors") or []
    if errors and isinstance(errors[0], dict) and errors[0].get("reason"):
        return str(errors[0]["reason"])
    return str(error.get("status") or "")


def retryable(status: int, reason: str) -> bool:
    return status == 429 or status >= 500 or (status == 403 and reason in RATE_LIMIT_REASONS)


class GoogleCalendarClient:
    """One connection's view of Calendar v3. Not shared between threads.

    Built from a connection id, it reads (and on a 401 refreshes) that connection's token; built
    from a bare `access_token` (during the OAuth callback, before a connection exists), it uses that
    token as it is, and a 401 is a refusal like any other 4xx."""

    def __init__(self, *, connection_id: int | None = None, access_token: str | None = None,
                 session: requests.Session | None = None):
        if (connection_id is None) == (access_token is None):
            raise TypeError("GoogleCalendarClient takes exactly one of connection_id and access_token")
        self.connection_id = connection_id
        self.session = session or requests.Session()
        self.base_url = settings.GOOGLE_CALENDAR_API_ROOT.rstrip("/") + "/calendar/v3/"
        self._token: str | None = access_token
        self.calls = 0

    def close(self) -> None:
        self.session.close()

    def call(self, method: str, path: str, *, params: dict | None = None, json: dict | None = None) -> dict:
        """One API call with retries: backoff with full jitter for 403 rate limits, 429 and 5xx
        (Retry-After honoured), one token refresh on a 401, no retry for other 4xx."""
        url = self.base_url + path
        refreshed = False
        attempt = 0
        max_attempts = max(1, settings.CALENDAR_RETRY_MAX_ATTEMPTS)
        while True:
            if self._token is None:
                assert self.connection_id is not None  # a bare access token is set in __init__
                self._token = access_token_for(connection_id=self.connection_id)
            retry_after: float | None = None
            try:
                self.calls += 1
                response = self.session.request(
                    method, url, params=params, json=json, timeout=settings.CALENDAR_HTTP_TIMEOUT,
                    headers={"Authorization": f"Bearer {self._token}", "Accept": "application/json"},
                )
            except requests.RequestException as exc:  # refused, reset, timed out, truncated
                problem = type(exc).__name__
            else:
                status, reason = response.status_code, error_reason(response)
                if status < 300:
                    try:
                        return response.json() if response.content else {}
                    except ValueError:
                        status, reason = 502, "unreadable body"  # e.g. a proxy's HTML page: retried like a 5xx
                if status == 401 and not refreshed and self.connection_id is not None:
                    refreshed = True
                    self._token = access_token_for(connection_id=self.connection_id, stale_token=self._token)
                    continue
                if status == 410:
                    raise SyncTokenExpired()
                if not retryable(status, reason):
                    logger.warning("google refused request", extra={
                        "connection_id": self.connection_id, "status": status, "reason": reason, "path": path})
                    raise CalendarAccessError(
                        f"Google answered {status}{f' ({reason})' if reason else ''} for this calendar."
                    )
                problem = f"{status} {reason}".strip()
                retry_after = backoff.parse_retry_after(response.headers.get("Retry-After"))
            attempt += 1
            delay = backoff.retry_delay(attempt - 1, retry_after)
            if attempt >= max_attempts or delay > settings.CALENDAR_RETRY_MAX_SECONDS:
                logger.warning("google unavailable after retries", extra={
                    "connection_id": self.connection_id, "problem": problem, "attempts": attempt, "path": path})
                wait = retry_after if retry_after is not None else settings.CALENDAR_RETRY_MAX_SECONDS
                raise GoogleUnavailable(retry_after=max(1, math.ceil(wait)))
            logger.info("google call retried", extra={
                "connection_id": self.connection_id, "problem": problem, "attempt": attempt, "delay_s": delay})
            backoff.pause(delay)

    def calendar_get(self, calendar_id: str) -> dict:
        return self.call("GET", f"calendars/{quote(calendar_id, safe='')}")

    def events_pages(self, calendar_id: str, params: dict) -> Iterator[dict]:
        """Every page of events.list for one query; the same parameters go with each pageToken."""
        path = f"calendars/{quote(calendar_id, safe='')}/events"
        page_token = None
        while True:
            page = self.call("GET", path, params={**params, **({"pageToken": page_token} if page_token else {})})
            yield page
            page_token = page.get("nextPageToken")
            if not page_token:
                return

    def events_watch(self, calendar_id: str, body: dict) -> dict:
        return self.call("POST", f"calendars/{quote(calendar_id, safe='')}/events/watch", json=body)

    def channels_stop(self, *, channel_id: str, resource_id: str) -> None:
        self.call("POST", "channels/stop", json={"id": channel_id, "resourceId": resource_id})
