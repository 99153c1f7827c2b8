"""What staff need: find creators, see posts and unlocks, re-run analysis, read and grant credits."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Sum
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from creators import selectors, services
from creators.analysis import pipeline
from creators.models import Creator, CreatorPost, CreditAccount, CreditLedger, Unlock
from flashlearn.admin_numbers import StaffNumber, changelist_url
from flashlearn.admin_pages import short_time, truncated
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
    """Posts as a compact read-only table (imported data); the change link opens one post in full."""

    model = CreatorPost
    extra = 0
    fields = ["posted_at", "media_type", "short_caption", "likes", "comments", "views"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False
    ordering = ["-posted_at"]

    @admin.display(description="caption")
    def short_caption(self, obj) -> str:
        return truncated(obj.caption, 60)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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
    list_display = ["short_handle", "platform", "short_display_name", "follower_count", "engagement", "category",
                    "analysed"]  # country and verified are filters
    list_filter = ["platform", "category", "country", "verified", AnalysedFilter]
    search_fields = ["handle", "display_name"]
    exclude = ["ai_analysis"]  # shown as labelled fields by `analysis`
    readonly_fields = ["analysis", "ai_analyzer_version", "ai_analyzed_at", "created_at", "updated_at"]
    inlines = [CreatorPostInline, UnlockInline]
    actions = ["reanalyse"]
    show_full_result_count = False  # no COUNT(*) over the whole table on every page
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="display name", ordering="display_name")
    def short_display_name(self, obj) -> str:
        return truncated(obj.display_name, 22)

    @admin.display(description="handle", ordering="handle")
    def short_handle(self, obj) -> str:
        return truncated(obj.handle, 22)

    @admin.display(description="followers", ordering="followers")
    def follower_count(self, obj) -> str:
        count = obj.followers
        return f"{count / 1e6:.1f}M" if count >= 1e6 else f"{count / 1e3:.1f}k" if count >= 1e4 else str(count)

    @admin.display(description="engagement", ordering="engagement_rate")
    def engagement(self, obj) -> str:
        return f"{obj.engagement_rate:.2f}%"

    @admin.display(description="analysed", boolean=True, ordering="ai_analyzed_at")
    def analysed(self, obj) -> bool:
        return obj.ai_analyzed_at is not None

    @admin.display(description="AI analysis")
    def analysis(self, obj):
        """The analysis as labelled fields instead of one JSON paragraph."""
        data = obj.ai_analysis or {}
        if not data:
            return "-"
        summary = data.get("summary", {})
        topics = data.get("topics", {})
        safety = data.get("brand_safety", {})
        quality = data.get("quality", {})
        sentiment = data.get("sentiment", {})

        def listed(values) -> str:
            return ", ".join(str(v) for v in values) if values else "none"

        rows = [
            ("Language", summary.get("language") or "-"),
            ("Sentiment", f"{summary.get('sentiment', '-')} (score {sentiment.get('compound', '-')}, "
                          f"{sentiment.get('samples', 0)} samples)"),
            ("Category", summary.get("category") or "-"),
            ("Topics", listed(topics.get("topics"))),
            ("Keywords", listed(topics.get("keywords"))),
            ("Brand safe", f"{'yes' if summary.get('brand_safe') else 'no'} (risk {safety.get('risk', '-')}; "
                           f"flags: {listed(safety.get('flags'))})"),
            ("Quality score", f"{summary.get('quality_score', '-')} / 100 "
                              f"(confidence {summary.get('confidence', '-')})"),
            ("Engagement", f"{quality.get('engagement_rate', '-')}% vs typical "
                           f"{quality.get('typical_engagement_rate', '-')}%"),
            ("Anomalies", listed(quality.get("anomalies"))),
        ]
        return format_html('<table class="analysis">{}</table>', format_html_join(
            "", '<tr><th scope="row">{}</th><td>{}</td></tr>', rows))

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

    def has_change_permission(self, request, obj=None):
        return False  # a read-only page: no Save button

    def has_delete_permission(self, request, obj=None):
        return False  # an unlock was paid for; the ledger keeps it


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin):
    list_display = ["user", "balance", "updated_at"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    readonly_fields = ["user", "balance", "updated_at", "grant_link"]

    @admin.display(description="grant")
    def grant_link(self, obj) -> str:
        url = reverse("admin:creators_creditledger_add")
        return format_html('<a href="{}?email={}">Grant credits to {}</a>', url, obj.user.email, obj.user.email)

    def has_add_permission(self, request):
        return False  # balances change only through ledger entries

    def has_change_permission(self, request, obj=None):
        return False  # a read-only page: no Save button

    def has_delete_permission(self, request, obj=None):
        return False  # the ledger would no longer add up


class GrantCreditsForm(forms.ModelForm):
    """Staff grant credits to the account with this email; the service writes the ledger row under a lock."""

    email = forms.EmailField(label="User email", help_text="The account that receives the credits.")

    class Meta:
        model = CreditLedger
        fields = ["delta", "note"]
        labels = {"delta": "Credits to grant"}
        help_texts = {"note": "Why (shown in the ledger). Default: granted by you."}

    field_order = ["email", "delta", "note"]

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        self.user = get_user_model().objects.filter(email__iexact=email).first()
        if self.user is None:
            raise ValidationError("No account has this email address.")
        return self.user.email

    def clean_delta(self):
        value = self.cleaned_data["delta"]
        if value is None or value <= 0:
            raise ValidationError("Grant a positive number of credits.")
        user = getattr(self, "user", None)
        if user is not None and selectors.credit_balance(user=user) + value > services.MAX_BALANCE:
            raise ValidationError(f"A balance cannot exceed {services.MAX_BALANCE} credits.")
        return value


@admin.register(CreditLedger)
class CreditLedgerAdmin(admin.ModelAdmin):
    """Read-only history; "Grant credits" finds the user by email and grants through the service."""

    list_display = ["created", "short_user", "delta", "reason", "balance_after", "creator", "short_note"]
    list_filter = ["reason", "created_at"]
    search_fields = ["user__email", "note"]
    list_select_related = ["user", "creator"]
    change_list_template = "admin/creators/creditledger/change_list.html"
    view_fields = ["user", "delta", "reason", "note", "creator", "actor", "balance_after", "created_at"]

    def staff_numbers(self) -> list[StaffNumber]:
        """On the admin index (flashlearn/admin_numbers.py)."""
        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        granted = CreditLedger.objects.filter(reason=CreditLedger.Reason.GRANT, created_at__gte=today)
        return [StaffNumber("Credits granted today", granted.aggregate(total=Sum("delta"))["total"] or 0,
                            changelist_url(CreditLedger, reason__exact="grant", created_at__gte=today))]

    @admin.display(description="note")
    def short_note(self, obj) -> str:
        return truncated(obj.note, 24)

    @admin.display(description="user", ordering="user__email")
    def short_user(self, obj) -> str:
        return truncated(obj.user.email, 26)

    @admin.display(description="when", ordering="created_at")
    def created(self, obj) -> str:
        return short_time(obj.created_at)

    def get_readonly_fields(self, request, obj=None):
        return self.view_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return self.view_fields if obj is not None else ["email", "delta", "note"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = GrantCreditsForm
        return super().get_form(request, obj, **kwargs)

    def add_view(self, request, form_url="", extra_context=None):
        return super().add_view(request, form_url, {**(extra_context or {}), "title": "Grant credits"})

    def has_change_permission(self, request, obj=None):
        return False  # history is never edited; staff still view entries

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            entry = services.credits_grant(user=form.user, amount=obj.delta, actor=request.user,
                                           note=obj.note or f"granted by {request.user}")
        except DomainError as exc:  # pragma: no cover - the form already refused it
            raise ValidationError(exc.message) from exc
        obj.pk = entry.pk
        obj.refresh_from_db()

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request, f"Granted {obj.delta} credits to {obj.user.email}: balance now {obj.balance_after}.",
            messages.SUCCESS,
        )
        url = reverse("admin:creators_creditledger_changelist")
        return HttpResponseRedirect(f"{url}?user__id__exact={obj.user_id}")
