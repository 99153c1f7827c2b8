"""HTTP routes of the transcription app."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from flashlearn.openapi import paginated
from flashlearn.pagination import envelope, paginate
from transcription import selectors, services
from transcription.errors import EngineUnavailable
from transcription.status import engine_status


class StatusApi(APIView):
    """Speech engine and client status. 503 + Retry-After when the engine cannot run."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 503: OpenApiTypes.OBJECT}, summary="Speech engine status")
    def get(self, request):
        current = engine_status()
        if current["state"] in ("unavailable", "no_worker"):
            raise EngineUnavailable(current["error"] or "No transcription worker is running.", retry_after=30)
        # Stream names carry user and session ids: the public status shows counts only.
        current["streams"] = {"count": len(current["streams"]),
                              "states": sorted({s["state"] for s in current["streams"].values()})}
        return Response(current)


class SegmentListApi(APIView):
    class FilterSerializer(serializers.Serializer):
        after = serializers.IntegerField(required=False, min_value=0, help_text="only segments with a larger id")

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        stream = serializers.CharField()
        speaker = serializers.IntegerField(source="speaker_id", allow_null=True)
        text = serializers.CharField()
        start = serializers.FloatField()
        end = serializers.FloatField()
        seq = serializers.IntegerField()
        created_at = serializers.DateTimeField()

    @extend_schema(parameters=[OpenApiParameter("after", int, description="only segments with a larger id")],
                   responses={200: paginated(OutputSerializer, name="TranscriptSegmentPage")},
                   summary="A stream's stored final segments")
    def get(self, request, stream: str):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        segments = selectors.segment_list(user=request.user, stream=stream, after=filters.validated_data.get("after"))
        return paginate(request, view=self, queryset=segments, page_size=50, max_page_size=500,
                        serialize=lambda page: self.OutputSerializer(page, many=True).data)


class SpeakerSerializer(serializers.Serializer):
    user = serializers.IntegerField(source="user_id")
    granted_by = serializers.IntegerField(source="granted_by_id", allow_null=True)
    created_at = serializers.DateTimeField()


class SpeakerListApi(APIView):
    """Who the host allowed to speak on a live session's stream; POST `{user}` allows one more."""

    class InputSerializer(serializers.Serializer):
        user = serializers.IntegerField(min_value=1)

    @extend_schema(responses={200: paginated(SpeakerSerializer, name="SpeakerPage", count=False)},
                   summary="Members allowed to speak")
    def get(self, request, stream: str):
        grants = selectors.speaker_list(user=request.user, stream=stream)
        return Response(envelope(SpeakerSerializer(grants, many=True).data, next_url=None, previous_url=None))

    @extend_schema(request=InputSerializer, responses={201: SpeakerSerializer}, summary="Let a member speak")
    def post(self, request, stream: str):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = services.speaker_grant(actor=request.user, stream=stream, user_id=data.validated_data["user"])
        return Response(SpeakerSerializer(grant).data, status=201)


class SpeakerDetailApi(APIView):
    @extend_schema(responses={204: None}, summary="Stop a member speaking")
    def delete(self, request, stream: str, user_id: int):
        services.speaker_revoke(actor=request.user, stream=stream, user_id=user_id)
        return Response(status=204)
