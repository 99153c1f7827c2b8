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
from django.db import InterfaceError, OperationalError
from whitenoise.middleware import WhiteNoiseMiddleware

from flashlearn.errors import database_unavailable_response, server_error_response

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


class RequestLogMiddleware:
    """Honours and echoes X-Request-ID; logs method, path, status, duration and id."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

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


class ErrorMiddleware:
    """Last line of defence for views: a database outage is a 503, anything else a generic 500.

    The traceback goes to the log with the request id, never into the body. Exceptions raised
    in middleware above this one reach `flashlearn.errors.server_error` (handler500) instead.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        # Exceptions reach process_exception through Django's handler, not through here.
        return self.get_response(request)

    def process_exception(self, request, exception):
        request_id = getattr(request, "request_id", "")
        if isinstance(exception, (OperationalError, InterfaceError)):
            error_log.warning(
                "database unavailable: %s", exception.__class__.__name__,
                extra={"request_id": request_id, "path": request.path},
            )
            return database_unavailable_response()
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
