"""Runs the analyzers over creators and posts that lack a current analysis.

Batched by primary key (keyset, not OFFSET), each batch written in its own transaction, so an
interrupted run loses at most one batch and the next run resumes where it stopped. The stored
`ai_analyzer_version` names every analyzer and its version: bumping one analyzer's version makes
every row stale again, and nothing else does, so a second run with nothing new is a no-op.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from creators.analysis.base import Analyzer, CreatorInput, PostInput
from creators.models import Creator, CreatorPost

# Analyzers that make sense for one caption on its own; the quality score needs the audience.
POST_ANALYZERS = frozenset({"language", "sentiment", "topics", "brand_safety"})
# Posts per creator the creator-level analysis reads: the most recent ones (each post is still
# analysed on its own).
MAX_POSTS = 50


def load_analyzers(paths: Sequence[str] | None = None) -> list[Analyzer]:
    analyzers = []
    for path in paths if paths is not None else settings.CREATOR_ANALYZERS:
        analyzer = import_string(path)()
        if not isinstance(analyzer, Analyzer):
            raise TypeError(f"{path} does not implement creators.analysis.base.Analyzer")
        analyzers.append(analyzer)
    return analyzers


def analyzer_version(analyzers: Iterable[Analyzer]) -> str:
    return ",".join(f"{a.name}:{a.version}" for a in analyzers)


def summarize(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The few headline values, from whichever analyzers ran."""
    summary: dict[str, Any] = {}
    if "language" in results:
        summary["language"] = results["language"].get("code", "")
    if "sentiment" in results:
        summary["sentiment"] = results["sentiment"].get("label")
    if "topics" in results:
        summary["category"] = results["topics"].get("category", "")
    if "brand_safety" in results:
        summary["brand_safe"] = results["brand_safety"].get("safe")
    if "quality" in results:
        summary["quality_score"] = results["quality"].get("score")
        summary["confidence"] = results["quality"].get("confidence")
    return summary


def analyze_input(item: CreatorInput, analyzers: Iterable[Analyzer]) -> dict[str, Any]:
    results = {a.name: a.analyze(item) for a in analyzers}
    return {"summary": summarize(results), **results}


def creator_input(creator: Creator, posts: Sequence[CreatorPost]) -> CreatorInput:
    return CreatorInput(
        handle=creator.handle,
        bio=creator.bio,
        followers=creator.followers,
        following=creator.following,
        engagement_rate=creator.engagement_rate,
        posts=tuple(PostInput(caption=p.caption, likes=p.likes, comments=p.comments, views=p.views) for p in posts),
    )


def stale_creators(version: str) -> QuerySet[Creator]:
    stale_posts = CreatorPost.objects.filter(creator=OuterRef("pk")).filter(
        Q(ai_analyzed_at__isnull=True) | ~Q(ai_analyzer_version=version)
    )
    return Creator.objects.filter(
        Q(ai_analyzed_at__isnull=True) | ~Q(ai_analyzer_version=version) | Exists(stale_posts)
    )


@dataclass
class RunResult:
    creators: int = 0
    posts: int = 0
    batches: int = 0
    last_id: int = 0
    version: str = ""


def analyze_creators(
    creators: Sequence[Creator], *, analyzers: Sequence[Analyzer], version: str
) -> tuple[list[Creator], list[CreatorPost]]:
    """Fill the analysis fields in memory (posts must be prefetched as `recent_posts`)."""
    now = timezone.now()
    post_analyzers = [a for a in analyzers if a.name in POST_ANALYZERS]
    touched_posts: list[CreatorPost] = []
    for creator in creators:
        posts = list(getattr(creator, "recent_posts", []))
        analysis = analyze_input(creator_input(creator, posts[:MAX_POSTS]), analyzers)
        creator.ai_analysis = analysis
        creator.ai_analyzer_version = version
        creator.ai_analyzed_at = now
        summary = analysis["summary"]
        # Operator-supplied values win; the analysis fills only what is missing.
        if not creator.language and summary.get("language"):
            creator.language = summary["language"][:8]
        if not creator.category and summary.get("category"):
            creator.category = summary["category"]
        for post in posts:
            post.ai_analysis = analyze_input(CreatorInput(bio=post.caption), post_analyzers)
            post.ai_analyzer_version = version
            post.ai_analyzed_at = now
            touched_posts.append(post)
    return list(creators), touched_posts


def run(
    *,
    force: bool = False,
    batch_size: int = 200,
    after_id: int = 0,
    limit: int | None = None,
    ids: Sequence[int] | None = None,
    analyzers: Sequence[Analyzer] | None = None,
    on_batch: Callable[[RunResult, int], None] | None = None,
) -> RunResult:
    """Analyse stale creators (every creator with `force`) in primary-key order.

    `on_batch(result, batch_len)` is called after each committed batch (progress bars).
    """
    analyzers = list(analyzers) if analyzers is not None else load_analyzers()
    version = analyzer_version(analyzers)
    result = RunResult(last_id=after_id, version=version)
    base = Creator.objects.all() if force else stale_creators(version)
    if ids is not None:
        base = base.filter(pk__in=list(ids))
    recent = Prefetch(
        "posts",
        queryset=CreatorPost.objects.order_by("-posted_at", "-id"),
        to_attr="recent_posts",
    )
    while limit is None or result.creators < limit:
        size = batch_size if limit is None else min(batch_size, limit - result.creators)
        batch = list(base.filter(pk__gt=result.last_id).order_by("pk").prefetch_related(recent)[:size])
        if not batch:
            break
        creators, posts = analyze_creators(batch, analyzers=analyzers, version=version)
        with transaction.atomic():
            Creator.objects.bulk_update(
                creators, ["ai_analysis", "ai_analyzer_version", "ai_analyzed_at", "language", "category"]
            )
            CreatorPost.objects.bulk_update(posts, ["ai_analysis", "ai_analyzer_version", "ai_analyzed_at"])
        result.creators += len(creators)
        result.posts += len(posts)
        result.batches += 1
        result.last_id = batch[-1].pk
        if on_batch:
            on_batch(result, len(batch))
    return result
