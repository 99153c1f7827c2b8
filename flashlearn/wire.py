"""Wire shapes: payloads that REST, websocket frames and the docs share are TypedDicts, defined once.

An app declares a payload as a `TypedDict` beside the function that builds it (for example
`messaging.events.MessagePayload` and `message_payload`). The builder returns plain dicts, so a
broadcast costs no serializer; REST views return the same dicts; the OpenAPI components come from
the TypedDict (`flashlearn.openapi.serializer_for`), and docs/asyncapi.yaml's copies are checked
against those components by flashlearn/tests/test_asyncapi.py. A field changes in one place.

The markers below say what a plain `str` or `int` cannot:

    created_at: IsoDateTime                                  # "date-time" in the schemas
    status: Annotated[str, OneOf(LiveSession.Status.values)]  # an enum
    seq: Annotated[int, Doc("1, 2, 3, ... per session")]     # a description
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated


@dataclass(frozen=True)
class Format:
    """A string's format in the API documents ("date-time", "email", ...)."""

    name: str


IsoDateTime = Annotated[str, Format("date-time")]  # datetime.isoformat(): "2026-11-29T15:13:14.123456+00:00"


@dataclass(frozen=True)
class Doc:
    """A field's description in the API documents."""

    text: str


@dataclass(frozen=True)
class OneOf:
    """The values a field may take (an enum in the API documents): values, or Django's `choices` pairs."""

    values: tuple[object, ...]

    def __init__(self, values: Iterable[object]) -> None:
        object.__setattr__(self, "values", tuple(values))

