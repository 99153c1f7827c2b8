"""OpenAPI schema (drf-spectacular): one entry per route, unique component names, bearer auth."""

from __future__ import annotations

import inspect
import types
import typing

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


def drop_trailing_slash_twins(endpoints: list, **kwargs) -> list:
    """Document each route once.

    `flashlearn.paths.both` serves every route with and without its trailing slash; both
    forms behave identically, so the schema lists the form without the slash (and only the
    slashed one where that is the only form) instead of every operation twice.
    """
    paths = {path for path, *_ in endpoints}
    return [
        endpoint for endpoint in endpoints
        if not (endpoint[0].endswith("/") and len(endpoint[0]) > 1 and endpoint[0].rstrip("/") in paths)
    ]


class AutoSchema(SpectacularAutoSchema):
    """Tags each operation with its app, keeps internal docstrings out of the docs, and names nested
    serializers after the view that holds them.

    STYLE.md nests `InputSerializer` / `OutputSerializer` in each APIView; by class name alone
    they would all collide as one "Input" component. `LoginApi.InputSerializer` becomes
    "LoginInput" (and "LoginInputRequest" for the request side).
    """

    def get_tags(self) -> list[str]:
        app = type(self.view).__module__.split(".")[0]
        return [TAGS[app][0]] if app in TAGS else super().get_tags()

    def get_description(self) -> str:
        """Only what a view says about itself: its own docstring or @extend_schema(description=...).

        drf-spectacular falls back to inherited docstrings, which put a base class's notes for
        maintainers ("a stale bearer header must not 401 them") on every operation built on it.
        """
        own = vars(type(self.view))
        handler = own.get(getattr(self.view, "action", None) or self.method.lower())
        doc = getattr(handler, "__doc__", None) or own.get("__doc__")
        return inspect.cleandoc(doc) if doc else ""

    def get_serializer_name(self, serializer, direction) -> str:
        name = super().get_serializer_name(serializer, direction)
        qualname = type(serializer).__qualname__
        if "." in qualname and "<locals>" not in qualname:
            outer = "".join(part.removesuffix("Api").removesuffix("View") for part in qualname.split(".")[:-1])
            name = f"{outer}{name}"
        return name


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerAuthentication"
    name = "bearerAuth"
    priority = -1  # the accounts app may register a more specific one

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from /api/v1/auth/login (or a Supabase-issued token).",
        }


# --- What the docs page shows ---------------------------------------------------------------

API_PREFIX = "/api/"


