"""Request id, one log line per request, and JSON answers for failures outside DRF."""

from __future__ import annotations

import logging
import re
import time
import uuid

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

from flashlearn.errors import database_unavailable_response, error_body

access_log = logging.getLogger("flashlearn.request")
error_log = logging.getLogger("flashlearn.errors")

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_SECRET_QUERY_RE = re.compile(r"(?i)(^|&)(token|access_token|refresh|code|state|password)=[^&]*")


def redact_query(query: str) -> str:
    """The query string with token-like values replaced: tokens in URLs end up in access logs."""
    return _SECRET_QUERY_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}=[redacted]", query)


def request_id_from(value: str | None) -> str:
    if value and _REQUEST_ID_RE.match(value):
        return value
    return uuid.uuid4().hex


class RequestLogMiddleware:
    """Honours and echoes X-Request-ID; logs method, path, status, duration and id."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request.request_id = request_id_from(request.headers.get("X-Request-ID"))
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
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
    """Last line of defence: a database outage is a 503, anything else a generic 500.

    The traceback goes to the log with the request id, never into the body.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        request_id = getattr(request, "request_id", "")
        if isinstance(exception, (OperationalError, InterfaceError)):
            error_log.warning("database unavailable", extra={"request_id": request_id, "path": request.path})
            return database_unavailable_response()
        error_log.error(
            "unhandled exception", exc_info=exception, extra={"request_id": request_id, "path": request.path}
        )
        body = error_body("server_error", f"Internal server error. Quote request id {request_id} when reporting it.")
        return JsonResponse(body, status=500)
