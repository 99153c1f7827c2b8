"""Creator analysis fanned out over Celery workers: one task per chunk of creators.

`chunks_enqueue` picks the creators that need an analysis (stale ones, or every one with
force), records one AnalysisChunk per CREATOR_ANALYSIS_CHUNK of them and queues
`creators.analyze_chunk` for each; any number of workers on any number of machines share them.
`chunk_run` is what a worker does; `chunks_status` is what `analyze_creators --status` shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, F, Sum
from django.utils import timezone

from creators.analysis import pipeline
from creators.models import AnalysisChunk, Creator


@dataclass
class Queued:
    creators: int
    chunks: list[int]
    version: str


def chunks_enqueue(*, force: bool = False, ids: Sequence[int] | None = None, after_id: int = 0,
                   limit: int | None = None, chunk_size: int | None = None,
                   on_chunk: Callable[[int], None] | None = None) -> Queued:
    """Queue analysis of what needs it, in primary-key order. `on_chunk(n)` follows each queued chunk
    (in eager mode, after it ran). Raises kombu's OperationalError when the broker is unreachable."""
    from creators import tasks  # tasks import this module

    size = max(1, chunk_size or settings.CREATOR_ANALYSIS_CHUNK)
    version = pipeline.analyzer_version(pipeline.load_analyzers())
    base = Creator.objects.all() if force else pipeline.stale_creators(version)
    if ids is not None:
        base = base.filter(pk__in=list(ids))
    picked = list(base.filter(pk__gt=after_id).order_by("pk").values_list("pk", flat=True)[:limit])
    chunks = AnalysisChunk.objects.bulk_create(
        AnalysisChunk(creator_ids=picked[start:start + size], size=len(picked[start:start + size]), force=force)
        for start in range(0, len(picked), size)
    )
    for chunk in chunks:
        tasks.analyze_chunk.delay(chunk.pk)
        if on_chunk:
            on_chunk(chunk.size)
    return Queued(creators=len(picked), chunks=[c.pk for c in chunks], version=version)


def creator_ids_for_keys(*, keys: Sequence[tuple[str, str]]) -> list[int]:
    """Ids of the creators named by (platform, handle) pairs, e.g. the rows an import just upserted."""
    wanted = set(keys)
    rows = Creator.objects.filter(handle__in={handle for _, handle in wanted}).values_list("pk", "platform", "handle")
    return sorted(pk for pk, platform, handle in rows if (platform, handle) in wanted)


def chunk_run(*, chunk_id: int, batch_size: int = 200) -> dict:
    """Analyse one chunk. A chunk already done is skipped (redelivery); a failure is recorded and raised."""
    if not AnalysisChunk.objects.filter(pk=chunk_id).exclude(status=AnalysisChunk.Status.DONE).update(
            attempts=F("attempts") + 1):
        return {"status": "skipped"}
    chunk = AnalysisChunk.objects.get(pk=chunk_id)
    try:
        result = pipeline.run(force=chunk.force, ids=chunk.creator_ids, batch_size=batch_size)
    except Exception as exc:
        AnalysisChunk.objects.filter(pk=chunk_id).update(
            status=AnalysisChunk.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now())
        raise
    AnalysisChunk.objects.filter(pk=chunk_id).update(
        status=AnalysisChunk.Status.DONE, analysed=F("analysed") + result.creators, version=result.version,
        error="", finished_at=timezone.now())
    return {"status": "done", "creators": result.creators, "posts": result.posts}


def chunks_status() -> dict:
    """Chunks and creators by state, and how many creators lack a current analysis."""
    rows = AnalysisChunk.objects.values("status").annotate(chunks=Count("id"), creators=Sum("size"))
    out = {status: {"chunks": 0, "creators": 0} for status in AnalysisChunk.Status.values}
    for row in rows:
        out[row["status"]] = {"chunks": row["chunks"], "creators": row["creators"] or 0}
    version = pipeline.analyzer_version(pipeline.load_analyzers())
    out["stale_creators"] = pipeline.stale_creators(version).count()
    out["current_creators"] = Creator.objects.count() - out["stale_creators"]
    out["version"] = version
    return out
