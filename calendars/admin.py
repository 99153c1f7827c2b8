"""Staff view of calendar connections. Token columns are never displayed or editable."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count

from calendars import services
from calendars.models import CalendarConnection, CalendarSyncState, PushChannel
from flashlearn.errors import DomainError


class CalendarSyncStateInline(admin.TabularInline):
    model = CalendarSyncState
    fields = ("calendar_id", "incremental", "generation", "full_synced_at", "last_synced_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(boolean=True, description="has sync token")
    def incremental(self, obj) -> bool:
        return bool(obj.sync_token)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CalendarConnection)
class CalendarConnectionAdmin(admin.ModelAdmin):
    list_display = ("user", "provider", "account_email", "status", "last_synced_at", "event_count",
                    "consecutive_failures", "next_retry_at", "short_error")
    list_filter = ("status", "provider")
    search_fields = ("user__email", "account_email")
    fields = ("user", "provider", "account_email", "status", "scopes", "token_expires_at", "token_refreshed_at",
              "last_synced_at", "last_error", "consecutive_failures", "next_retry_at", "reauth_notified_at",
              "sync_lock_until", "created_at", "updated_at")
    readonly_fields = fields
    inlines = [CalendarSyncStateInline]
    actions = ["sync_now", "force_full_resync"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").annotate(_event_count=Count("events"))

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="events", ordering="_event_count")
    def event_count(self, obj) -> int:
        return obj._event_count

    @admin.display(description="last error")
    def short_error(self, obj) -> str:
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

    def _run(self, request, queryset, *, full: bool) -> None:
        for connection in queryset:
            try:
                result = services.connection_sync(connection_id=connection.pk, full=full)
            except DomainError as exc:
                self.message_user(request, f"{connection.user}: {exc.message}", level=messages.WARNING)
            else:
                self.message_user(request, f"{connection.user}: created {result.created}, updated {result.updated}, "
                                           f"deleted {result.deleted}{' (full resync)' if result.full_resync else ''}")

    @admin.action(description="Sync now")
    def sync_now(self, request, queryset) -> None:
        self._run(request, queryset, full=False)

    @admin.action(description="Force full resync")
    def force_full_resync(self, request, queryset) -> None:
        self._run(request, queryset, full=True)


@admin.register(PushChannel)
class PushChannelAdmin(admin.ModelAdmin):
    list_display = ("channel_id", "calendar", "expires_at", "created_at")
    fields = ("channel_id", "calendar", "resource_id", "expires_at", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False