def drop_aliases(endpoints: list, **kwargs) -> list:
    """Document the canonical routes only: the short aliases (`/login`, `/live_sessions`, ...) behave
    identically and are listed once in docs/api.md instead of doubling every operation here."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(API_PREFIX)]


# One tag per app, in the order the docs page lists them.
TAGS = {
    "accounts": ("auth", "Sign up, sign in, tokens and the caller's profile."),
    "messaging": ("live sessions", "Live sessions, membership and chat messages (also over websockets)."),
    "calendars": ("calendars", "Google Calendar connection, sync and the caller's events."),
    "creators": ("creators", "Creator search, unlocks and the caller's credits."),
    "transcription": ("transcription", "Speech engine status, stored captions and who may speak."),
}

# Summaries for operations whose view does not set one with @extend_schema(summary=...).
SUMMARIES = {
    "POST /api/v1/auth/login": "Sign in",
    "POST /api/v1/auth/logout": "Sign out (revoke a refresh token)",
    "POST /api/v1/auth/password": "Change the caller's password",
    "GET /api/v1/calendars/connection": "The caller's calendar connection and sync state",
    "DELETE /api/v1/calendars/connection": "Disconnect the calendar and revoke Google's tokens",
    "GET /api/v1/calendars/events": "The caller's synced events in a time window",
    "GET /api/v1/calendars/google/callback": "Finish connecting Google Calendar (OAuth redirect)",
    "GET /api/v1/calendars/google/connect": "Start connecting Google Calendar",
    "POST /api/v1/calendars/google/notifications": "Google push-notification webhook",
    "POST /api/v1/calendars/sync": "Sync the caller's calendar now",
    "GET /api/v1/credits": "The caller's credit balance and ledger",
    "GET /api/v1/live_sessions": "The caller's live sessions",
    "POST /api/v1/live_sessions": "Create a live session",
    "GET /api/v1/live_sessions/{session_id}": "One live session",
    "PATCH /api/v1/live_sessions/{session_id}": "Edit a live session (host)",
    "DELETE /api/v1/live_sessions/{session_id}": "Delete a live session (host)",
    "POST /api/v1/live_sessions/{session_id}/end": "End a live session (host)",
    "POST /api/v1/live_sessions/{session_id}/invite/rotate": "Issue a new invite code (host)",
    "POST /api/v1/live_sessions/{session_id}/join": "Join a live session",
    "POST /api/v1/live_sessions/{session_id}/leave": "Leave a live session",
    "GET /api/v1/live_sessions/{session_id}/messages": "A live session's message history",
    "POST /api/v1/live_sessions/{session_id}/read": "Mark messages read up to one",
    "POST /api/v1/live_sessions/{session_id}/start": "Start a live session (host)",
    "POST /api/v1/messages": "Send a message",
    "GET /api/v1/messages/{message_id}": "One message",
    "PATCH /api/v1/messages/{message_id}": "Edit a message (author)",
    "DELETE /api/v1/messages/{message_id}": "Delete a message (author)",
    "GET /api/v1/simple/creator/{creator_id}": "One creator (full fields once unlocked)",
    "POST /api/v1/simple/creator/{creator_id}/unlock": "Unlock a creator with credits",
    "GET /api/v1/simple/creator/search": "Search creators",
    "GET /api/v1/simple/creator/system/stats": "Catalogue and analysis statistics",
    "GET /api/v1/simple/creator/unlocked": "The creators the caller unlocked",
}

# Descriptions for parameters whose serializer field has no help_text, by name.
PARAMETERS = {
    "session_id": "Live session id.",
    "message_id": "Message id.",
    "creator_id": "Creator id.",
    "user_id": "Id of the member.",
    "stream": "Stream name, e.g. `live-session-42` for a live session's captions.",
    "page": "Page number, from 1.",
    "page_size": "Items per page.",
    "q": "Words to search for in handles, names and bios.",
    "platform": "Only creators on this platform.",
    "category": "Only creators in this category, e.g. `fitness`.",
    "country": "Only creators from this country (ISO 3166-1 alpha-2, e.g. `US`).",
    "language": "Only creators writing in this language (ISO 639-1, e.g. `en`).",
    "min_followers": "At least this many followers.",
    "max_followers": "At most this many followers.",
    "min_engagement": "Engagement rate (percent) at least this.",
    "max_engagement": "Engagement rate (percent) at most this.",
    "verified": "Only verified (`true`) or unverified (`false`) creators.",
    "ordering": "Sort order; prefix `-` for descending.",
    "start": "Window start (ISO 8601 with offset); default now.",
    "end": "Window end (ISO 8601 with offset); default start + 30 days.",
    "code": "Authorization code, set by Google's redirect.",
    "state": "The state issued by `google/connect`, echoed by Google's redirect.",
    "error": "Set by Google's redirect when the user declined.",
    "status": "Only sessions in this state.",
    "after": "Only messages after this id (cursor).",
    "before": "Only messages before this id (cursor).",
    "limit": "At most this many messages.",
    "after_seq": "Only messages after this sequence number in the session.",
}

# Request example values by field name; other fields get one from their type.
EXAMPLE_VALUES = {
    "email": "ada@example.com",
    "password": "correct horse battery staple",
    "current_password": "correct horse battery staple",
    "new_password": "a new long passphrase 42",
    "display_name": "Ada Lovelace",
    "refresh": "<refresh token from login>",
    "title": "Intro to Django",
    "description": "Weekly office hours.",
    "body": "Hello everyone!",
    "client_id": "3f6c1a52-9f1e-4b59-9a51-1f9d7a3e2c10",
    "session": 42,
    "message_id": 1001,
    "invite_code": "k3Xq9VwZ2p",
    "phone": "(415) 555-0199",
    "work_email": "ada@work.example.com",
    "date_of_birth": "1990-12-10",
    "website": "example.com/ada",
    "linkedin": "ada-lovelace",
    "twitter": "@ada",
    "github": "@ada",
    "timezone": "Europe/London",
    "bio": "Mathematician.",
    "emergency_contact_name": "Charles Babbage",
    "emergency_contact_phone": "+44 20 7946 0958",
    "emergency_contact_email": "charles@example.com",
    "user_id": 7,
    "full": False,
}

ERROR_RESPONSES = {
    "400": ("BadRequest", "Invalid input: `error.fields` says which field and why."),
    "401": ("Unauthorized", "Missing, expired or revoked credentials."),
    "402": ("PaymentRequired", "Not enough credits."),
    "403": ("Forbidden", "Signed in, but not allowed to do this."),
    "404": ("NotFound", "No such object, or not visible to the caller."),
    "409": ("Conflict", "Conflicts with the current state (taken email, already ended, ...)."),
    "413": ("PayloadTooLarge", "The request body is larger than the server accepts."),
    "429": ("TooManyRequests", "Throttled or locked out; retry after `Retry-After` seconds."),
    "503": ("ServiceUnavailable", "A dependency (database, cache, Google, speech engine) is down; "
                                  "retry after `Retry-After` seconds."),
}
ERROR_SCHEMA = {
    "type": "object",
    "description": "The one error shape of every 4xx/5xx answer.",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable snake_case code.", "example": "validation_error"},
                "message": {"type": "string", "description": "Text for a person."},
                "fields": {
                    "type": "object",
                    "description": "Validation errors only: field name → problems.",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
        }
    },
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}}
_WRITES = {"post", "put", "patch", "delete"}


# Request fields that name another object, which may not exist (or not be visible to the caller).
_REFERENCES = {"session", "message_id", "user", "creator"}


def _may_not_find(path: str, operation: dict, request_fields: frozenset) -> bool:
    """An id in the path or the body, a page number past the end, or a calendar not connected."""
    if "{" in path or path.startswith("/api/v1/calendars/"):
        return True
    if any(parameter["name"] == "page" for parameter in operation.get("parameters", [])):
        return True
    return bool(_REFERENCES & request_fields)


def _request_fields(document: dict, operation: dict) -> frozenset:
    media = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = _resolve(document, media.get("schema", {}))
    return frozenset(schema.get("properties", {}))


def error_statuses(method: str, path: str, operation: dict, request_fields: frozenset = frozenset()) -> list[str]:
    """The error statuses an operation can answer, from what it takes and how it is reached."""
    secured = any(requirement for requirement in operation.get("security", []))
    codes = {"503", "429"}  # a dependency outage or a circuit open; any route may be throttled
    if "requestBody" in operation or operation.get("parameters"):
        codes.add("400")
    if secured or path.startswith("/api/v1/auth/"):  # the auth routes check credentials in the body
        codes.update({"401", "403"})
    if _may_not_find(path, operation, request_fields):
        codes.add("404")
    if method in _WRITES:
        codes.update({"400", "409"})
    if "requestBody" in operation:
        codes.add("413")
    if path.endswith("/unlock"):
        codes.add("402")
    return sorted(codes)


def _resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def example_for(document: dict, schema: dict, name: str = "", depth: int = 0):
    schema = _resolve(document, schema)
    if name in EXAMPLE_VALUES:
        return EXAMPLE_VALUES[name]
    if "example" in schema:
        return schema["example"]
    if "enum" in schema:
        return next((v for v in schema["enum"] if v is not None), None)
    for combined in ("allOf", "oneOf", "anyOf"):
        if schema.get(combined):
            return example_for(document, schema[combined][0], name, depth)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 3:
            return {}
        return {key: example_for(document, value, key, depth + 1)
                for key, value in schema.get("properties", {}).items() if not value.get("readOnly")}
    if kind == "array":
        return [example_for(document, schema.get("items", {}), name, depth + 1)]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    return {"date-time": "2026-12-01T18:00:00Z", "date": "2026-12-01", "email": "ada@example.com",
            "uri": "https://example.com", "uuid": "3f6c1a52-9f1e-4b59-9a51-1f9d7a3e2c10"}.get(
        schema.get("format"), "text")


def document_operations(result: dict, generator, request, public) -> dict:
    """Postprocessing hook: tags per app, a summary for every operation, a description for every
    parameter, request examples, and the shared error shape under every status each operation can answer."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    responses = components.setdefault("responses", {})
    for code, (name, description) in ERROR_RESPONSES.items():
        content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        responses[name] = {"description": description, "content": content}
        if code in ("429", "503"):
            responses[name]["headers"] = _RETRY_AFTER
    result["tags"] = [{"name": name, "description": text} for name, text in TAGS.values()]

    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            operation.setdefault("summary", SUMMARIES.get(f"{method.upper()} {path}"))
            if operation["summary"] is None:
                del operation["summary"]  # the docs test names it
            for parameter in operation.get("parameters", []):
                if not parameter.get("description") and parameter["name"] in PARAMETERS:
                    parameter["description"] = PARAMETERS[parameter["name"]]
            for media in operation.get("requestBody", {}).get("content", {}).values():
                if "example" not in media and "examples" not in media and "schema" in media:
                    media["example"] = example_for(result, media["schema"])
            declared = operation["responses"]
            for code in error_statuses(method, path, operation, _request_fields(result, operation)):
                shared = {"$ref": f"#/components/responses/{ERROR_RESPONSES[code][0]}"}
                schema = declared.get(code, {}).get("content", {}).get("application/json", {}).get("schema")
                if code not in declared or schema == {"type": "object", "additionalProperties": {}}:
                    declared[code] = shared  # a view's untyped error answer is the shared shape too
    return result


