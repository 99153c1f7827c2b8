from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import AuthEvent
from flashlearn.progress import progress_bar


class Command(BaseCommand):
    help = "Delete audit-log entries (AuthEvent) older than --days days, in batches."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, required=True, help="keep this many days of events (>= 1)")
        parser.add_argument("--batch-size", type=int, default=5000, help="rows deleted per statement")
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")

    def handle(self, *args, days: int, batch_size: int, dry_run: bool, **options):
        if days < 1:
            raise CommandError("--days must be at least 1")
        cutoff = timezone.now() - timedelta(days=days)
        old = AuthEvent.objects.filter(created_at__lt=cutoff)
        total = old.count()
        if dry_run:
            self.stdout.write(f"{total} events older than {cutoff:%Y-%m-%d %H:%M} UTC would be deleted")
            return
        deleted = 0
        with progress_bar(total=total, unit="event", stream=self.stderr,
                          enabled=total >= batch_size and options["verbosity"] >= 1) as bar:
            while True:
                ids = list(old.order_by("pk").values_list("pk", flat=True)[:batch_size])
                if not ids:
                    break
                count, _ = AuthEvent.objects.filter(pk__in=ids).delete()
                deleted += count
                bar.update(count)
        self.stdout.write(f"deleted {deleted} events older than {cutoff:%Y-%m-%d %H:%M} UTC")
