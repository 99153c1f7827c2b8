"""HTTP layer of the calendars app: validate, call a service or selector, serialize."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseRedirect
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from calendars import selectors, services
from calendars.encryption import encryption_available
from calendars.errors import TokenEncryptionNotConfigured
from flashlearn.errors import DomainError
from flashlearn.openapi import paginated
from flashlearn.pagination import paginate
from flashlearn.throttles import UserWriteThrottle

MAX_WINDOW = timedelta(days=400)


class SyncStateOutput(serializers.Serializer):
    state = serializers.ChoiceField(choices=["idle", "queued", "running"])
    queued_at = serializers.DateTimeField(allow_null=True)
    last_result = serializers.CharField(allow_blank=True, help_text='"ok", an error code, or "" before any sync')
    last_finished_at = serializers.DateTimeField(allow_null=True)


class CalendarOutput(serializers.Serializer):
    calendar_id = serializers.CharField()
    last_synced_at = serializers.DateTimeField(allow_null=True)
    full_synced_at = serializers.DateTimeField(allow_null=True)
    incremental = serializers.SerializerMethodField(help_text="true once a sync token allows incremental syncs")
    push_channel_expires_at = serializers.DateTimeField(allow_null=True)

    def get_incremental(self, state) -> bool:
        return bool(state.sync_token)


class ConnectionOutput(serializers.Serializer):
    """Formats a selectors.ConnectionOverview: everything it shows is loaded before, in a fixed number
    of queries (a serializer that queried per calendar made the page cost grow with the calendars)."""

    provider = serializers.CharField(source="connection.provider")
    account_email = serializers.EmailField(source="connection.account_email")
    status = serializers.CharField(source="connection.status")
    last_synced_at = serializers.DateTimeField(source="connection.last_synced_at", allow_null=True)
    last_error = serializers.CharField(source="connection.last_error", allow_blank=True)
    consecutive_failures = serializers.IntegerField(source="connection.consecutive_failures")
    next_retry_at = serializers.DateTimeField(source="connection.next_retry_at", allow_null=True)
    connected_at = serializers.DateTimeField(source="connection.created_at")
    event_count = serializers.IntegerField()
    calendars = CalendarOutput(many=True)
    sync = SyncStateOutput()


class GoogleConnectApi(APIView):
    throttle_classes = [UserWriteThrottle]
    throttle_scope = "calendar_connect"
    throttle_methods = ("GET",)  # starting the OAuth flow writes its state

    @extend_schema(responses=inline_serializer("CalendarConnect", {"authorization_url": serializers.URLField()}))
    def get(self, request):
        if not encryption_available():
            raise TokenEncryptionNotConfigured()
        return Response({"authorization_url": services.oauth_start(user=request.user)})


def _with_query(url: str, **params: str) -> str:
    """`url` with `params` appended, whether or not it already has a query (e.g. ?tab=calendar)."""
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


class GoogleCallbackApi(APIView):
    """Reached by the browser redirect from Google: no bearer header, the signed state names the user."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        state = serializers.CharField(required=False, allow_blank=True, default="")
        code = serializers.CharField(required=False, allow_blank=True, default="")
        error = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(parameters=[InputSerializer], responses=ConnectionOutput)
    def get(self, request):
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        return_url = settings.CALENDAR_CONNECT_RETURN_URL
        try:
            connection = services.oauth_complete(state=data.validated_data["state"],
                                                 code=data.validated_data["code"] or None,
                                                 error=data.validated_data["error"] or None)
        except DomainError as exc:
            if return_url:
                return HttpResponseRedirect(_with_query(return_url, status="error", code=exc.code))
            raise
        if return_url:
            return HttpResponseRedirect(_with_query(return_url, status="connected"))
        return Response(ConnectionOutput(selectors.connection_overview(connection=connection)).data)


class ConnectionApi(APIView):
    @extend_schema(responses=ConnectionOutput)
    def get(self, request):
        connection = selectors.connection_get_for_user(user=request.user)
        return Response(ConnectionOutput(selectors.connection_overview(connection=connection)).data)

    @extend_schema(responses={204: None})
    def delete(self, request):
        services.connection_disconnect(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SyncApi(APIView):
    throttle_classes = [UserWriteThrottle]
    throttle_scope = "calendar_sync"

    """Queues a sync and answers 202 at once with the sync state; GET connection shows how it went."""

    class InputSerializer(serializers.Serializer):
        full = serializers.BooleanField(required=False, default=False)

    @extend_schema(request=InputSerializer, responses={202: SyncStateOutput})
    def post(self, request):
        data = self.InputSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        connection = services.connection_sync_request(user=request.user, full=data.validated_data["full"])
        return Response(SyncStateOutput(selectors.connection_sync_state(connection=connection)).data,
                        status=status.HTTP_202_ACCEPTED)


class EventsApi(APIView):
    class InputSerializer(serializers.Serializer):
        start = serializers.DateTimeField(required=False)
        end = serializers.DateTimeField(required=False)

        def validate(self, attrs):
            start = attrs.get("start") or timezone.now()
            try:
                end = attrs.get("end") or start + timedelta(days=30)
            except OverflowError:  # start=9999-12-31...: the default window runs past year 9999
                raise serializers.ValidationError({"start": ["Out of range."]}) from None
            if end <= start:
                raise serializers.ValidationError({"end": ["Must be after start."]})
            if end - start > MAX_WINDOW:
                raise serializers.ValidationError({"end": [f"The window may span at most {MAX_WINDOW.days} days."]})
            return {"start": start, "end": end}

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        google_id = serializers.CharField()
        calendar_id = serializers.CharField()
        status = serializers.CharField()
        summary = serializers.CharField()
        description = serializers.CharField()
        location = serializers.CharField()
        start = serializers.DateTimeField()
        end = serializers.DateTimeField()
        all_day = serializers.BooleanField()
        time_zone = serializers.CharField()
        recurring_event_id = serializers.CharField()
        html_link = serializers.CharField()
        updated = serializers.DateTimeField()

    @extend_schema(parameters=[InputSerializer], responses=paginated(OutputSerializer, name="CalendarEventPage"))
    def get(self, request):
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        events = selectors.event_list(user=request.user, **data.validated_data)
        return paginate(request, view=self, queryset=events,
                        serialize=lambda page: self.OutputSerializer(page, many=True).data)


class GoogleNotificationsApi(APIView):
    """Google's push webhook: authenticated by the channel id and our per-channel token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=None,
                   responses=inline_serializer("CalendarNotification", {"status": serializers.CharField()}))
    def post(self, request):
        outcome = services.notification_receive(
            channel_id=request.headers.get("X-Goog-Channel-ID", ""),
            token=request.headers.get("X-Goog-Channel-Token", ""),
            resource_state=request.headers.get("X-Goog-Resource-State", ""),
            resource_id=request.headers.get("X-Goog-Resource-ID", ""),
        )
        return Response({"status": outcome})
