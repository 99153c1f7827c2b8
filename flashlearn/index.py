"""What `/` answers, and the JSON 404 for every unknown `/api/` path (DEBUG on or off)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from flashlearn.errors import error_body

WEB_CLIENT_PATH = "/app/"


def _serves(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


@require_safe
def index(request: HttpRequest) -> JsonResponse:
    """A small map of the service for whoever opens the root URL (and the admin's "View site")."""
    links = {
        "docs": "/api/docs/",
        "schema": "/api/schema/",
        "admin": "/admin/",
        "health": "/healthz",
        "ready": "/readyz",
    }
    if _serves(WEB_CLIENT_PATH):
        links = {"app": WEB_CLIENT_PATH, **links}
    return JsonResponse({"name": "Flashlearn API", "version": "v1", "links": links})


@csrf_exempt  # a POST to an unknown API path is a 404, not a CSRF 403 page
def api_not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Last route under /api/: with DEBUG on Django would answer its HTML debug 404 instead."""
    return JsonResponse(error_body("not_found", "Not found."), status=404)