def paginated(serializer, *, name: str, count: bool = True, before: dict | None = None):
    """The response of a list view that pages by hand (an APIView calling flashlearn.pagination):
    the `{count, next, previous, results}` envelope of API.md, not a bare array; `count=False` for
    cursor pages; `before`: fields the answer carries ahead of the page (the credits balance)."""
    from drf_spectacular.utils import inline_serializer
    from rest_framework import serializers

    fields = {
        "next": serializers.URLField(allow_null=True, help_text="The next page, or null on the last one."),
        "previous": serializers.URLField(allow_null=True, help_text="The previous page, or null on the first one."),
        "results": serializer(many=True) if isinstance(serializer, type) else serializer,
    }
    if count:
        fields = {"count": serializers.IntegerField(help_text="Items on all pages."), **fields}
    return inline_serializer(name=name, fields={**(before or {}), **fields})


# --- Wire shapes (flashlearn/wire.py) as serializers, for the schema only ------------------------

_SHAPE_SERIALIZERS: dict[type, type] = {}


def serializer_for(shape: type, *, name: str | None = None) -> type:
    """A schema-only Serializer class for a wire-shape TypedDict: the OpenAPI component is derived
    from the one definition, never written a second time. Views still return the builder's dicts.

    `name` is the class name, so the component is the name without "Serializer"; by default a
    shape `UserPayload` becomes `UserSerializer`, component "User". A nested TypedDict becomes its
    own component, built once.
    """
    from rest_framework import serializers

    key = (shape, name)
    if key in _SHAPE_SERIALIZERS:
        return _SHAPE_SERIALIZERS[key]
    hints = typing.get_type_hints(shape, include_extras=True)
    optional = getattr(shape, "__optional_keys__", frozenset())
    fields = {field: _serializer_field(hint, required=field not in optional) for field, hint in hints.items()}
    attrs = {"__doc__": inspect.cleandoc(shape.__doc__ or ""), "__module__": shape.__module__, **fields}
    default = f"{shape.__name__.removesuffix('Payload')}Serializer"
    serializer = type(name or default, (serializers.Serializer,), attrs)
    _SHAPE_SERIALIZERS[key] = serializer
    return serializer


