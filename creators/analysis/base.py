"""The one small interface every analyzer implements, and the inputs it receives.

An analyzer is offline and deterministic: the same input gives the same output, so re-running
the pipeline is safe and a stronger model can replace one analyzer by bumping its `version`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class PostInput:
    caption: str = ""
    likes: int = 0
    comments: int = 0
    views: int = 0


@dataclass(frozen=True)
class CreatorInput:
    handle: str = ""
    bio: str = ""
    followers: int = 0
    following: int = 0
    engagement_rate: float = 0.0
    posts: tuple[PostInput, ...] = field(default_factory=tuple)

    @property
    def text(self) -> str:
        """Bio and captions: what the text analyzers read for a creator."""
        return "\n".join([self.bio, *(p.caption for p in self.posts)]).strip()


@runtime_checkable
class Analyzer(Protocol):
    """`analyze` returns a JSON-serialisable dict stored under `name` in the analysis."""

    name: str
    version: str

    def analyze(self, item: CreatorInput) -> dict[str, Any]: ...
