"""The one place that turns failures into the API.md error shape.

{"error": {"code": "<snake_case>", "message": "<human text>", "fields": {...}}}
"""

from __future__ import annotations

import logging
import sys

import redis
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError, connections
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from flashlearn.breaker import safe_reason

logger = logging.getLogger("flashlearn.errors")

DATABASE_RETRY_AFTER_SECONDS = 5
_DATABASE_DOWN = ("database_unavailable", "The database is unavailable. Retry later.")
_CACHE_DOWN = ("cache_unavailable", "The cache is unavailable. Retry later.")
# A dependency that is down: the database, or Redis (cache, channel layer). Each is a 503 with
# Retry-After wherever in a request it surfaces, never a 500.
DEPENDENCY_ERRORS = (OperationalError, InterfaceError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class DomainError(Exception):
    """Raised by services; mapped to a response by `api_exception_handler`."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, code: str | None = None, fields: dict | None = None,
                 retry_after: int | None = None):
        self.message = message or self.message
        self.code = code or self.code
        self.fields = fields
        self.retry_after = retry_after
        super().__init__(self.message)


class InvalidInput(DomainError):
    """A service found a field invalid: a 400 with `fields`, like a serializer's ValidationError."""

    code = "validation_error"
    message = "The request has invalid fields."

    @classmethod
    def on(cls, field: str, problem: str, **kwargs) -> InvalidInput:
        return cls(fields={field: [problem]}, **kwargs)


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    message = "Not found."


class Forbidden(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"
    message = "You do not have permission to do this."


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    message = "This conflicts with existing data."


class Throttled(DomainError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "throttled"
    message = "Too many requests."


class ServiceUnavailable(DomainError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "service_unavailable"
    message = "A service this request depends on is unavailable. Retry later."


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    error: dict = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _flatten_fields(detail) -> dict:
    """DRF's nested ValidationError detail as {field: [messages]}."""
    if isinstance(detail, dict):
        out = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub, msgs in _flatten_fields(value).items():
                    out[f"{key}.{sub}"] = msgs
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                for index, item in enumerate(value):
                    for sub, msgs in _flatten_fields(item).items():
                        out[f"{key}[{index}].{sub}"] = msgs
            else:
                values = value if isinstance(value, list) else [value]
                out[str(key)] = [str(v) for v in values]
        return out
    values = detail if isinstance(detail, list) else [detail]
    return {"non_field_errors": [str(v) for v in values]}


_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "malformed_request",
}


def _unavailable_body(exc: BaseException | None) -> dict:
    return error_body(*(_CACHE_DOWN if isinstance(exc, redis.exceptions.RedisError) else _DATABASE_DOWN))


def dependency_unavailable_response(exc: BaseException | None = None) -> JsonResponse:
    response = JsonResponse(_unavailable_body(exc), status=503)
    response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def set_rollback() -> None:
    """DRF's own set_rollback (ATOMIC_REQUESTS must not commit a request that failed), kept here:
    importing rest_framework.views from this module would be circular (its APIView loads the
    authentication classes, which import this module)."""
    for db in connections.all():
        if db.settings_dict.get("ATOMIC_REQUESTS") and db.in_atomic_block:
            db.set_rollback(True)


def server_error_response(request_id: str = "") -> JsonResponse:
    message = "Internal server error."
    if request_id:
        message += f" Quote request id {request_id} when reporting it."
    return JsonResponse(error_body("server_error", message), status=500)


def api_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every API error in one shape."""
    response = _api_error_response(exc)
    if response is not None:
        set_rollback()  # an atomic block around the view must not commit half of a failed request
    return response


def _api_error_response(exc):
    if isinstance(exc, DEPENDENCY_ERRORS):
        logger.warning("dependency unavailable: %s", safe_reason(exc))
        return Response(
            _unavailable_body(exc), status=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
        )
    if isinstance(exc, DomainError):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code, headers=headers)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # unhandled: ErrorMiddleware logs it and answers a generic 500

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(max(1, int(exc.wait)))
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("validation_error", "The request has invalid fields.", _flatten_fields(exc.detail))
    else:
        code = _DRF_CODES.get(type(exc))
        detail = exc.detail
        if code is None:
            codes = exc.get_codes()
            code = codes if isinstance(codes, str) else getattr(exc, "default_code", "error")
        message = str(detail) if not isinstance(detail, (list, dict)) else str(exc.default_detail)
        if isinstance(detail, dict) and "detail" in detail:
            message = str(detail["detail"])
            code = str(detail.get("code", code)) if not isinstance(detail.get("code"), list) else code
        body = error_body(str(code), message)
    return Response(body, status=exc.status_code, headers=headers)



# --- Django's error views (ROOT_URLCONF handler400/403/404/500) --------------------------
# Used for failures outside DRF views with DEBUG off: unknown routes, DisallowedHost, CSRF,
# and exceptions raised in middleware (which never reach ErrorMiddleware.process_exception).


def bad_request(request, exception=None):
    return JsonResponse(error_body("bad_request", "Bad request."), status=400)


def permission_denied(request, exception=None):
    return JsonResponse(error_body("forbidden", "You do not have permission to do this."), status=403)


def page_not_found(request, exception=None):
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def server_error(request):
    exc = sys.exc_info()[1]
    request_id = getattr(request, "request_id", "")
    if isinstance(exc, DEPENDENCY_ERRORS):
        logger.warning("dependency unavailable: %s", safe_reason(exc), extra={"request_id": request_id})
        return dependency_unavailable_response(exc)
    logger.error("unhandled exception", exc_info=exc is not None, extra={"request_id": request_id,
                                                                          "path": request.path})
    return server_error_response(request_id)
