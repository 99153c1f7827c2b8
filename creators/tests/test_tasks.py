"""Creator analysis fanned out as Celery tasks: queued chunks, idempotent redelivery, progress."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from creators.models import AnalysisChunk, Creator
from creators.tasks import analyze_chunk
from creators.tests.factories import CreatorFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue()


def status() -> str:
    out = StringIO()
    call_command("analyze_creators", "--status", stdout=out)
    return out.getvalue()


def chunk_ids(messages: list[dict]) -> list[int]:
    assert {m["task"] for m in messages} <= {"creators.analyze_chunk"}
    return [m["args"][0] for m in messages]


class Exploding:
    name = "exploding"
    version = "1"

    def analyze(self, item):
        raise RuntimeError("model crashed")


def test_analyze_creators_queues_one_task_per_chunk_and_workers_finish_them(broker_without_worker):
    CreatorFactory.create_batch(5)

    out = run("analyze_creators", "--chunk", "2")

    assert "5 creators queued in 3 chunk(s)" in out
    queued = chunk_ids(broker_without_worker())
    assert [c.size for c in AnalysisChunk.objects.filter(pk__in=queued).order_by("pk")] == [2, 2, 1]
    assert "3 pending (5 creators), 0 done (0 creators), 0 failed (0 creators)" in status()
    assert "creators: 0 current, 5 need analysis" in status()

    for chunk_id in queued:  # as workers would, in any order
        analyze_chunk.apply((chunk_id,))

    assert "0 pending (0 creators), 3 done (5 creators)" in status()
    assert "creators: 5 current, 0 need analysis" in status()
    assert not Creator.objects.filter(ai_analyzed_at__isnull=True).exists()


def test_a_redelivered_chunk_changes_nothing(broker_without_worker):
    CreatorFactory.create_batch(3)
    run("analyze_creators")
    [chunk_id] = chunk_ids(broker_without_worker())
    first = analyze_chunk.apply((chunk_id,)).get()
    stamps = dict(Creator.objects.values_list("pk", "ai_analyzed_at"))

    again = analyze_chunk.apply((chunk_id,)).get()  # delivered twice after it finished
    AnalysisChunk.objects.filter(pk=chunk_id).update(status="pending")
    mid_way = analyze_chunk.apply((chunk_id,)).get()  # its worker died before it was marked done

    assert first == {"status": "done", "creators": 3, "posts": 0}
    assert again == {"status": "skipped"}
    assert mid_way == {"status": "done", "creators": 0, "posts": 0}  # the analysis version guards it
    assert dict(Creator.objects.values_list("pk", "ai_analyzed_at")) == stamps


def test_a_failing_chunk_is_counted_as_failed(broker_without_worker, settings):
    CreatorFactory.create_batch(2)
    settings.CREATOR_ANALYZERS = ["creators.tests.test_tasks.Exploding"]
    run("analyze_creators")
    [chunk_id] = chunk_ids(broker_without_worker())

    with pytest.raises(RuntimeError):
        analyze_chunk.apply((chunk_id,)).get()

    chunk = AnalysisChunk.objects.get(pk=chunk_id)
    assert chunk.status == "failed" and "model crashed" in chunk.error and chunk.attempts == 1
    assert "0 pending (0 creators), 0 done (0 creators), 1 failed (2 creators)" in status()


def test_import_can_queue_analysis_for_what_it_touched(tmp_path, broker_without_worker):
    untouched = CreatorFactory(handle="someone_else")
    path = tmp_path / "creators.csv"
    path.write_text("platform,handle,followers\ninstagram,new_one,10\ntiktok,other_one,20\n")

    out = run("import_creators", str(path), "--analyze")

    assert "analysis queued for 2 creators in 1 chunk(s)" in out
    [chunk_id] = chunk_ids(broker_without_worker())
    touched = set(Creator.objects.filter(handle__in=["new_one", "other_one"]).values_list("pk", flat=True))
    assert set(AnalysisChunk.objects.get(pk=chunk_id).creator_ids) == touched
    assert untouched.pk not in touched


def test_without_a_broker_the_chunks_run_here():
    CreatorFactory.create_batch(3)

    out = run("analyze_creators", "--chunk", "2")

    assert "3 creators queued in 2 chunk(s)" in out
    assert "2 done (3 creators)" in status()
    assert not Creator.objects.filter(ai_analyzed_at__isnull=True).exists()
