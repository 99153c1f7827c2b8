from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from transcription.access import live_session_id
from transcription.models import SpeakerGrant, TranscriptSegment


@admin.register(TranscriptSegment)
class TranscriptSegmentAdmin(admin.ModelAdmin):
    list_display = ("id", "stream", "session", "speaker", "start", "end", "text", "created_at")
    list_filter = ("stream",)
    search_fields = ("stream", "text")
    raw_id_fields = ("speaker",)
    readonly_fields = ("created_at",)
    list_select_related = ("speaker",)

    @admin.display(description="live session")
    def session(self, segment: TranscriptSegment):
        """A live session's captions link to the session (filter this list by stream to see them all)."""
        session_id = live_session_id(segment.stream)
        if session_id is None:
            return "-"
        try:
            url = reverse("admin:messaging_livesession_change", args=[session_id])
        except NoReverseMatch:
            return f"#{session_id}"
        return format_html('<a href="{}">#{}</a>', url, session_id)


@admin.register(SpeakerGrant)
class SpeakerGrantAdmin(admin.ModelAdmin):
    list_display = ("stream", "user", "granted_by", "created_at")
    search_fields = ("stream",)
    raw_id_fields = ("user", "granted_by")
    list_select_related = ("user", "granted_by")
