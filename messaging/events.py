"""What members hear about: payload shapes and broadcasts to a session's Channels group.

The payloads are defined once, here, as TypedDicts (flashlearn/wire.py): REST returns them, the
websocket frames carry them, and the OpenAPI and AsyncAPI documents are checked against them.
Building one is a plain dict, so a broadcast costs no serializer.

Broadcasts leave only after the writing transaction commits (`transaction.on_commit`), so a
member never sees a message that a rollback later removes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from flashlearn.wire import Doc, IsoDateTime, OneOf
from messaging.models import LiveSession, Message

if TYPE_CHECKING:
    from accounts.interface import User

logger = logging.getLogger("messaging.events")


def channel_layer_alias() -> str:
    """The chat layer (pub/sub with Redis, see docs/messaging.md), or the default one where none is configured."""
    return "messaging" if "messaging" in settings.CHANNEL_LAYERS else "default"


def session_group(session_id: int) -> str:
    return f"live_session.{int(session_id)}"


def display_name(user: User) -> str:
    """What other members see. Without a chosen name it is "Member <id>", never derived from the
    email address (its local part is often a full name or a login elsewhere)."""
    return user.display_name or f"Member {user.pk}"


class UserPayload(TypedDict):
    """A member as other members see them."""

    id: int
    display_name: Annotated[str, Doc('The chosen display name, or "Member <id>"; never derived from the email.')]


class MessagePayload(TypedDict):
    """A chat message: REST bodies and the `message` of `message.*` frames."""

    id: int
    session: int
    seq: Annotated[int, Doc("1, 2, 3, ... per session without gaps: a jump means a missed message.")]
    author: UserPayload
    body: Annotated[str, Doc("Empty once the message is deleted.")]
    client_id: Annotated[str | None, Doc("In the author's own copies only; null for others.")]
    created_at: IsoDateTime
    edited_at: IsoDateTime | None
    deleted: bool
    deleted_at: IsoDateTime | None


class SessionPayload(TypedDict):
    """A live session as every member sees it: the `session` of `session.updated` frames, and the
    base of the REST copy (messaging.apis.SessionOut adds the caller's own fields)."""

    id: int
    title: str
    description: str
    status: Annotated[str, OneOf(LiveSession.Status.choices)]
    host: UserPayload
    scheduled_for: IsoDateTime | None
    started_at: IsoDateTime | None
    ended_at: IsoDateTime | None
    created_at: IsoDateTime
    visibility: Annotated[str, OneOf(LiveSession.Visibility.choices)]


def user_payload(user: User) -> UserPayload:
    return {"id": user.pk, "display_name": display_name(user)}


def message_payload(message: Message) -> MessagePayload:
    deleted = message.deleted_at is not None
    return {
        "id": message.pk,
        "session": message.session_id,
        "seq": message.seq,
        "author": user_payload(message.author),
        "body": "" if deleted else message.body,
        "client_id": message.client_id,  # the author's copy only: see for_viewer()
        "created_at": message.created_at.isoformat(),
        "edited_at": message.edited_at.isoformat() if message.edited_at else None,
        "deleted": deleted,
        "deleted_at": message.deleted_at.isoformat() if message.deleted_at is not None else None,
    }


def for_viewer(payload: MessagePayload, viewer_id: int | None) -> MessagePayload:
    """`client_id` is the author's idempotency key: only the author sees it (REST and websocket)."""
    if payload["client_id"] is not None and payload["author"]["id"] != viewer_id:
        return {**payload, "client_id": None}
    return payload


def session_payload(session: LiveSession) -> SessionPayload:
    return {
        "id": session.pk,
        "title": session.title,
        "description": session.description,
        "status": session.status,
        "host": user_payload(session.host),
        "scheduled_for": session.scheduled_for.isoformat() if session.scheduled_for else None,
        "started_at": session.started_at.isoformat() if session.started_at else None,
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
        "created_at": session.created_at.isoformat(),
        "visibility": session.visibility,
    }


def group_send_now(session_id: int, event: dict[str, Any]) -> None:
    """Send to the group from sync code; a layer failure is logged, never raised (rows are stored)."""
    layer = get_channel_layer(channel_layer_alias())
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(session_group(session_id), {**event, "session_id": session_id})
    except Exception:
        logger.warning("broadcast failed", exc_info=True, extra={"session_id": session_id, "event": event["type"]})


def broadcast_on_commit(session_id: int, event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: group_send_now(session_id, event))
