from django.contrib import admin
from django.db.models import Count, Q

from flashlearn.admin_numbers import StaffNumber, changelist_url
from flashlearn.admin_pages import short_time, truncated
from messaging.models import LiveSession, Membership, Message


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user", "last_read_message"]
    fields = ["user", "role", "joined_at", "last_read_message"]
    readonly_fields = ["joined_at"]


@admin.register(LiveSession)
class LiveSessionAdmin(admin.ModelAdmin):
    list_display = ["id", "short_title", "short_host", "status", "visibility", "started", "message_count",
                    "member_count"]
    list_filter = ["status", "visibility"]
    search_fields = ["title", "host__email", "host__display_name"]
    raw_id_fields = ["host"]
    inlines = [MembershipInline]
    date_hierarchy = "created_at"
    list_select_related = ["host"]
    # Status, host and timestamps move through the services (start, end, join), never by hand here.
    managed_fields = ["host", "status", "scheduled_for", "started_at", "ended_at", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        # transcription extends this page with the session's captions (transcription/admin.py)
        return list(self.managed_fields) if obj is not None else []

    def staff_numbers(self) -> list[StaffNumber]:
        """On the admin index (flashlearn/admin_numbers.py)."""
        live = LiveSession.objects.filter(status=LiveSession.Status.LIVE).count()
        return [StaffNumber("Live sessions now", live, changelist_url(LiveSession, status__exact="live"))]

    @admin.display(description="title", ordering="title")
    def short_title(self, obj) -> str:
        return truncated(obj.title, 32)

    @admin.display(description="host", ordering="host__email")
    def short_host(self, obj) -> str:
        return truncated(obj.host.email, 24)

    @admin.display(description="started", ordering="started_at")
    def started(self, obj) -> str:
        return short_time(obj.started_at)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("host").annotate(
            _message_count=Count("messages", filter=Q(messages__deleted_at__isnull=True), distinct=True),
            _member_count=Count("memberships", distinct=True),
        )

    @admin.display(description="messages", ordering="_message_count")
    def message_count(self, obj) -> int:
        return obj._message_count

    @admin.display(description="members", ordering="_member_count")
    def member_count(self, obj) -> int:
        return obj._member_count


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [("yes", "Deleted"), ("no", "Not deleted")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Staff see every message, soft-deleted ones included (with their original text)."""

    list_display = ["id", "session_id", "short_author", "short_body", "created", "edited", "deleted"]
    list_filter = [DeletedFilter, "session__status"]
    search_fields = ["body", "author__email", "author__display_name"]
    raw_id_fields = ["session", "author"]
    list_select_related = ["session", "author"]
    readonly_fields = ["client_id", "created_at", "edited_at"]

    @admin.display(description="body")
    def short_body(self, obj) -> str:
        return truncated(obj.body, 48)

    @admin.display(description="author", ordering="author__email")
    def short_author(self, obj) -> str:
        return truncated(obj.author.email, 24)

    @admin.display(description="sent", ordering="created_at")
    def created(self, obj) -> str:
        return short_time(obj.created_at)

    @admin.display(description="edited", boolean=True, ordering="edited_at")
    def edited(self, obj) -> bool:
        return obj.edited_at is not None

    @admin.display(description="deleted", boolean=True, ordering="deleted_at")
    def deleted(self, obj) -> bool:
        return obj.deleted_at is not None
