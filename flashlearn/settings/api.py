"""The REST API: DRF, the OpenAPI schema and the per-user write throttles."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from flashlearn.env import env_str
from flashlearn.rates import parse_rate

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["flashlearn.parsers.JSONParser"],  # deep nesting is a 400, not a 500
    "DEFAULT_SCHEMA_CLASS": "flashlearn.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "flashlearn.errors.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Flashlearn API",
    "DESCRIPTION": "Accounts, live sessions and chat, calendars, creators and transcription.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["flashlearn.openapi.drop_trailing_slash_twins", "flashlearn.openapi.drop_aliases"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums", "flashlearn.openapi.document_operations",
    ],
}

# Per-user limits on writes (flashlearn/throttles.py): "N/s|min|hour|day", "" for none. Generous:
# they stop a script or a stuck client, not a person. 429 with Retry-After beyond them.
THROTTLE_RATES = {
    "message_post": env_str("THROTTLE_MESSAGE_POST", "120/min"),
    "session_create": env_str("THROTTLE_SESSION_CREATE", "60/hour"),
    "calendar_connect": env_str("THROTTLE_CALENDAR_CONNECT", "30/hour"),
    "calendar_sync": env_str("THROTTLE_CALENDAR_SYNC", "60/hour"),
    "creator_unlock": env_str("THROTTLE_CREATOR_UNLOCK", "300/hour"),
}
for _scope, _rate in THROTTLE_RATES.items():
    try:
        parse_rate(_rate)
    except ValueError as exc:
        raise ImproperlyConfigured(f"THROTTLE_{_scope.upper()}: {exc}") from None
