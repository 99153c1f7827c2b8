from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from creators.analysis import pipeline
from creators.models import Creator
from flashlearn.progress import progress_bar


class Command(BaseCommand):
    help = (
        "Analyse creators and their posts that have no analysis or one from an older analyzer version "
        "(language, sentiment, topics, brand safety, quality score). Offline and deterministic; each "
        "batch commits on its own, so an interrupted run resumes where it stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="re-analyse every creator, current or not")
        parser.add_argument("--batch", type=int, default=200, help="creators per batch (default 200)")
        parser.add_argument("--limit", type=int, default=None, help="stop after this many creators")
        parser.add_argument("--after-id", type=int, default=0,
                            help="start after this creator id (resume an interrupted --all run)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        if options["batch"] < 1:
            raise CommandError("--batch must be at least 1")
        analyzers = pipeline.load_analyzers()
        version = pipeline.analyzer_version(analyzers)
        base = Creator.objects.all() if options["all"] else pipeline.stale_creators(version)
        total = base.filter(pk__gt=options["after_id"]).count()
        if options["limit"] is not None:
            total = min(total, options["limit"])
        with progress_bar(total=total, unit="creator", stream=self.stderr, enabled=not options["no_progress"]) as bar:
            result = pipeline.run(
                force=options["all"], batch_size=options["batch"], after_id=options["after_id"],
                limit=options["limit"], analyzers=analyzers,
                on_batch=lambda _result, n: bar.update(n),
            )
        self.stdout.write(
            f"analyze_creators: {result.creators} creators and {result.posts} posts analysed in "
            f"{result.batches} batches (analyzer version {version}); last id {result.last_id}"
        )
