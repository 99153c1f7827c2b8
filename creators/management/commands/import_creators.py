from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from kombu.exceptions import OperationalError as BrokerError

from creators import importing, services
from creators.analysis import chunks
from flashlearn.progress import progress_bar

CHUNK = 1_000


class Command(BaseCommand):
    help = (
        "Import creators from a CSV file (header row with column names) or JSON Lines (one object a line). "
        "Every row is validated; bad rows are reported with their line number and skipped, good rows are "
        "upserted by (platform, handle). Columns: " + ", ".join(importing.CreatorRowSerializer().fields)
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=importing.FORMATS, help="default: from the file extension")
        parser.add_argument("--strict", action="store_true", help="write nothing if any row is bad")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument("--analyze", action="store_true",
                            help="then queue analysis tasks for the imported creators that need one")

    def handle(self, *args, file: Path, **options):
        if not file.is_file():
            raise CommandError(f"{file} is not a file")
        try:
            fmt = options["format"] or importing.detect_format(file)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        try:
            with file.open(encoding="utf-8-sig", newline="") as handle:
                parsed = importing.parse(handle, fmt)
        except UnicodeDecodeError:
            raise CommandError(f"{file} is not UTF-8 text") from None
        for error in parsed.errors:
            self.stderr.write(str(error))
        created = updated = 0
        if parsed.errors and options["strict"]:
            raise CommandError(f"{len(parsed.errors)} bad rows; nothing imported (--strict)")
        rows = [row for _, row in parsed.valid]
        touched: list[int] = []
        with progress_bar(total=len(rows), unit="row", stream=self.stderr, enabled=not options["no_progress"]) as bar:
            for start in range(0, len(rows), CHUNK):
                c, u = services.creators_upsert(rows=rows[start:start + CHUNK])
                created, updated = created + c, updated + u
                if options["analyze"]:
                    touched += chunks.creator_ids_for_keys(
                        keys=[(row["platform"], row["handle"]) for row in rows[start:start + CHUNK]])
                bar.update(len(rows[start:start + CHUNK]))
        self.stdout.write(
            f"import_creators: {len(parsed.valid) + len(parsed.errors)} rows read, {created} created, "
            f"{updated} updated, {len(parsed.errors)} rejected"
        )
        if options["analyze"]:
            try:
                queued = chunks.chunks_enqueue(ids=touched)
            except BrokerError as exc:
                raise CommandError(f"imported, but analysis was not queued: the task broker is unreachable "
                                   f"({type(exc).__name__}); run analyze_creators later") from None
            self.stdout.write(f"import_creators: analysis queued for {queued.creators} creators in "
                              f"{len(queued.chunks)} chunk(s)")
