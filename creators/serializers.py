"""Creator output shared by search, detail, unlock and the unlocked list."""

from __future__ import annotations

import math

from rest_framework import serializers

from creators.models import Creator, CreatorPost

PUBLIC_FIELDS = [
    "id", "platform", "handle", "display_name", "bio", "avatar_url", "profile_url", "followers", "following",
    "posts_count", "engagement_rate", "category", "country", "language", "verified",
]
# Only once the caller has unlocked the creator.
PRIVATE_FIELDS = ["contact_email", "contact_phone", "ai_analysis", "ai_analyzer_version", "ai_analyzed_at"]


class FiniteFloatField(serializers.FloatField):
    """DRF's FloatField takes "nan": it passes min/max checks, and a stored NaN would later make
    every JSON answer that contains it fail to render (strict JSON has no NaN)."""

    default_error_messages = {"invalid": "A valid finite number is required."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("invalid")
        return value


class CreatorSerializer(serializers.ModelSerializer):
    """Public fields for everyone; contact details and the detailed analysis only when unlocked.

    Expects the `unlocked_at` annotation from `selectors.with_unlock_state`.
    """

    unlocked = serializers.SerializerMethodField()
    unlocked_at = serializers.DateTimeField(read_only=True, allow_null=True)
    has_ai_analysis = serializers.SerializerMethodField()

    class Meta:
        model = Creator
        fields = [*PUBLIC_FIELDS, "has_ai_analysis", "unlocked", "unlocked_at", *PRIVATE_FIELDS]

    def get_unlocked(self, obj: Creator) -> bool:
        return getattr(obj, "unlocked_at", None) is not None

    def get_has_ai_analysis(self, obj: Creator) -> bool:
        return obj.ai_analyzed_at is not None

    def to_representation(self, instance: Creator) -> dict:
        data = super().to_representation(instance)
        if not data["unlocked"]:
            for field in PRIVATE_FIELDS:
                data.pop(field, None)
        return data


class CreatorPostSerializer(serializers.ModelSerializer):
    class Meta:
        model = CreatorPost
        fields = ["id", "platform_post_id", "caption", "media_type", "likes", "comments", "views", "posted_at",
                  "ai_analysis"]

    def to_representation(self, instance: CreatorPost) -> dict:
        data = super().to_representation(instance)
        if not self.context.get("unlocked"):
            data.pop("ai_analysis", None)
        return data
