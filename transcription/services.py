"""Writes of the transcription app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from flashlearn.errors import NotFound
from transcription.access import can_grant, stream_validate
from transcription.errors import StreamForbidden
from transcription.models import SpeakerGrant, TranscriptSegment

if TYPE_CHECKING:
    from accounts.interface import User


@transaction.atomic
def segment_create(*, stream: str, speaker_id: int | None, text: str, start: float, end: float,
                   seq: int = 0) -> TranscriptSegment:
    start = max(0.0, float(start))
    return TranscriptSegment.objects.create(stream=stream, speaker_id=speaker_id, text=text, start=start,
                                            end=max(start, float(end)), seq=seq)


def speaker_grant(*, actor: User, stream: str, user_id: int) -> SpeakerGrant:
    """The host lets a member speak on the session's stream (idempotent)."""
    stream_validate(stream)
    if not can_grant(user=actor, stream=stream):
        raise StreamForbidden("Only the live session's host lets members speak.")
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound("No such user.")
    try:
        with transaction.atomic():
            grant, _ = SpeakerGrant.objects.get_or_create(stream=stream, user=user, defaults={"granted_by": actor})
    except IntegrityError:  # two hosts' requests met: the other one created it
        grant = SpeakerGrant.objects.get(stream=stream, user=user)
    return grant


@transaction.atomic
def speaker_revoke(*, actor: User, stream: str, user_id: int) -> None:
    stream_validate(stream)
    if not can_grant(user=actor, stream=stream):
        raise StreamForbidden("Only the live session's host lets members speak.")
    if not 0 < user_id < 2**63:  # no such user (and SQLite cannot bind a larger integer)
        return
    SpeakerGrant.objects.filter(stream=stream, user_id=user_id).delete()
