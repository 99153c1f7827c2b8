"""REST for live sessions and messages (API.md, Messaging). Thin: validate, call, serialize."""

from __future__ import annotations

from typing import Annotated, NotRequired

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from flashlearn.openapi import paginated, serializer_for
from flashlearn.pagination import envelope, paginate
from flashlearn.throttles import UserWriteThrottle
from flashlearn.wire import Doc, OneOf
from messaging import selectors, services
from messaging.events import MessagePayload, SessionPayload, for_viewer, message_payload, session_payload
from messaging.models import MESSAGE_BODY_MAX, LiveSession


class SessionOut(SessionPayload):
    """A live session in REST answers: what every member sees, plus the caller's own view of it."""

    my_role: Annotated[str, OneOf(["host", "participant"])]
    unread_count: int
    member_count: int
    invite_code: NotRequired[Annotated[
        str, Doc("Only in the host's copy: the code that lets others join a private session.")]]


SessionOutputSerializer = serializer_for(SessionOut, name="SessionOutputSerializer")
MessageOutputSerializer = serializer_for(MessagePayload, name="MessageOutputSerializer")


def session_out(session: LiveSession) -> SessionOut:
    my_role = getattr(session, "my_role", None)
    out: SessionOut = {
        **session_payload(session),
        "my_role": my_role,
        "unread_count": getattr(session, "unread_count", 0),
        "member_count": getattr(session, "member_count", None),
    }
    if my_role == "host":
        out["invite_code"] = session.invite_code
    return out