def _serializer_field(hint, *, required: bool):
    from rest_framework import serializers

    from flashlearn.wire import Doc, Format, OneOf

    metadata: list = []
    allow_null = False
    while True:
        origin = typing.get_origin(hint)
        if origin is typing.Annotated:
            metadata.extend(hint.__metadata__)
            hint = hint.__origin__
        elif origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint):
            allow_null = True
            (hint,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        elif origin in (typing.NotRequired, typing.Required):
            # Read here, not from __optional_keys__: under `from __future__ import annotations`
            # Python 3.11's TypedDict cannot see NotRequired inside a string annotation.
            required = origin is typing.Required
            (hint,) = typing.get_args(hint)
        else:
            break
    options = {"required": required, "allow_null": allow_null}
    for item in metadata:
        if isinstance(item, Doc):
            options["help_text"] = item.text
    choices = next((item.values for item in metadata if isinstance(item, OneOf)), None)
    string_format = next((item.name for item in metadata if isinstance(item, Format)), None)
    if choices is not None:
        return serializers.ChoiceField(choices=choices, **options)
    if typing.is_typeddict(hint):
        return serializer_for(hint)(**options)
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        return serializers.ListField(child=_serializer_field(item, required=True), **options)
    if hint is str and string_format == "date-time":
        return serializers.DateTimeField(**options)
    simple = {bool: serializers.BooleanField, int: serializers.IntegerField, float: serializers.FloatField,
              str: serializers.CharField}
    if hint in simple:
        return simple[hint](**options)
    raise TypeError(f"no serializer field for {hint!r}")
