"""What staff need: find creators, see posts and unlocks, re-run analysis, read and grant credits."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models

from creators import selectors, services
from creators.analysis import pipeline
from creators.models import Creator, CreatorPost, CreditAccount, CreditLedger, Unlock
from flashlearn.errors import DomainError


class AnalysedFilter(admin.SimpleListFilter):
    title = "AI analysis"
    parameter_name = "analysed"

    def lookups(self, request, model_admin):
        return [("yes", "Analysed"), ("no", "Not analysed"), ("stale", "Older analyzer version")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(ai_analyzed_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(ai_analyzed_at__isnull=True)
        if self.value() == "stale":
            version = pipeline.analyzer_version(pipeline.load_analyzers())
            return queryset.filter(ai_analyzed_at__isnull=False).exclude(ai_analyzer_version=version)
        return queryset


class CreatorPostInline(admin.TabularInline):
    model = CreatorPost
    extra = 0
    fields = ["platform_post_id", "caption", "media_type", "likes", "comments", "views", "posted_at", "ai_analyzed_at"]
    readonly_fields = ["ai_analyzed_at"]
    show_change_link = True


class UnlockInline(admin.TabularInline):
    model = Unlock
    extra = 0
    fields = ["user", "credits_spent", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # unlocks go through the credit service, never around it


@admin.register(Creator)
class CreatorAdmin(admin.ModelAdmin):
    list_display = ["handle", "platform", "display_name", "followers", "engagement_rate", "category", "country",
                    "verified", "ai_analyzed_at"]
    list_filter = ["platform", "category", "country", "verified", AnalysedFilter]
    search_fields = ["handle", "display_name"]
    readonly_fields = ["ai_analysis", "ai_analyzer_version", "ai_analyzed_at", "created_at", "updated_at"]
    inlines = [CreatorPostInline, UnlockInline]
    actions = ["reanalyse"]
    show_full_result_count = False  # no COUNT(*) over the whole table on every page
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.action(description="Re-analyse selected creators now")
    def reanalyse(self, request, queryset):
        result = pipeline.run(force=True, ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Analysed {result.creators} creators and {result.posts} posts.", messages.SUCCESS)


@admin.register(Unlock)
class UnlockAdmin(admin.ModelAdmin):
    list_display = ["user", "creator", "credits_spent", "created_at"]
    search_fields = ["user__email", "creator__handle"]
    list_select_related = ["user", "creator"]
    readonly_fields = ["user", "creator", "credits_spent", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin):
    list_display = ["user", "balance", "updated_at"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    readonly_fields = ["user", "balance", "updated_at"]

    def has_add_permission(self, request):
        return False  # balances change only through ledger entries


@admin.register(CreditLedger)
class CreditLedgerAdmin(admin.ModelAdmin):
    """Read-only history; "Add" grants credits through the service (locked, with balance_after)."""

    list_display = ["created_at", "user", "delta", "reason", "balance_after", "creator", "actor", "note"]
    list_filter = ["reason"]
    search_fields = ["user__email", "note"]
    list_select_related = ["user", "creator", "actor"]
    fields = ["user", "delta", "note"]
    raw_id_fields = ["user"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return ["user", "delta", "reason", "note", "creator", "actor", "balance_after", "created_at"]
        return []

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) if obj is not None else ["user", "delta", "note"]

    def has_change_permission(self, request, obj=None):
        return False  # history is never edited; staff still view entries

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is None:
            form.base_fields["delta"].label = "Credits to grant"
            form.base_fields["delta"].min_value = 1

            def clean_delta(self):
                value = self.cleaned_data["delta"]
                if value is None or value <= 0:
                    raise ValidationError("Grant a positive number of credits.")
                user = self.cleaned_data.get("user")
                if user is not None and selectors.credit_balance(user=user) + value > services.MAX_BALANCE:
                    raise ValidationError(f"A balance cannot exceed {services.MAX_BALANCE} credits.")
                return value

            form.clean_delta = clean_delta
        return form

    def save_model(self, request, obj, form, change):
        try:
            entry = services.credits_grant(user=obj.user, amount=obj.delta, actor=request.user,
                                           note=obj.note or f"granted by {request.user}")
        except DomainError as exc:  # pragma: no cover - the form already refused it
            raise ValidationError(exc.message) from exc
        obj.pk = entry.pk
        obj.refresh_from_db()
