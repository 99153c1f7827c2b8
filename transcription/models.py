"""Stored transcripts and who may speak on a live session's stream."""

from django.conf import settings
from django.db import models


class TranscriptSegment(models.Model):
    """One final sentence of a stream. Offsets are seconds of audio since the stream opened."""

    stream = models.CharField(max_length=64, db_index=True)
    speaker = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                related_name="transcript_segments")
    text = models.TextField()
    start = models.FloatField(help_text="seconds since the audio stream opened")
    end = models.FloatField(help_text="seconds since the audio stream opened")
    seq = models.PositiveIntegerField(default=0, help_text="the event sequence number listeners saw")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["stream", "id"], name="transcript_stream_id_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="transcript_end_after_start"),
            models.CheckConstraint(condition=models.Q(start__gte=0), name="transcript_start_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.stream} [{self.start:.1f}-{self.end:.1f}] {self.text[:40]}"


class SpeakerGrant(models.Model):
    """A live session's host allowed `user` to speak on the session's stream."""

    stream = models.CharField(max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="speaker_grants")
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["stream", "user"], name="speaker_grant_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} may speak on {self.stream}"
