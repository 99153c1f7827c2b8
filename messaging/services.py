"""Writes for live sessions and chat. Each function is atomic and announces its change on commit."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from flashlearn.errors import Conflict, InvalidInput, NotFound
from messaging import events
from messaging.models import CLIENT_ID_MAX, MESSAGE_BODY_MAX, LiveSession, Membership, Message, new_invite_code
from messaging.selectors import (
    id_in_range,
    membership_get,
    message_get_for_author,
    session_get_for_host,
    session_get_joinable,
)


class SessionEnded(Conflict):
    code = "session_ended"
    message = "This live session has ended."


class InvalidTransition(Conflict):
    code = "invalid_transition"


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL, and UTF-16 halves that no UTF-8 text can hold


def _storable(field: str, value: str) -> str:
    """Text PostgreSQL can store and every client can decode; otherwise `invalid_message` (a 400 or an
    error frame, never a 500)."""
    if _UNSTORABLE.search(value):
        raise InvalidInput(code="invalid_message", message="The message contains characters that cannot be stored.",
                           fields={field: ["May not contain NUL characters or unpaired surrogates."]})
    return value


def clean_body(body) -> str:
    if not isinstance(body, str):
        raise InvalidInput.on("body", "Must be a string.")
    body = _storable("body", body)
    body = body.strip()
    if not body:
        raise InvalidInput.on("body", "May not be blank.")
    if len(body) > MESSAGE_BODY_MAX:
        raise InvalidInput(code="body_too_long", fields={"body": [f"At most {MESSAGE_BODY_MAX} characters."]})
    return body


def clean_client_id(client_id) -> str | None:
    if client_id is None or client_id == "":
        return None
    if not isinstance(client_id, str) or len(client_id) > CLIENT_ID_MAX:
        raise InvalidInput.on("client_id", f"Must be a string of at most {CLIENT_ID_MAX} characters.")
    return _storable("client_id", client_id)


# --- Sessions ---------------------------------------------------------------------------


@transaction.atomic
def live_session_create(*, host, title: str, description: str = "", scheduled_for=None,
                        visibility: str = LiveSession.Visibility.PRIVATE) -> LiveSession:
    session = LiveSession.objects.create(
        host=host, title=title, description=description, scheduled_for=scheduled_for, visibility=visibility
    )
    Membership.objects.create(session=session, user=host, role=Membership.Role.HOST)
    return session


def _announce_session(session: LiveSession) -> None:
    events.broadcast_on_commit(session.pk, {"type": "session.updated", "session": events.session_payload(session)})


@transaction.atomic
def live_session_update(*, user, session_id: int, fields: dict) -> LiveSession:
    session = session_get_for_host(user=user, session_id=session_id)
    allowed = {"title", "description", "scheduled_for", "visibility"}
    for name, value in fields.items():
        if name in allowed:
            setattr(session, name, value)
    session.save()
    _announce_session(session)
    return session


@transaction.atomic
def live_session_delete(*, user, session_id: int) -> None:
    session = session_get_for_host(user=user, session_id=session_id)
    session.delete()
    events.broadcast_on_commit(session_id, {"type": "session.deleted", "session_id": session_id})


@transaction.atomic
def live_session_invite_rotate(*, user, session_id: int) -> LiveSession:
    """A new invite code; the old one stops working at once. Members stay members."""
    session = _locked_for_host(user=user, session_id=session_id)
    session.invite_code = new_invite_code()
    session.save(update_fields=["invite_code", "updated_at"])
    return session


def _locked_for_host(*, user, session_id: int) -> LiveSession:
    session_get_for_host(user=user, session_id=session_id)
    return LiveSession.objects.select_for_update().select_related("host").get(pk=session_id)


@transaction.atomic
def live_session_start(*, user, session_id: int) -> LiveSession:
    session = _locked_for_host(user=user, session_id=session_id)
    if session.status != LiveSession.Status.SCHEDULED:
        raise InvalidTransition(f"A {session.status} session cannot be started.")
    session.status = LiveSession.Status.LIVE
    session.started_at = timezone.now()
    session.save(update_fields=["status", "started_at", "updated_at"])
    _announce_session(session)
    return session


@transaction.atomic
def live_session_end(*, user, session_id: int) -> LiveSession:
    session = _locked_for_host(user=user, session_id=session_id)
    if session.status == LiveSession.Status.ENDED:
        raise InvalidTransition("This session has already ended.")
    session.status = LiveSession.Status.ENDED
    session.ended_at = timezone.now()
    session.save(update_fields=["status", "ended_at", "updated_at"])
    _announce_session(session)
    return session


def live_session_join(*, user, session_id: int, invite_code: str | None = None) -> tuple[Membership, bool]:
    """Join a public session by id, a private one with its invite code; NotFound otherwise.

    Idempotent: joining twice returns the existing membership (also when two joins race), and a
    member needs no code to "join" again.
    """
    existing = Membership.objects.filter(session_id=session_id, user=user).first() if id_in_range(session_id) else None
    if existing:
        return existing, False
    session = session_get_joinable(session_id=session_id, invite_code=invite_code)
    if session.status == LiveSession.Status.ENDED:
        raise SessionEnded()
    try:
        with transaction.atomic():
            membership = Membership.objects.create(session=session, user=user, role=Membership.Role.PARTICIPANT)
    except IntegrityError:
        return Membership.objects.get(session=session, user=user), False
    return membership, True


@transaction.atomic
def live_session_leave(*, user, session_id: int) -> None:
    membership = membership_get(user=user, session_id=session_id)
    if membership.role == Membership.Role.HOST:
        raise Conflict("The host cannot leave; end or delete the session instead.", code="host_cannot_leave")
    membership.delete()
    # The leaver's open sockets close themselves (4403) when they hear this.
    events.broadcast_on_commit(session_id, {"type": "member.left", "user_id": user.pk})


# --- Messages ---------------------------------------------------------------------------


def message_send(*, user, session_id: int, body, client_id=None) -> tuple[Message, bool]:
    """Store a message and broadcast it after commit. Returns (message, created).

    The same `client_id` from the same author in the same session returns the first message,
    also when two requests race: the unique constraint decides, the loser reads the winner's row.
    """
    body = clean_body(body)
    client_id = clean_client_id(client_id)
    session = membership_get(user=user, session_id=session_id).session
    if client_id is not None:
        existing = _message_by_client_id(user=user, session_id=session.pk, client_id=client_id)
        if existing is not None:
            return existing, False
    if session.status == LiveSession.Status.ENDED:
        raise SessionEnded()
    try:
        with transaction.atomic():
            message = Message.objects.create(session=session, author=user, body=body, client_id=client_id)
            events.broadcast_on_commit(session.pk, {"type": "message.new", "message": events.message_payload(message)})
    except IntegrityError:
        if client_id is None:
            raise
        existing = _message_by_client_id(user=user, session_id=session.pk, client_id=client_id)
        if existing is None:
            raise
        return existing, False
    return message, True


def _message_by_client_id(*, user, session_id: int, client_id: str) -> Message | None:
    return (
        Message.objects.select_related("author").filter(author=user, session_id=session_id, client_id=client_id).first()
    )


@transaction.atomic
def message_edit(*, user, message_id: int, body) -> Message:
    body = clean_body(body)
    message = message_get_for_author(user=user, message_id=message_id)
    message = Message.objects.select_for_update().select_related("author").get(pk=message.pk)
    if message.is_deleted:
        raise NotFound("Message not found.")
    message.body = body
    message.edited_at = timezone.now()
    message.save(update_fields=["body", "edited_at"])
    events.broadcast_on_commit(
        message.session_id, {"type": "message.updated", "message": events.message_payload(message)}
    )
    return message


@transaction.atomic
def message_delete(*, user, message_id: int) -> Message:
    """Soft delete: the row stays (staff see it in the admin), members see a tombstone."""
    message = message_get_for_author(user=user, message_id=message_id)
    updated = Message.objects.filter(pk=message.pk, deleted_at__isnull=True).update(deleted_at=timezone.now())
    message.refresh_from_db()
    if updated:
        events.broadcast_on_commit(
            message.session_id, {"type": "message.deleted", "message": events.message_payload(message)}
        )
    return message


def membership_mark_read(*, user, session_id: int, message_id) -> tuple[Membership, bool]:
    """Move the read marker forward to `message_id`; (membership, moved).

    Never backwards: a late, older receipt is a no-op. A move is broadcast as a `read` event.
    """
    if isinstance(message_id, bool) or not isinstance(message_id, int) or message_id < 1:
        raise InvalidInput.on("message_id", "Must be a positive integer.")
    membership = membership_get(user=user, session_id=session_id)
    if not Message.objects.filter(pk=message_id, session_id=session_id).exists():
        raise InvalidInput.on("message_id", "No such message in this session.")
    with transaction.atomic():
        moved = Membership.objects.filter(pk=membership.pk).filter(
            Q(last_read_message__isnull=True) | Q(last_read_message_id__lt=message_id)
        ).update(last_read_message_id=message_id)
        if moved:
            events.broadcast_on_commit(
                session_id, {"type": "read", "user_id": user.pk, "message_id": message_id}
            )
    membership.refresh_from_db()
    return membership, bool(moved)
