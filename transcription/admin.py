from django.contrib import admin

from transcription.models import SpeakerGrant, TranscriptSegment


@admin.register(TranscriptSegment)
class TranscriptSegmentAdmin(admin.ModelAdmin):
    list_display = ("id", "stream", "speaker", "start", "end", "text", "created_at")
    list_filter = ("stream",)
    search_fields = ("stream", "text")
    raw_id_fields = ("speaker",)
    readonly_fields = ("created_at",)


@admin.register(SpeakerGrant)
class SpeakerGrantAdmin(admin.ModelAdmin):
    list_display = ("stream", "user", "granted_by", "created_at")
    search_fields = ("stream",)
    raw_id_fields = ("user", "granted_by")
