"""Domain errors of the calendars app, rendered by flashlearn.errors.api_exception_handler."""

from __future__ import annotations

from flashlearn.errors import Conflict, DomainError, NotFound, ServiceUnavailable


class TokenEncryptionNotConfigured(ServiceUnavailable):
    code = "token_encryption_not_configured"
    message = ("Calendar connections are disabled: the server has no TOKEN_ENCRYPTION_KEY. "
               "An operator must set it before calendars can be connected.")

    def __init__(self, message: str | None = None, **kwargs):
        kwargs.setdefault("retry_after", 3600)
        super().__init__(message, **kwargs)


class GoogleNotConfigured(ServiceUnavailable):
    code = "google_not_configured"
    message = "Google Calendar is not configured on this server (GOOGLE_CLIENT_ID / GOOGLE_CLIENT_SECRET)."

    def __init__(self, message: str | None = None, **kwargs):
        kwargs.setdefault("retry_after", 3600)
        super().__init__(message, **kwargs)


class TokenDecryptionFailed(ServiceUnavailable):
    code = "token_decryption_failed"
    message = ("Stored calendar tokens cannot be decrypted with the configured TOKEN_ENCRYPTION_KEY. "
               "Reconnect the calendar, or restore the previous key in TOKEN_ENCRYPTION_OLD_KEYS.")


class OAuthStateInvalid(DomainError):
    code = "invalid_oauth_state"
    message = "This authorization link is invalid, expired or already used. Start connecting again."


class OAuthDenied(DomainError):
    code = "oauth_denied"
    message = "Google did not grant access to the calendar."


class OAuthExchangeFailed(DomainError):
    code = "oauth_exchange_failed"
    message = "Google rejected the authorization code. Start connecting again."


class CalendarNotConnected(NotFound):
    code = "calendar_not_connected"
    message = "No calendar is connected."


class CalendarReauthRequired(Conflict):
    code = "calendar_reauth_required"
    message = "Google no longer accepts this calendar's authorization. Reconnect the calendar."


class CalendarAccessError(Conflict):
    """Google refused the request in a way retrying will not fix (403 other than rate limits, 404, 400)."""

    code = "calendar_access_error"
    message = "Google refused access to the calendar."


class SyncInProgress(Conflict):
    code = "sync_in_progress"
    message = "A sync of this calendar is already running."

    def __init__(self, message: str | None = None, **kwargs):
        kwargs.setdefault("retry_after", 5)
        super().__init__(message, **kwargs)


class GoogleUnavailable(ServiceUnavailable):
    code = "google_unavailable"
    message = "Google Calendar is not answering. Retry later."


class SyncTokenExpired(Exception):
    """Google answered 410 Gone to a syncToken: the caller must drop it and do a full sync."""


class TaskQueueUnavailable(ServiceUnavailable):
    code = "task_queue_unavailable"
    message = "Background work cannot be queued right now (the task broker is unreachable). Retry shortly."

    def __init__(self, message: str | None = None, **kwargs):
        kwargs.setdefault("retry_after", 5)
        super().__init__(message, **kwargs)
