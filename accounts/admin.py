from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts import services
from accounts.admin_login import LockoutAdminAuthenticationForm
from accounts.models import AuthEvent, Profile, User
from accounts.stats import stats_read
from flashlearn.admin_numbers import StaffNumber, changelist_url
from flashlearn.admin_pages import short_time, truncated

# The admin signs in through the API's lockout and audit trail (accounts.admin_login).
admin.site.login_form = LockoutAdminAuthenticationForm


class ParsedField(forms.CharField):
    """Plain text turned into its stored form by one of the API's profile parsers, so that the admin
    stores what the API would (E.164 phones, canonical social URLs) and accepts what it accepts (@handles)."""

    def __init__(self, *, parser, max_length: int, **kwargs):
        self.parser = parser
        super().__init__(max_length=max_length, required=False, widget=forms.TextInput(attrs={"size": 40}), **kwargs)

    def clean(self, value):
        value = super().clean(value)
        try:
            return self.parser(value)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


def api_profile_parsers() -> dict[str, tuple]:
    """(parser, max input length) of every profile field, taken from the API's own input serializer."""
    from accounts.apis import AuthProfileInput

    return {name: (field.parser, field.max_length) for name, field in AuthProfileInput().fields.items()
            if hasattr(field, "parser")}


class ProfileAdminForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = ["bio", "phone", "work_email", "work_email_verified", "date_of_birth", "website", "linkedin",
                  "twitter", "github", "timezone", "emergency_contact_name", "emergency_contact_phone",
                  "emergency_contact_email"]
        # Plain text boxes: the API's parsers read a handle or a bare host, which a URL input would refuse.
        field_classes = {name: forms.CharField for name in ("website", "linkedin", "twitter", "github")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, (parser, max_length) in api_profile_parsers().items():
            if name in self.fields:
                model_field = self.fields[name]
                self.fields[name] = ParsedField(parser=parser, max_length=max_length, label=model_field.label,
                                                help_text=model_field.help_text)

    def clean_work_email(self):
        return self.cleaned_data["work_email"] or None  # unique when set, NULL when not


class ProfileInline(admin.StackedInline):
    model = Profile
    form = ProfileAdminForm
    can_delete = False
    extra = 0
    max_num = 1
    readonly_fields = ["updated_at"]


class ExternalFilter(admin.SimpleListFilter):
    title = _("signed in externally")
    parameter_name = "external"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes (Supabase)")), ("no", _("No (password)"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(external_id__isnull=False)
        if self.value() == "no":
            return queryset.filter(external_id__isnull=True)
        return queryset


class UserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email",)


class UserChange(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChange
    add_form = UserCreationForm
    inlines = [ProfileInline]
    list_display = ["short_email", "short_display_name", "is_staff", "is_active", "joined"]  # external: a filter
    list_filter = ["is_staff", "is_superuser", "is_active", ExternalFilter]
    search_fields = ["email", "display_name", "profile__work_email"]
    ordering = ["-date_joined"]
    readonly_fields = ["date_joined", "last_login", "external_id", "related"]
    change_form_template = "admin/accounts/user/change_form.html"  # the profile right after the first fieldset
    fieldsets = [
        (None, {"fields": ["email", "password", "related"]}),
        # email_verified_at: set it only once the person proved the address (it allows linking a
        # Supabase identity with the same email to this account).
        (_("Personal info"), {"fields": ["display_name", "external_id", "email_verified_at"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "usable_password", "password1", "password2"]}),
    ]

    @admin.display(boolean=True, description=_("external"))
    def is_external(self, obj: User) -> bool:
        return obj.is_external

    @admin.display(description=_("display name"), ordering="display_name")
    def short_display_name(self, obj: User):
        return truncated(obj.display_name, 24)

    @admin.display(description=_("email"), ordering="email")
    def short_email(self, obj: User):
        return truncated(obj.email, 32)

    @admin.display(description=_("joined"), ordering="date_joined")
    def joined(self, obj: User):
        return short_time(obj.date_joined)

    @admin.display(description=_("see also"))
    def related(self, obj: User):
        """Links to this user's rows elsewhere in the admin, each list filtered to them."""
        if obj.pk is None:
            return "-"
        links = [
            (_("credits"), "creators_creditaccount", "user__id__exact"),
            (_("credit ledger"), "creators_creditledger", "user__id__exact"),
            (_("calendar connection"), "calendars_calendarconnection", "user__id__exact"),
            (_("sessions hosted"), "messaging_livesession", "host__id__exact"),
            (_("sessions joined"), "messaging_livesession", "members__id__exact"),
            (_("audit events"), "accounts_authevent", "user__id__exact"),
        ]
        return format_html_join(
            " · ", '<a href="{}?{}={}">{}</a>',
            ((reverse(f"admin:{name}_changelist"), lookup, obj.pk, label) for label, name, lookup in links),
        )

    def save_related(self, request, form, formsets, change):
        """Every user has a profile: the inline's, when staff filled it in, else the service makes
        one (creating it before the inline saved made the inline's insert a duplicate: a 500)."""
        super().save_related(request, form, formsets, change)
        services.profile_ensure(user=form.instance)


@admin.register(AuthEvent)
class AuthEventAdmin(admin.ModelAdmin):
    """The audit log: read-only for everyone, pruned only by `manage.py prune_auth_events`."""

    list_display = ["when", "kind", "short_email", "ip", "short_detail"]
    list_filter = ["kind", "created_at"]
    search_fields = ["email", "ip", "user__email"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    readonly_fields = [f.name for f in AuthEvent._meta.fields]

    change_list_template = "admin/accounts/authevent/change_list.html"

    def staff_numbers(self) -> list[StaffNumber]:
        """On the admin index (flashlearn/admin_numbers.py)."""
        hour_ago = timezone.now() - timedelta(hours=1)
        failed = AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGIN_FAILED, created_at__gte=hour_ago).count()
        return [StaffNumber("Sign-in failures in the last hour", failed,
                            changelist_url(AuthEvent, kind__exact="login_failed", created_at__gte=hour_ago))]

    @admin.display(description=_("email"), ordering="email")
    def short_email(self, obj: AuthEvent):
        return truncated(obj.email, 28)

    @admin.display(description=_("when"), ordering="created_at")
    def when(self, obj: AuthEvent):
        return short_time(obj.created_at)

    @admin.display(description=_("detail"))
    def short_detail(self, obj: AuthEvent):
        return truncated(str(obj.detail or ""), 40)

    def changelist_view(self, request, extra_context=None):
        counters = stats_read()
        hits, misses = counters["external_sync_hit"], counters["external_sync_miss"]
        extra_context = {
            **(extra_context or {}),
            "auth_stats": counters,
            "sync_ttl": settings.EXTERNAL_USER_SYNC_TTL,
            "sync_hit_ratio": f"{hits / (hits + misses):.1%}" if hits + misses else "n/a",
        }
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# simplejwt's OutstandingToken admin shows the raw refresh token (older rows held it, and it worked
# at /refresh): replaced by a read-only view of what revocation needs.
if admin.site.is_registered(OutstandingToken):
    admin.site.unregister(OutstandingToken)


@admin.register(OutstandingToken)
class OutstandingTokenAdmin(admin.ModelAdmin):
    list_display = ["jti", "user", "created_at", "expires_at", "revoked"]
    search_fields = ["user__email", "jti"]
    list_select_related = ["user"]
    ordering = ["-created_at"]
    fields = readonly_fields = ["jti", "user", "created_at", "expires_at"]
    actions = None

    @admin.display(boolean=True, description=_("revoked"))
    def revoked(self, obj: OutstandingToken) -> bool:
        return hasattr(obj, "blacklistedtoken")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("blacklistedtoken")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return request.method in ("GET", "HEAD") and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False
