from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from kombu.exceptions import OperationalError as BrokerError

from creators.analysis import chunks, pipeline
from creators.models import Creator
from flashlearn.progress import progress_bar


class Command(BaseCommand):
    help = (
        "Analyse creators and their posts that have no analysis or one from an older analyzer version "
        "(language, sentiment, topics, brand safety, quality score). Queues one Celery task per chunk of "
        "CREATOR_ANALYSIS_CHUNK creators for the workers (without a broker they run here, one after another); "
        "--now analyses in this process instead; --status shows pending / done / failed chunks. Offline and "
        "deterministic; a chunk run twice changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="re-analyse every creator, current or not")
        parser.add_argument("--chunk", type=int, default=None,
                            help="creators per task (default: CREATOR_ANALYSIS_CHUNK)")
        parser.add_argument("--batch", type=int, default=200, help="creators per transaction with --now (default 200)")
        parser.add_argument("--limit", type=int, default=None, help="stop after this many creators")
        parser.add_argument("--after-id", type=int, default=0,
                            help="start after this creator id (resume an interrupted --all run)")
        parser.add_argument("--now", action="store_true", help="analyse in this process instead of queueing")
        parser.add_argument("--status", action="store_true", help="show queued chunks by state and stop")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        if options["status"]:
            return self._status()
        if options["batch"] < 1 or (options["chunk"] is not None and options["chunk"] < 1):
            raise CommandError("--batch and --chunk must be at least 1")
        if options["now"]:
            return self._here(options)
        picked = dict(force=options["all"], after_id=options["after_id"], limit=options["limit"])
        total = self._count(options)
        with progress_bar(total=total, unit="creator", stream=self.stderr, enabled=not options["no_progress"]) as bar:
            try:
                queued = chunks.chunks_enqueue(chunk_size=options["chunk"], on_chunk=bar.update, **picked)
            except BrokerError as exc:
                raise CommandError(f"the task broker is unreachable ({type(exc).__name__})") from None
        self.stdout.write(
            f"analyze_creators: {queued.creators} creators queued in {len(queued.chunks)} chunk(s) "
            f"(analyzer version {queued.version}); `analyze_creators --status` shows progress"
        )

    def _count(self, options) -> int:
        version = pipeline.analyzer_version(pipeline.load_analyzers())
        base = Creator.objects.all() if options["all"] else pipeline.stale_creators(version)
        total = base.filter(pk__gt=options["after_id"]).count()
        return total if options["limit"] is None else min(total, options["limit"])

    def _here(self, options) -> None:
        analyzers = pipeline.load_analyzers()
        version = pipeline.analyzer_version(analyzers)
        with progress_bar(total=self._count(options), unit="creator", stream=self.stderr,
                          enabled=not options["no_progress"]) as bar:
            result = pipeline.run(
                force=options["all"], batch_size=options["batch"], after_id=options["after_id"],
                limit=options["limit"], analyzers=analyzers,
                on_batch=lambda _result, n: bar.update(n),
            )
        self.stdout.write(
            f"analyze_creators: {result.creators} creators and {result.posts} posts analysed in "
            f"{result.batches} batches (analyzer version {version}); last id {result.last_id}"
        )

    def _status(self) -> None:
        status = chunks.chunks_status()
        line = ", ".join(f"{status[s]['chunks']} {s} ({status[s]['creators']} creators)"
                         for s in ("pending", "done", "failed"))
        self.stdout.write(f"chunks: {line}")
        self.stdout.write(f"creators: {status['current_creators']} current, {status['stale_creators']} need "
                          f"analysis (analyzer version {status['version']})")
