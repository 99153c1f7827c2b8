"""Writes for live sessions and chat. Each function is atomic and announces its change on commit."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from flashlearn.errors import Conflict, DomainError, InvalidInput, NotFound
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
    # Locked like its siblings, and only the edited columns written: a PATCH racing an invite
    # rotation (or a start/end) must not write back the values it read before them.
    session = _locked_for_host(user=user, session_id=session_id)
    changed = [name for name in fields if name in {"title", "description", "scheduled_for", "visibility"}]
    for name in changed:
        setattr(session, name, fields[name])
    session.save(update_fields=[*changed, "updated_at"])
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


@dataclass(frozen=True)
class SendRequest:
    """One `message.send` waiting in a group commit (see message_send_many)."""

    user: object
    session_id: int
    body: object
    client_id: object = None


def message_send_many(*, requests: list[SendRequest],
                      announce: Callable[[list[dict]], None] | None = None) -> list[tuple[Message, bool] | Exception]:
    """Store several sends in one transaction; per request, what message_send would have returned
    ((message, created)) or the domain error it would have raised, in the order given.

    The websocket consumers' group commit (messaging/group_commit.py): N concurrent sends cost one
    transaction, one row lock per session and one INSERT instead of N of each. Each session's
    `last_seq` moves once, by the number of new rows, under its row lock (sessions in id order), so
    seqs stay gapless and commit in order, also against other processes and Message.save().
    A request never shares a domain error with another; a database error fails the whole batch
    (nothing of it is stored). A client_id raced in by someone else since we looked (an
    IntegrityError) sends the batch through message_send one request at a time, which resolves it.
    The broadcasts go out after commit, in seq order: `announce(events)` once (default: each event
    to its session's group).
    """
    results: list = [None] * len(requests)
    cleaned: dict[int, SendRequest] = {}
    for index, request in enumerate(requests):
        try:
            cleaned[index] = SendRequest(request.user, request.session_id, clean_body(request.body),
                                         clean_client_id(request.client_id))
        except DomainError as exc:
            results[index] = exc
    by_session: dict[int, list[int]] = {}
    for index, request in cleaned.items():
        by_session.setdefault(request.session_id, []).append(index)
    try:
        with transaction.atomic():
            stored = []
            for session_id in sorted(by_session):
                stored += _store_batch(session_id, [(i, cleaned[i]) for i in by_session[session_id]], results)
            if stored:
                payloads = [{"type": "message.new", "message": events.message_payload(m)} for m in stored]
                transaction.on_commit(lambda: (announce or _broadcast_each)(payloads))
    except IntegrityError:
        return [_one(cleaned[i]) if i in cleaned else results[i] for i in range(len(requests))]
    return results


def _broadcast_each(payloads: list[dict]) -> None:
    for event in payloads:
        events.group_send_now(event["message"]["session"], event)


def _one(request: SendRequest):
    try:
        return message_send(user=request.user, session_id=request.session_id, body=request.body,
                            client_id=request.client_id)
    except DomainError as exc:
        return exc


def _store_batch(session_id: int, batch: list[tuple[int, SendRequest]], results: list) -> list[Message]:
    """Store one session's part of a batch (inside the caller's transaction); fills `results`."""
    if not id_in_range(session_id):
        for index, _ in batch:
            results[index] = NotFound("Live session not found.")
        return []
    members = set(Membership.objects.filter(session_id=session_id, user_id__in={r.user.pk for _, r in batch})
                  .values_list("user_id", flat=True))
    keys = {r.client_id for _, r in batch if r.client_id is not None}
    known = {(m.author_id, m.client_id): m for m in Message.objects.select_related("author").filter(
        session_id=session_id, client_id__in=keys)} if keys else {}
    now = timezone.now()
    rows: list[Message] = []
    owners: list[int] = []
    repeats: list[tuple[int, Message]] = []  # the same client_id twice in this batch: the first one's row
    for index, request in batch:
        key = (request.user.pk, request.client_id)
        if request.user.pk not in members:
            results[index] = NotFound("Live session not found.")
        elif key in known:
            if known[key].pk is None:
                repeats.append((index, known[key]))
            else:
                results[index] = (known[key], False)
        else:
            message = Message(session_id=session_id, author=request.user, body=request.body,
                              client_id=request.client_id, created_at=now)
            rows.append(message)
            owners.append(index)
            if request.client_id is not None:
                known[key] = message
    if not rows:
        return []
    # One statement moves the counter and takes the row lock until commit. An ended (or deleted)
    # session matches nothing: its senders get what message_send would have said.
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {LiveSession._meta.db_table} SET last_seq = last_seq + %s "
                       f"WHERE id = %s AND status <> %s RETURNING last_seq",
                       [len(rows), session_id, LiveSession.Status.ENDED])
        row = cursor.fetchone()
    if row is None:
        error = SessionEnded() if LiveSession.objects.filter(pk=session_id).exists() else NotFound(
            "Live session not found.")
        for index in owners + [i for i, _ in repeats]:
            results[index] = error
        return []
    first_seq = row[0] - len(rows) + 1
    for offset, message in enumerate(rows):
        message.seq = first_seq + offset
    Message.objects.bulk_create(rows)
    for index, message in zip(owners, rows, strict=True):
        results[index] = (message, True)
    for index, message in repeats:
        results[index] = (message, False)
    return rows


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
