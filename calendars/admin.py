"""Staff view of calendar connections. Token columns are never displayed or editable."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils import timezone

from calendars import services
from calendars.models import CalendarConnection, CalendarSyncState, PushChannel
from flashlearn.admin_numbers import StaffNumber, changelist_url
from flashlearn.admin_pages import ReadOnlyPageMixin, short_time, truncated
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
class CalendarConnectionAdmin(ReadOnlyPageMixin, admin.ModelAdmin):
    # Fits 1400 px beside the sidebar and the filters: provider is a filter, the Google account is on
    # the page, long values are cut with the full value on hover.
    list_display = ("short_user", "status", "last_sync", "event_count", "failures", "next_retry", "short_error")
    list_filter = ("status", "provider")
    search_fields = ("user__email", "account_email")
    fields = ("user", "provider", "account_email", "status", "scopes", "token_expires_at", "token_refreshed_at",
              "last_synced_at", "last_error", "consecutive_failures", "next_retry_at", "reauth_notified_at",
              "sync_lock_until", "sync_queued_at", "last_sync_result", "last_sync_finished_at", "created_at",
              "updated_at")
    readonly_fields = fields
    inlines = [CalendarSyncStateInline]
    actions = ["sync_now", "force_full_resync"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").annotate(_event_count=Count("events"))

    def staff_numbers(self) -> list[StaffNumber]:
        """On the admin index (flashlearn/admin_numbers.py)."""
        connections = CalendarConnection.objects
        needs_reauth = CalendarConnection.Status.NEEDS_REAUTH
        hour_ago = timezone.now() - timedelta(hours=1)
        return [
            StaffNumber("Calendars needing reconnection", connections.filter(status=needs_reauth).count(),
                        changelist_url(CalendarConnection, status__exact=needs_reauth)),
            StaffNumber("Calendars failing to sync",
                        connections.filter(Q(consecutive_failures__gt=0) | Q(status="error")).count(),
                        changelist_url(CalendarConnection, consecutive_failures__gt=0)),
            StaffNumber("Calendar syncs in the last hour", connections.filter(last_synced_at__gte=hour_ago).count(),
                        changelist_url(CalendarConnection, last_synced_at__gte=hour_ago)),
        ]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="events", ordering="_event_count")
    def event_count(self, obj) -> int:
        return obj._event_count

    @admin.display(description="last error")
    def short_error(self, obj) -> str:
        return truncated(obj.last_error, 26)

    @admin.display(description="user", ordering="user__email")
    def short_user(self, obj) -> str:
        return truncated(obj.user.email, 26)

    @admin.display(description="last sync", ordering="last_synced_at")
    def last_sync(self, obj) -> str:
        return short_time(obj.last_synced_at)

    @admin.display(description="next retry", ordering="next_retry_at")
    def next_retry(self, obj) -> str:
        return short_time(obj.next_retry_at)

    @admin.display(description="failures", ordering="consecutive_failures")
    def failures(self, obj) -> int:
        return obj.consecutive_failures

    def _queue(self, request, queryset, *, full: bool) -> None:
        """Queue one background sync per connection and answer at once; no call to Google here."""
        queued = waiting = skipped = 0
        for connection in queryset:
            if connection.status in (CalendarConnection.Status.REVOKED, CalendarConnection.Status.NEEDS_REAUTH):
                skipped += 1
                continue
            try:
                if services.connection_sync_enqueue(connection_id=connection.pk, full=full):
                    queued += 1
                else:
                    waiting += 1
            except DomainError as exc:
                self.message_user(request, f"{connection.user}: {exc.message}", level=messages.ERROR)
                return
        kind = "full resync" if full else "sync"
        parts = [f"{queued} {kind}{'s' if queued != 1 else ''} queued"]
        if waiting:
            parts.append(f"{waiting} already queued")
        if skipped:
            parts.append(f"{skipped} skipped (revoked or needs reconnecting)")
        self.message_user(request, "; ".join(parts) + ".")

    @admin.action(description="Sync now")
    def sync_now(self, request, queryset) -> None:
        self._queue(request, queryset, full=False)

    @admin.action(description="Force full resync")
    def force_full_resync(self, request, queryset) -> None:
        self._queue(request, queryset, full=True)


@admin.register(PushChannel)
class PushChannelAdmin(ReadOnlyPageMixin, admin.ModelAdmin):
    list_display = ("channel_id", "calendar", "expires_at", "created_at")
    fields = ("channel_id", "calendar", "resource_id", "expires_at", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False
