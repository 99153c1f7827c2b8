"""Request id, one log line per request, and JSON answers for failures outside DRF.

Both middlewares are sync- and async-capable: under daphne a sync-only middleware would
cost a thread hop per request for itself and another for the chain below it.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings as django_settings
from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404
from django.middleware import clickjacking, common, csrf, security
from whitenoise.middleware import WhiteNoiseMiddleware

from flashlearn.breaker import safe_reason
from flashlearn.errors import DEPENDENCY_ERRORS, dependency_unavailable_response, server_error_response

access_log = logging.getLogger("flashlearn.request")
error_log = logging.getLogger("flashlearn.errors")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_SECRET_QUERY_RE = re.compile(
    r"(?i)(^|&)(token|access_token|refresh|refresh_token|id_token|code|state|password|secret|key|signature)=[^&]*"
)


def redact_query(query: str) -> str:
    """The query string with token-like values replaced: tokens in URLs end up in access logs."""
    return _SECRET_QUERY_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}=[redacted]", query)


def request_id_from(value: str | None) -> str:
    """The client's X-Request-ID when it is a sane token, else a fresh one (never log junk)."""
    if value and _REQUEST_ID_RE.match(value):
        return value
    return uuid.uuid4().hex


class HybridMiddleware:
    """Serves sync and async chains alike, in the chain's own mode (Django's "Asynchronous support"
    for middleware): a subclass writes `__call__`, returning a coroutine when `iscoroutinefunction(self)`."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)


class RequestLogMiddleware(HybridMiddleware):
    """Honours and echoes X-Request-ID; logs method, path, status, duration and id."""

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        started = self._start(request)
        return self._finish(request, self.get_response(request), started)

    async def __acall__(self, request):
        started = self._start(request)
        return self._finish(request, await self.get_response(request), started)

    @staticmethod
    def _start(request) -> float:
        request.request_id = request_id_from(request.headers.get("X-Request-ID"))
        return time.perf_counter()

    @staticmethod
    def _finish(request, response, started: float):
        response["X-Request-ID"] = request.request_id
        if access_log.isEnabledFor(logging.INFO):
            query = request.META.get("QUERY_STRING", "")
            access_log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path + (f"?{redact_query(query)}" if query else ""),
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "request_id": request.request_id,
                },
            )
        return response


class ErrorMiddleware(HybridMiddleware):
    """Last line of defence for views: a database outage is a 503, anything else a generic 500.

    The traceback goes to the log with the request id, never into the body. Exceptions raised
    in middleware above this one reach `flashlearn.errors.server_error` (handler500) instead.
    """

    def __call__(self, request):
        # Exceptions reach process_exception through Django's handler, not through here.
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, (Http404, PermissionDenied, SuspiciousOperation, BadRequest)):
            return None  # Django answers these itself (404, 403, 400): they are not server errors
        request_id = getattr(request, "request_id", "")
        if isinstance(exception, DEPENDENCY_ERRORS):
            error_log.warning(
                "dependency unavailable: %s", safe_reason(exception),
                extra={"request_id": request_id, "path": request.path},
            )
            return dependency_unavailable_response(exception)
        error_log.error(
            "unhandled exception", exc_info=exception, extra={"request_id": request_id, "path": request.path}
        )
        return server_error_response(request_id)


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, async-capable: API requests skip it without a thread hop under daphne.

    Only paths under STATIC_URL go to a worker thread (the lookup may touch the disk when
    DEBUG autorefresh is on); everything else is awaited straight through.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, settings=django_settings):
        super().__init__(get_response, settings)
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request):
        if request.path_info.startswith(self.static_prefix):
            response = await sync_to_async(self.static_response, thread_sensitive=False)(request)
            if response is not None:
                return response
        return await self.get_response(request)

    def static_response(self, request):
        path = request.path_info
        static_file = self.find_file(path) if self.autorefresh else self.files.get(path)
        return self.serve(static_file, request) if static_file is not None else None


# --- Django's own middleware, without a thread hop per hook under ASGI -----------------------
# Django runs every MiddlewareMixin hook through sync_to_async in async mode: with seven of
# them that is up to fourteen thread hops per request, about half of a /healthz request's cost
# under daphne (see bench/http.py). These hooks are plain CPU work (headers, cookies, lazy
# attributes), so they run on the event loop; only a session or message store that was really
# used (a database write) still goes to a thread.


class InlineHooksMixin:
    def response_needs_thread(self, request) -> bool:
        return False

    async def __acall__(self, request):  # MiddlewareMixin.__call__ hands async requests to this
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            if self.response_needs_thread(request):
                response = await sync_to_async(self.process_response, thread_sensitive=True)(request, response)
            else:
                response = self.process_response(request, response)
        return response


class SecurityMiddleware(InlineHooksMixin, security.SecurityMiddleware):
    pass


class CommonMiddleware(InlineHooksMixin, common.CommonMiddleware):
    pass


class XFrameOptionsMiddleware(InlineHooksMixin, clickjacking.XFrameOptionsMiddleware):
    pass


class AuthenticationMiddleware(InlineHooksMixin, auth_middleware.AuthenticationMiddleware):
    """Only sets the lazy `request.user` / `request.auser`; the lookup happens where they are used."""


class CsrfViewMiddleware(InlineHooksMixin, csrf.CsrfViewMiddleware):
    def __init__(self, get_response):
        super().__init__(get_response)
        if self.async_mode:
            # Django wraps a sync process_view in sync_to_async; a coroutine it awaits as it is.
            # The check reads the cookie and the already-received body (CSRF_USE_SESSIONS is off).
            sync_process_view = self.process_view

            async def process_view(request, callback, callback_args, callback_kwargs):
                return sync_process_view(request, callback, callback_args, callback_kwargs)

            self.process_view = process_view


class SessionMiddleware(InlineHooksMixin, sessions.SessionMiddleware):
    """Creating the lazy session is free; saving one that was read or changed hits the database."""

    def response_needs_thread(self, request) -> bool:
        session = getattr(request, "session", None)
        return session is not None and (session.accessed or session.modified)


class MessageMiddleware(InlineHooksMixin, messages.MessageMiddleware):
    """Storing messages writes to the session (or a cookie): only then a thread."""

    def response_needs_thread(self, request) -> bool:
        store = getattr(request, "_messages", None)
        return store is not None and (store.used or store.added_new)
