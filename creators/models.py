"""Creators, their posts, unlocks and the credit ledger.

Invariants live in the database: one handle per platform, one unlock per (user, creator),
a balance that can never go below zero, and a ledger entry for every balance change.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower


class Platform(models.TextChoices):
    INSTAGRAM = "instagram", "Instagram"
    TIKTOK = "tiktok", "TikTok"
    YOUTUBE = "youtube", "YouTube"


# Full-text search on PostgreSQL reads a stored generated column, `search_document`, that the
# migration adds only there (SQLite has no tsvector), so it is not a model field: Django never
# writes it and SQLite never sees it. Stored, not a functional index, so ranking and the bitmap
# recheck read the vector instead of recomputing to_tsvector for every matching row.
# 'simple' configuration (no stemming, no stop words): creators write in many languages.
SEARCH_CONFIG = "simple"
SEARCH_DOCUMENT_COLUMN = "search_document"
SEARCH_DOCUMENT_SQL = (
    "setweight(to_tsvector('simple', coalesce(handle, '') || ' ' || coalesce(display_name, '')), 'A')"
    " || setweight(to_tsvector('simple', coalesce(category, '')), 'B')"
    " || setweight(to_tsvector('simple', coalesce(bio, '')), 'C')"
)


class Creator(models.Model):
    platform = models.CharField(max_length=16, choices=Platform.choices)
    handle = models.CharField(max_length=100)
    display_name = models.CharField(max_length=200, blank=True)
    bio = models.TextField(blank=True)
    avatar_url = models.URLField(max_length=500, blank=True)
    profile_url = models.URLField(max_length=500, blank=True)
    followers = models.BigIntegerField(default=0)
    following = models.BigIntegerField(default=0)
    posts_count = models.IntegerField(default=0)
    # Percent: (likes + comments) per post / followers * 100.
    engagement_rate = models.FloatField(default=0.0)
    category = models.CharField(max_length=50, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2, upper case")
    language = models.CharField(max_length=8, blank=True, help_text="ISO 639-1")
    verified = models.BooleanField(default=False)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=32, blank=True)
    ai_analysis = models.JSONField(null=True, blank=True)
    ai_analyzer_version = models.CharField(max_length=200, blank=True)
    ai_analyzed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("platform", "handle", name="creators_creator_platform_handle_unique"),
            models.CheckConstraint(condition=Q(followers__gte=0), name="creators_creator_followers_gte_0"),
            models.CheckConstraint(condition=Q(engagement_rate__gte=0), name="creators_creator_engagement_gte_0"),
        ]
        indexes = [
            models.Index(fields=["-followers", "-id"], name="creators_followers_idx"),
            models.Index(fields=["-engagement_rate", "-id"], name="creators_engagement_idx"),
            models.Index(fields=["category"], name="creators_category_idx"),
            models.Index(fields=["country"], name="creators_country_idx"),
            models.Index(fields=["language"], name="creators_language_idx"),
            models.Index(fields=["ai_analyzed_at"], name="creators_analyzed_idx"),
            models.Index(fields=["handle"], name="creators_handle_idx"),
            # PostgreSQL only (the migration skips it elsewhere): trigram similarity on handles.
            # On lower(handle), not the column: since PostgreSQL 14 a trigram index also serves
            # `handle = ANY(...)`, and the planner picks it over the btree at ruinous cost.
            GinIndex(OpClass(Lower("handle"), name="gin_trgm_ops"), name="creators_handle_trgm"),
        ]

    def __str__(self) -> str:
        return f"{self.platform}:@{self.handle}"


class CreatorPost(models.Model):
    class MediaType(models.TextChoices):
        IMAGE = "image", "Image"
        VIDEO = "video", "Video"
        CAROUSEL = "carousel", "Carousel"
        REEL = "reel", "Reel"
        SHORT = "short", "Short"

    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="posts")
    platform_post_id = models.CharField(max_length=100)
    caption = models.TextField(blank=True)
    media_type = models.CharField(max_length=16, choices=MediaType.choices, default=MediaType.IMAGE)
    likes = models.BigIntegerField(default=0)
    comments = models.BigIntegerField(default=0)
    views = models.BigIntegerField(default=0)
    posted_at = models.DateTimeField(null=True, blank=True)
    ai_analysis = models.JSONField(null=True, blank=True)
    ai_analyzer_version = models.CharField(max_length=200, blank=True)
    ai_analyzed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("creator", "platform_post_id", name="creators_post_creator_post_id_unique"),
        ]
        indexes = [models.Index(fields=["ai_analyzed_at"], name="creators_post_analyzed_idx")]

    def __str__(self) -> str:
        return f"{self.creator_id}/{self.platform_post_id}"


class Unlock(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="creator_unlocks")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="unlocks")
    credits_spent = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("user", "creator", name="creators_unlock_user_creator_unique"),
            models.CheckConstraint(condition=Q(credits_spent__gte=0), name="creators_unlock_spent_gte_0"),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="creators_unlock_user_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} unlocked {self.creator_id}"


class CreditAccount(models.Model):
    """The current balance, kept beside the ledger and changed only under a row lock."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credit_account")
    balance = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="creators_credit_balance_gte_0")]

    def __str__(self) -> str:
        return f"{self.user} ({self.balance} credits)"


class CreditLedger(models.Model):
    class Reason(models.TextChoices):
        GRANT = "grant", "Grant"
        UNLOCK = "unlock", "Unlock"
        ADJUSTMENT = "adjustment", "Adjustment"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credit_ledger")
    delta = models.IntegerField()
    reason = models.CharField(max_length=16, choices=Reason.choices)
    note = models.CharField(max_length=200, blank=True)
    creator = models.ForeignKey(Creator, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="staff member or operator who granted the credits",
    )
    balance_after = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="creators_ledger_balance_after_gte_0"),
            models.CheckConstraint(condition=~Q(delta=0), name="creators_ledger_delta_nonzero"),
        ]
        indexes = [models.Index(fields=["user", "-id"], name="creators_ledger_user_idx")]
        verbose_name_plural = "credit ledger"

    def __str__(self) -> str:
        return f"{self.user_id} {self.delta:+d} ({self.reason})"


class AnalysisChunk(models.Model):
    """One `creators.analyze_chunk` task: the creators it covers and how it went.

    `analyze_creators` queues one per CREATOR_ANALYSIS_CHUNK creators; `--status` counts them. A
    redelivered chunk changes nothing: a done chunk is skipped, and the pipeline only touches
    creators whose stored analyzer version is not the current one.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    creator_ids = models.JSONField()
    size = models.PositiveIntegerField()
    force = models.BooleanField(default=False, help_text="re-analyse even creators whose analysis is current")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    analysed = models.PositiveIntegerField(default=0)
    version = models.CharField(max_length=200, blank=True, help_text="analyzer version of the run that finished it")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status"], name="creators_chunk_status_idx")]

    def __str__(self) -> str:
        return f"analysis chunk {self.pk} ({self.size} creators, {self.status})"
