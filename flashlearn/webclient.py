"""`/app/`: the first-party web client's page. Its scripts and styles are ordinary static files under
/static/app/ (WhiteNoise, DEBUG on or off); this view only serves the HTML at a stable address."""

from __future__ import annotations

from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

PAGE = Path(__file__).resolve().parent / "static" / "app" / "index.html"

# The page talks to its own origin only (a copy served elsewhere sets its own policy). 'self' in
# connect-src covers ws:// and wss:// of this origin too.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@require_safe
def app_page(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(PAGE.read_bytes(), content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["Referrer-Policy"] = "no-referrer"
    return response
