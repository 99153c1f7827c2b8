from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.admin_login import LockoutAdminAuthenticationForm
from accounts.models import AuthEvent, Profile, User
from accounts.stats import stats_read

# The admin signs in through the API's lockout and audit trail (accounts.admin_login).
admin.site.login_form = LockoutAdminAuthenticationForm


class ProfileInline(admin.StackedInline):
    model = Profile
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
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
    list_display = ["email", "display_name", "is_staff", "is_active", "is_external", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", ExternalFilter]
    search_fields = ["email", "display_name", "profile__work_email"]
    ordering = ["-date_joined"]
    readonly_fields = ["date_joined", "last_login", "external_id"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Personal info"), {"fields": ["display_name", "external_id"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "usable_password", "password1", "password2"]}),
    ]

    @admin.display(boolean=True, description=_("external"))
    def is_external(self, obj: User) -> bool:
        return obj.is_external

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        Profile.objects.get_or_create(user=obj)


@admin.register(AuthEvent)
class AuthEventAdmin(admin.ModelAdmin):
    """The audit log: read-only for everyone, pruned only by `manage.py prune_auth_events`."""

    list_display = ["created_at", "kind", "email", "user", "ip", "detail"]
    list_filter = ["kind", "created_at"]
    search_fields = ["email", "ip", "user__email"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    readonly_fields = [f.name for f in AuthEvent._meta.fields]

    change_list_template = "admin/accounts/authevent/change_list.html"

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
