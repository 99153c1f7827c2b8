"""Test-only URLconf: the project's routes plus views that fail in every way an API view can.

Used with `@pytest.mark.urls("flashlearn.tests.urls")`; never part of the real URLconf.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from flashlearn.errors import Conflict, DomainError
from flashlearn.paths import both
from flashlearn.redis import redis_client
from flashlearn.urls import handler400, handler403, handler404, handler500  # noqa: F401
from flashlearn.urls import urlpatterns as project_urlpatterns

SECRET_IN_EXCEPTION = "do-not-leak-7f3a"


class PublicApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class EchoApi(PublicApi):
    """POST-only: a stand-in for any write route (CORS and slash tests)."""

    class InputSerializer(serializers.Serializer):
        class AddressSerializer(serializers.Serializer):
            city = serializers.CharField(max_length=20)

        email = serializers.EmailField()
        age = serializers.IntegerField(min_value=0)
        address = AddressSerializer(required=False)

    @extend_schema(request=InputSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response({"echo": serializer.validated_data["email"]}, status=201)


class PrivateApi(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response({"email": request.user.email})


class InsufficientCredits(DomainError):
    status_code = 402
    code = "insufficient_credits"
    message = "Not enough credits."


def ping_unreachable_redis() -> None:
    """A real Redis client against a closed loopback port: raises redis's ConnectionError."""
    redis_client(url="redis://127.0.0.1:1/0", connect_timeout=1).ping()


class FailingApi(PublicApi):
    """GET /api/v1/test/fail/<kind>: raises the named failure."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, kind: str):
        if kind == "redis":
            ping_unreachable_redis()
        failures = {
            "permission": PermissionDenied("no"),
            "drf-permission": exceptions.PermissionDenied(),
            "http404": Http404("missing thing"),
            "conflict": Conflict("That email is taken.", fields={"email": ["taken"]}),
            "credits": InsufficientCredits(retry_after=None),
            "throttled": exceptions.Throttled(wait=42),
            "operational": OperationalError(f"could not connect: password={SECRET_IN_EXCEPTION}"),
            "interface": InterfaceError("connection already closed"),
            "crash": RuntimeError(f"bug with {SECRET_IN_EXCEPTION}"),
        }
        raise failures[kind]


def plain_failing_view(request, kind: str):
    if kind == "redis":
        ping_unreachable_redis()
    if kind == "operational":
        raise OperationalError(f"server closed the connection; {SECRET_IN_EXCEPTION}")
    if kind == "crash":
        raise ValueError(f"bug with {SECRET_IN_EXCEPTION}")
    return JsonResponse({"ok": True})


class ExplodingMiddleware:
    """Raises before any view runs when the request asks for it (errors outside the view layer)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        kind = request.headers.get("X-Explode")
        if kind == "operational":
            raise OperationalError("pool timeout")
        if kind == "crash":
            raise RuntimeError(f"middleware bug {SECRET_IN_EXCEPTION}")
        return self.get_response(request)


urlpatterns = [
    *both("api/v1/test/echo", EchoApi.as_view(), name="test-echo"),
    *both("echo", EchoApi.as_view()),  # a short alias, like /login and /signup
    *both("api/v1/test/private", PrivateApi.as_view(), name="test-private"),
    *both("api/v1/test/fail/<str:kind>", FailingApi.as_view(), name="test-fail"),
    *both("test/plain/<str:kind>", plain_failing_view, name="test-plain"),
    *project_urlpatterns,
]
