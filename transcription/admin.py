from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from messaging.interface import LiveSession, LiveSessionAdmin
from transcription.access import live_session_id
from transcription.models import SpeakerGrant, TranscriptSegment
from transcription.selectors import live_session_captions


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


# A live session's page in the admin also shows its captions. Messaging knows nothing of transcription
# (.importlinter), so this app extends messaging's admin: Django's own way to extend another app's
# ModelAdmin (as one does with UserAdmin). messaging comes before transcription in INSTALLED_APPS, so
# its admin is registered by the time this runs.
class LiveSessionWithCaptionsAdmin(LiveSessionAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "captions"]

    @admin.display(description="captions (latest 50 transcribed sentences)")
    def captions(self, obj):
        segments = live_session_captions(session_id=obj.pk, limit=50) if obj.pk else []
        if not segments:
            return "-"
        return format_html_join(
            mark_safe("<br>"), "[{}-{} s] {}: {}",
            ((f"{s.start:.1f}", f"{s.end:.1f}", s.speaker or "unknown", s.text) for s in segments),
        )


admin.site.unregister(LiveSession)
admin.site.register(LiveSession, LiveSessionWithCaptionsAdmin)