class LiveSessionListCreateApi(APIView):
    throttle_classes = [UserWriteThrottle]
    throttle_scope = "session_create"  # POST only: the list is a read

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=LiveSession.Status.choices, required=False)

    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200)
        description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
        scheduled_for = serializers.DateTimeField(required=False, allow_null=True, default=None)
        visibility = serializers.ChoiceField(
            choices=LiveSession.Visibility.choices, required=False, default=LiveSession.Visibility.PRIVATE
        )

    @extend_schema(
        operation_id="v1_live_sessions_list",
        parameters=[FilterSerializer],
        responses=paginated(SessionOutputSerializer, name="LiveSessionPage"),
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        qs = selectors.session_list_for_user(user=request.user, status=filters.validated_data.get("status"))
        return paginate(request, view=self, queryset=qs, serialize=lambda page: [session_out(s) for s in page])

    @extend_schema(request=InputSerializer, responses={201: SessionOutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        session = services.live_session_create(host=request.user, **data.validated_data)
        detail = selectors.session_detail_for_member(user=request.user, session_id=session.pk)
        return Response(session_out(detail), status=status.HTTP_201_CREATED)


class LiveSessionDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        title = serializers.CharField(max_length=200, required=False)
        description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
        scheduled_for = serializers.DateTimeField(required=False, allow_null=True)
        visibility = serializers.ChoiceField(choices=LiveSession.Visibility.choices, required=False)

    @extend_schema(responses=SessionOutputSerializer)
    def get(self, request, session_id: int):
        session = selectors.session_detail_for_member(user=request.user, session_id=session_id)
        return Response(session_out(session))

    @extend_schema(request=InputSerializer, responses=SessionOutputSerializer)
    def patch(self, request, session_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.live_session_update(user=request.user, session_id=session_id, fields=data.validated_data)
        return Response(session_out(selectors.session_detail_for_member(user=request.user, session_id=session_id)))

    @extend_schema(responses={204: None})
    def delete(self, request, session_id: int):
        services.live_session_delete(user=request.user, session_id=session_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LiveSessionJoinApi(APIView):
    class InputSerializer(serializers.Serializer):
        invite_code = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)

    @extend_schema(
        request=InputSerializer,
        responses={200: SessionOutputSerializer, 201: SessionOutputSerializer},
        description="A public session joins by id; a private one needs `invite_code`. A wrong or missing code "
        "is the same 404 as an unknown id.",
    )
    def post(self, request, session_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _, created = services.live_session_join(
            user=request.user, session_id=session_id, invite_code=data.validated_data.get("invite_code")
        )
        session = selectors.session_detail_for_member(user=request.user, session_id=session_id)
        return Response(session_out(session), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class LiveSessionInviteRotateApi(APIView):
    @extend_schema(request=None, responses=SessionOutputSerializer,
                   description="Host only: a new `invite_code`; the old one stops working.")
    def post(self, request, session_id: int):
        services.live_session_invite_rotate(user=request.user, session_id=session_id)
        return Response(session_out(selectors.session_detail_for_member(user=request.user, session_id=session_id)))


class LiveSessionLeaveApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request, session_id: int):
        services.live_session_leave(user=request.user, session_id=session_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LiveSessionStartApi(APIView):
    @extend_schema(request=None, responses=SessionOutputSerializer)
    def post(self, request, session_id: int):
        services.live_session_start(user=request.user, session_id=session_id)
        return Response(session_out(selectors.session_detail_for_member(user=request.user, session_id=session_id)))


class LiveSessionEndApi(APIView):
    @extend_schema(request=None, responses=SessionOutputSerializer)
    def post(self, request, session_id: int):
        services.live_session_end(user=request.user, session_id=session_id)
        return Response(session_out(selectors.session_detail_for_member(user=request.user, session_id=session_id)))


class LiveSessionMessagesApi(APIView):
    class FilterSerializer(serializers.Serializer):
        after = serializers.IntegerField(required=False, min_value=0)
        after_seq = serializers.IntegerField(required=False, min_value=0, max_value=2**63 - 1)
        before = serializers.IntegerField(required=False, min_value=1)
        limit = serializers.IntegerField(required=False, min_value=1)

    @extend_schema(
        parameters=[
            OpenApiParameter("after", int, description="only messages with a larger id"),
            OpenApiParameter("after_seq", int, description="only messages with a larger `seq` (fill a gap)"),
            OpenApiParameter("before", int, description="only messages with a smaller id"),
            OpenApiParameter("limit", int, description="page size, capped at MESSAGING_HISTORY_MAX_PAGE_SIZE"),
        ],
        responses=paginated(MessageOutputSerializer, name="MessagePage", count=False),
    )
    def get(self, request, session_id: int):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        limit = min(params.get("limit", settings.MESSAGING_HISTORY_PAGE_SIZE), settings.MESSAGING_HISTORY_MAX_PAGE_SIZE)
        page = selectors.message_history(
            user=request.user, session_id=session_id, after=params.get("after"), before=params.get("before"),
            after_seq=params.get("after_seq"), limit=limit,
        )
        results = [for_viewer(message_payload(m), request.user.pk) for m in page.messages]
        base = request.build_absolute_uri(request.path)
        next_url = prev_url = None
        if page.has_newer and results and "after_seq" in params:
            next_url = f"{base}?after_seq={results[-1]['seq']}&limit={limit}"
        elif page.has_newer and results:
            next_url = f"{base}?after={results[-1]['id']}&limit={limit}"
        if page.has_older and results:
            prev_url = f"{base}?before={results[0]['id']}&limit={limit}"
        return Response(envelope(results, next_url=next_url, previous_url=prev_url))


class MessageCreateApi(APIView):
    throttle_classes = [UserWriteThrottle]
    throttle_scope = "message_post"

    class InputSerializer(serializers.Serializer):
        session = serializers.IntegerField(min_value=1)
        body = serializers.CharField(max_length=MESSAGE_BODY_MAX, trim_whitespace=True)
        client_id = serializers.CharField(max_length=64, required=False, allow_null=True, allow_blank=True)

    @extend_schema(
        request=InputSerializer,
        responses={201: MessageOutputSerializer, 200: MessageOutputSerializer},
        description="201 with the new message; 200 with the first message when this `client_id` was already used.",
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        message, created = services.message_send(
            user=request.user, session_id=params["session"], body=params["body"], client_id=params.get("client_id")
        )
        return Response(message_payload(message), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class MessageDetailApi(APIView):
    class InputSerializer(serializers.Serializer):
        body = serializers.CharField(max_length=MESSAGE_BODY_MAX)

    @extend_schema(responses=MessageOutputSerializer)
    def get(self, request, message_id: int):
        message = selectors.message_get_for_member(user=request.user, message_id=message_id)
        return Response(for_viewer(message_payload(message), request.user.pk))

    @extend_schema(request=InputSerializer, responses=MessageOutputSerializer)
    def patch(self, request, message_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.message_edit(user=request.user, message_id=message_id, body=data.validated_data["body"])
        return Response(message_payload(message))

    @extend_schema(responses={204: None})
    def delete(self, request, message_id: int):
        services.message_delete(user=request.user, message_id=message_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LiveSessionReadApi(APIView):
    class InputSerializer(serializers.Serializer):
        message_id = serializers.IntegerField(min_value=1)

    @extend_schema(
        request=InputSerializer,
        responses=inline_serializer("ReadMarker", {"message_id": serializers.IntegerField(),
                                                   "unread_count": serializers.IntegerField()}),
    )
    def post(self, request, session_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership, _moved = services.membership_mark_read(
            user=request.user, session_id=session_id, message_id=data.validated_data["message_id"]
        )
        return Response({
            "message_id": membership.last_read_message_id,
            "unread_count": selectors.unread_count(user=request.user, session_id=session_id),
        })
