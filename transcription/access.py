"""Who may speak on and listen to a stream.

Rules (docs/transcription.md):
- `live-session-{id}`: members listen (host and participants, as `messaging.interface.session_role`
  says); the host always speaks; a participant speaks once the host granted it (`SpeakerGrant`).
- `user-{id}`: that user alone speaks and listens (a personal dictation stream).
- any other name: refused.
"""

from __future__ import annotations

import logging
import re

from flashlearn.errors import NotFound
from transcription.errors import InvalidStream
from transcription.models import SpeakerGrant

logger = logging.getLogger("transcription.access")

STREAM_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
LIVE_SESSION_RE = re.compile(r"^live-session-(\d{1,18})$")
USER_RE = re.compile(r"^user-(\d{1,18})$")


def stream_validate(stream: str) -> str:
    if not isinstance(stream, str) or not STREAM_RE.fullmatch(stream):  # `$` would let "name\n" through
        raise InvalidStream()
    return stream


def live_session_id(stream: str) -> int | None:
    match = LIVE_SESSION_RE.fullmatch(stream)
    return int(match.group(1)) if match else None


def session_role(*, user, session_id: int) -> str | None:
    """The messaging app's answer: "host", "participant" or None. Imported late (messaging is optional here)."""
    try:
        from messaging.interface import session_role as messaging_session_role
    except ImportError:
        logger.warning("messaging.interface.session_role is missing: live-session streams are refused")
        return None
    return messaging_session_role(user=user, session_id=session_id)


def stream_role(*, user, stream: str) -> str | None:
    """"owner" (user-{id}), "host", "participant" or None."""
    if user is None or not user.is_authenticated:
        return None
    stream_validate(stream)
    match = USER_RE.fullmatch(stream)
    if match:
        return "owner" if int(match.group(1)) == user.pk else None
    session_id = live_session_id(stream)
    if session_id is not None:
        return session_role(user=user, session_id=session_id)
    return None


def can_listen(*, user, stream: str) -> bool:
    return stream_role(user=user, stream=stream) is not None


def can_speak(*, user, stream: str) -> bool:
    role = stream_role(user=user, stream=stream)
    if role in ("owner", "host"):
        return True
    if role == "participant":
        return SpeakerGrant.objects.filter(stream=stream, user=user).exists()
    return False


def can_grant(*, user, stream: str) -> bool:
    """Only a live session's host hands out the right to speak."""
    return live_session_id(stream) is not None and stream_role(user=user, stream=stream) == "host"


def stream_is_live(*, user, stream: str) -> bool:
    """A `live-session-{id}` stream whose session is live now, asked by one of its members: such a stream
    may take the slot of the user stream idle longest (transcription/slots.py)."""
    session_id = live_session_id(stream)
    if session_id is None or user is None or not user.is_authenticated:
        return False
    from messaging.interface import membership_get

    try:
        membership = membership_get(user=user, session_id=session_id)
    except NotFound:
        return False
    return membership.session.status == "live"
