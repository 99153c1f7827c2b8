"""Reads. Every fetch is permission-checked: a non-member never learns that a session exists."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from flashlearn.errors import Forbidden, NotFound
from messaging.models import LiveSession, Membership, Message

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.interface import User

ID_MAX = 2**63 - 1  # ids are BigAutoField; a larger one cannot exist (and SQLite cannot bind it)


def id_in_range(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= ID_MAX


def session_role(*, user: User | AnonymousUser | None, session_id: int) -> str | None:
    """"host", "participant", or None when `user` is not a member or the session does not exist."""
    if user is None or not user.is_authenticated or not id_in_range(session_id):
        return None
    return Membership.objects.filter(session_id=session_id, user=user).values_list("role", flat=True).first()


def membership_get(*, user: User, session_id: int) -> Membership:
    """The caller's membership, with its session; NotFound for outsiders and unknown ids alike."""
    if not id_in_range(session_id):
        raise NotFound("Live session not found.")
    try:
        return Membership.objects.select_related("session").get(session_id=session_id, user=user)
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise NotFound("Live session not found.") from None


def session_get_for_host(*, user: User, session_id: int) -> LiveSession:
    """The session if `user` hosts it; Forbidden for other members, NotFound for outsiders."""
    membership = membership_get(user=user, session_id=session_id)
    if membership.role != Membership.Role.HOST:
        raise Forbidden("Only the host can do this.")
    return membership.session


def session_get_joinable(*, session_id: int, invite_code: str | None = None) -> LiveSession:
    """A public session by its id alone; a private one only with its invite code.

    A wrong or missing code is the same NotFound as an unknown id, so ids reveal nothing.
    """
    if not id_in_range(session_id):
        raise NotFound("Live session not found.")
    try:
        session = LiveSession.objects.get(pk=session_id)
    except (LiveSession.DoesNotExist, ValueError, TypeError):
        raise NotFound("Live session not found.") from None
    if session.visibility != LiveSession.Visibility.PUBLIC and not invite_code_matches(session, invite_code):
        raise NotFound("Live session not found.")
    return session


def invite_code_matches(session: LiveSession, invite_code: object) -> bool:
    if not isinstance(invite_code, str) or not invite_code:
        return False
    return secrets.compare_digest(session.invite_code.encode(), invite_code.encode())


def _unread_subquery(user: User) -> Coalesce:
    unread = (
        Message.objects.filter(session=OuterRef("pk"), deleted_at__isnull=True, id__gt=OuterRef("my_last_read"))
        .exclude(author=user)
        .order_by()
        .values("session")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(unread, output_field=IntegerField()), Value(0))


def session_list_for_user(*, user: User, status: str | None = None) -> QuerySet[LiveSession]:
    """The caller's sessions, each annotated with `my_role` and `unread_count`."""
    mine = Membership.objects.filter(session=OuterRef("pk"), user=user)
    qs = (
        LiveSession.objects.filter(memberships__user=user)
        .select_related("host")
        .annotate(
            my_role=Subquery(mine.values("role")[:1]),
            my_last_read=Coalesce(
                Subquery(mine.values("last_read_message_id")[:1], output_field=IntegerField()), Value(0)
            ),
            member_count=Subquery(
                Membership.objects.filter(session=OuterRef("pk")).order_by().values("session")
                .annotate(n=Count("id")).values("n"),
                output_field=IntegerField(),
            ),
        )
        .annotate(unread_count=_unread_subquery(user))
    )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def session_detail_for_member(*, user: User, session_id: int) -> LiveSession:
    membership_get(user=user, session_id=session_id)
    return session_list_for_user(user=user).get(pk=session_id)


def unread_count(*, user: User, session_id: int) -> int:
    last_read = (
        Membership.objects.filter(session_id=session_id, user=user).values_list("last_read_message_id", flat=True)
        .first()
    )
    return (
        Message.objects.filter(session_id=session_id, deleted_at__isnull=True, id__gt=last_read or 0)
        .exclude(author=user)
        .count()
    )


@dataclass
class HistoryPage:
    messages: list[Message]
    has_older: bool
    has_newer: bool


def message_history(*, user: User, session_id: int, after: int | None = None, before: int | None = None,
                    after_seq: int | None = None, limit: int) -> HistoryPage:
    """One page of history, oldest→newest, cursored by message id (or by `seq` with `after_seq`).

    `after` alone: the `limit` messages right after it. `before` alone: the `limit` messages right
    before it. Neither: the newest `limit`. Soft-deleted messages stay as tombstones so cursors hold.
    Within a session ids and seqs grow together (a seq is taken just before its row is inserted),
    so `after_seq` is the same cursor counted in seqs: what a client that noticed a gap asks for.
    """
    membership_get(user=user, session_id=session_id)
    qs = Message.objects.filter(session_id=session_id).select_related("author")
    if after is not None:
        qs = qs.filter(id__gt=after)
    if after_seq is not None:
        qs = qs.filter(seq__gt=after_seq)
    if before is not None:
        qs = qs.filter(id__lt=before)
    if after is not None or after_seq is not None:
        rows = list(qs.order_by("id")[: limit + 1])
        has_newer = len(rows) > limit or before is not None and _exists(session_id, id__gte=before)
        rows = rows[:limit]
        has_older = (after is not None and _exists(session_id, id__lte=after)) or (
            after_seq is not None and _exists(session_id, seq__lte=after_seq))
    else:
        rows = list(qs.order_by("-id")[: limit + 1])
        has_older = len(rows) > limit
        rows = list(reversed(rows[:limit]))
        has_newer = before is not None and _exists(session_id, id__gte=before)
    return HistoryPage(messages=rows, has_older=has_older, has_newer=has_newer)


def _exists(session_id: int, **filters: Any) -> bool:
    return Message.objects.filter(session_id=session_id, **filters).exists()


def messages_after(*, session_id: int, after: int, limit: int) -> list[Message]:
    """Replay for a websocket that reconnects with `?after=`; the caller has checked membership."""
    return list(
        Message.objects.filter(session_id=session_id, id__gt=after).select_related("author").order_by("id")[:limit]
    )


def messages_after_seq(*, session_id: int, after_seq: int, limit: int) -> list[Message]:
    """Messages with `seq > after_seq`, in seq order: what a process or a socket missed. The
    caller has checked membership."""
    rows = Message.objects.filter(session_id=session_id, seq__gt=after_seq).select_related("author")
    return list(rows.order_by("seq")[:limit])


def session_last_seqs(*, session_ids: Iterable[int]) -> dict[int, int]:
    """{session id: seq of its newest message} for the given sessions (one indexed query)."""
    return dict(LiveSession.objects.filter(pk__in=list(session_ids)).values_list("pk", "last_seq"))


def message_get_for_member(*, user: User, message_id: int) -> Message:
    if not id_in_range(message_id):
        raise NotFound("Message not found.")
    try:
        message = Message.objects.select_related("author", "session").get(pk=message_id)
    except (Message.DoesNotExist, ValueError, TypeError):
        raise NotFound("Message not found.") from None
    if session_role(user=user, session_id=message.session_id) is None:
        raise NotFound("Message not found.")
    return message


def message_get_for_author(*, user: User, message_id: int) -> Message:
    """The message if `user` wrote it; Forbidden for other members, NotFound for outsiders."""
    message = message_get_for_member(user=user, message_id=message_id)
    if message.author_id != user.pk:
        raise Forbidden("Only the author can change this message.")
    if message.is_deleted:
        raise NotFound("Message not found.")
    return message
