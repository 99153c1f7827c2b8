"""Reads of the transcription app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from transcription.access import can_listen, stream_validate
from transcription.errors import StreamForbidden
from transcription.models import SpeakerGrant, TranscriptSegment

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.interface import User


def segment_list(*, user: User | AnonymousUser, stream: str, after: int | None = None) -> QuerySet[TranscriptSegment]:
    stream_validate(stream)
    if not can_listen(user=user, stream=stream):
        raise StreamForbidden()
    segments = TranscriptSegment.objects.filter(stream=stream).select_related("speaker").order_by("id")
    if after is not None:
        segments = segments.filter(id__gt=after)
    return segments


def speaker_list(*, user: User | AnonymousUser, stream: str) -> QuerySet[SpeakerGrant]:
    stream_validate(stream)
    if not can_listen(user=user, stream=stream):
        raise StreamForbidden()
    return SpeakerGrant.objects.filter(stream=stream).order_by("id")


def live_session_captions(*, session_id: int, limit: int = 50) -> list[TranscriptSegment]:
    """The latest `limit` final segments of a live session's stream, oldest first (for staff views)."""
    latest = (
        TranscriptSegment.objects.filter(stream=f"live-session-{session_id}")
        .select_related("speaker")
        .order_by("-id")[:limit]
    )
    return list(reversed(latest))
