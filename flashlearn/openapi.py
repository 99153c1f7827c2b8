"""OpenAPI schema (drf-spectacular): one entry per route, unique component names, bearer auth."""

from __future__ import annotations

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
    """Names nested serializers after the view that holds them.

    STYLE.md nests `InputSerializer` / `OutputSerializer` in each APIView; by class name alone
    they would all collide as one "Input" component. `LoginApi.InputSerializer` becomes
    "LoginInput" (and "LoginInputRequest" for the request side).
    """

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
