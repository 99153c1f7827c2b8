"""HTTP layer of the creators app: validate, call a selector or service, serialize."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from creators import selectors, services
from creators.models import Platform
from creators.serializers import CreatorPostSerializer, CreatorSerializer, FiniteFloatField
from flashlearn.openapi import paginated
from flashlearn.pagination import paginate
from flashlearn.throttles import UserWriteThrottle


class PageInputSerializer(serializers.Serializer):
    """Rejects a malformed page or page_size with a 400 instead of DRF's 404."""

    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1)


def _paginated(request: Request, view: APIView, queryset, serialize) -> Response:
    PageInputSerializer(data=request.query_params).is_valid(raise_exception=True)
    return paginate(request, view=view, queryset=queryset, serialize=serialize,
                    max_page_size=settings.CREATOR_SEARCH_MAX_PAGE_SIZE)


class CreatorSearchApi(APIView):
    class InputSerializer(PageInputSerializer):
        q = serializers.CharField(required=False, allow_blank=True, max_length=200, trim_whitespace=True)
        platform = serializers.ChoiceField(choices=Platform.choices, required=False)
        category = serializers.RegexField(r"^[\w &-]{1,50}$", required=False)
        country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False,
                                         error_messages={"invalid": "Use a two-letter country code (ISO 3166-1)."})
        language = serializers.RegexField(r"^[A-Za-z]{2,3}$", required=False,
                                          error_messages={"invalid": "Use a two-letter language code (ISO 639-1)."})
        min_followers = serializers.IntegerField(required=False, min_value=0)
        max_followers = serializers.IntegerField(required=False, min_value=0)
        min_engagement = FiniteFloatField(required=False, min_value=0, max_value=100)
        max_engagement = FiniteFloatField(required=False, min_value=0, max_value=100)
        verified = serializers.BooleanField(required=False, allow_null=True, default=None)
        ordering = serializers.ChoiceField(
            choices=["relevance", *selectors.ORDERINGS], required=False,
            help_text="relevance (default with q), -followers (default without), followers, -engagement, engagement",
        )

        def validate(self, attrs: dict) -> dict:
            if attrs.get("min_followers") is not None and attrs.get("max_followers") is not None and \
                    attrs["min_followers"] > attrs["max_followers"]:
                raise serializers.ValidationError({"max_followers": ["Must be at least min_followers."]})
            if attrs.get("min_engagement") is not None and attrs.get("max_engagement") is not None and \
                    attrs["min_engagement"] > attrs["max_engagement"]:
                raise serializers.ValidationError({"max_engagement": ["Must be at least min_engagement."]})
            return attrs

    @extend_schema(parameters=[InputSerializer], responses=paginated(CreatorSerializer, name="CreatorPage"))
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = {k: v for k, v in params.validated_data.items() if k not in {"page", "page_size"}}
        queryset = selectors.creator_search(user=request.user, filters=selectors.SearchFilters(**data))
        return _paginated(request, self, queryset, lambda page: CreatorSerializer(page, many=True).data)


class CreatorDetailOutput(CreatorSerializer):
    """One creator and its most recent posts."""

    # Only describes the answer in the schema: CreatorDetailApi adds `recent_posts` itself.

    recent_posts = CreatorPostSerializer(many=True, read_only=True)

    class Meta(CreatorSerializer.Meta):
        fields = [*CreatorSerializer.Meta.fields, "recent_posts"]


class CreatorDetailApi(APIView):
    @extend_schema(responses=CreatorDetailOutput)
    def get(self, request: Request, creator_id: int) -> Response:
        creator = selectors.creator_get(user=request.user, creator_id=creator_id)
        data = CreatorSerializer(creator).data
        posts = selectors.creator_recent_posts(creator=creator)
        data["recent_posts"] = CreatorPostSerializer(posts, many=True, context={"unlocked": data["unlocked"]}).data
        return Response(data)


class CreatorUnlockApi(APIView):
    throttle_classes = [UserWriteThrottle]
    throttle_scope = "creator_unlock"

    @extend_schema(request=None, responses={201: inline_serializer("CreatorUnlock", fields={
        "creator": CreatorSerializer(), "charged": serializers.BooleanField(),
        "credits_spent": serializers.IntegerField(), "unlocked_at": serializers.DateTimeField(),
        "balance": serializers.IntegerField()})})
    def post(self, request: Request, creator_id: int) -> Response:
        result = services.creator_unlock(user=request.user, creator_id=creator_id)
        creator = selectors.creator_get(user=request.user, creator_id=creator_id)
        body = {
            "creator": CreatorSerializer(creator).data,
            "charged": result.charged,
            "credits_spent": result.unlock.credits_spent,
            "unlocked_at": result.unlock.created_at,
            "balance": result.balance,
        }
        return Response(body, status=status.HTTP_201_CREATED if result.charged else status.HTTP_200_OK)


class UnlockedCreatorsApi(APIView):
    @extend_schema(parameters=[PageInputSerializer], responses=paginated(CreatorSerializer, name="UnlockedCreatorPage"))
    def get(self, request: Request) -> Response:
        queryset = selectors.unlocked_creators(user=request.user)
        return _paginated(request, self, queryset, lambda page: CreatorSerializer(page, many=True).data)


def _stats_block(name: str) -> serializers.Serializer:
    return inline_serializer(name, fields={
        "total": serializers.IntegerField(), "with_ai_analysis": serializers.IntegerField(),
        "with_current_analysis": serializers.IntegerField(),
        "ai_completion_rate": serializers.CharField(help_text='a percentage string, e.g. "37.5%"'),
    })


class SystemStatsApi(APIView):
    @extend_schema(responses={200: inline_serializer("CreatorSystemStats", fields={
        "profiles": _stats_block("CreatorStatsProfiles"), "posts": _stats_block("CreatorStatsPosts"),
        "system": inline_serializer("CreatorStatsSystem", fields={
            "status": serializers.CharField(), "ai_system": serializers.CharField(),
            "ai_analyzer_version": serializers.CharField(), "database": serializers.CharField(),
            "generated_at": serializers.DateTimeField(), "cache_seconds": serializers.IntegerField(),
        }),
    })})
    def get(self, request: Request) -> Response:
        return Response(selectors.system_stats())


class CreditsApi(APIView):
    class LedgerOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        delta = serializers.IntegerField()
        reason = serializers.CharField()
        note = serializers.CharField()
        creator_id = serializers.IntegerField(allow_null=True)
        balance_after = serializers.IntegerField()
        created_at = serializers.DateTimeField()

    @extend_schema(parameters=[PageInputSerializer], responses=paginated(
        LedgerOutputSerializer, name="Credits",
        before={"balance": serializers.IntegerField(), "unlock_price": serializers.IntegerField()}))
    def get(self, request: Request) -> Response:
        response = _paginated(request, self, selectors.credit_ledger(user=request.user),
                              lambda page: self.LedgerOutputSerializer(page, many=True).data)
        response.data = {
            "balance": selectors.credit_balance(user=request.user),
            "unlock_price": settings.CREATOR_UNLOCK_PRICE,
            **response.data,
        }
        return response
