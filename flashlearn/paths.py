"""Routes that answer with and without a trailing slash, without a redirect."""

from __future__ import annotations

from django.urls import path


def both(route: str, view, name: str | None = None) -> list:
    """`route` (no trailing slash) and `route/`, both served by `view`.

    A redirect from one to the other would drop POST bodies and break CORS preflights.
    """
    route = route.rstrip("/")
    return [path(route, view, name=name), path(f"{route}/", view)]
