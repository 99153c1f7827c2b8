"""Test-only URLconf for live servers (flashlearn.tests.live_settings): the project's routes plus a
slow view, so a test can hold requests in flight while the server is told to stop."""

from __future__ import annotations

import asyncio

from django.http import JsonResponse
from django.urls import path

from flashlearn.urls import handler400, handler403, handler404, handler500  # noqa: F401
from flashlearn.urls import urlpatterns as project_urlpatterns


async def slow(request):
    seconds = min(float(request.GET.get("seconds", "1")), 10.0)
    await asyncio.sleep(seconds)
    return JsonResponse({"slept": seconds})


urlpatterns = [*project_urlpatterns, path("test/slow", slow)]
