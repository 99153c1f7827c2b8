from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Count
from django.utils import timezone

from accounts.models import AuthEvent
from accounts.stats import stats_read, stats_reset


class Command(BaseCommand):
    help = (
        "Authentication counters for operators: external-user sync cache hits and misses, refused "
        "logins and sign-ups, rejected tokens (kept in the cache: shared through Redis, per process "
        "with the local-memory cache), and audit-log counts for the last --hours hours."
    )

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=24, help="window for the audit-log counts")
        parser.add_argument("--reset", action="store_true", help="zero the cache counters after printing")

    def handle(self, *args, hours: int, reset: bool, **options):
        counters = stats_read()
        hits, misses = counters["external_sync_hit"], counters["external_sync_miss"]
        ratio = f"{hits / (hits + misses):.1%}" if hits + misses else "n/a"
        self.stdout.write(f"external user sync (TTL {settings.EXTERNAL_USER_SYNC_TTL}s): "
                          f"hits {hits}, misses {misses}, hit ratio {ratio}")
        for name in ("login_refused_locked", "signup_refused_throttled", "token_rejected"):
            self.stdout.write(f"{name}: {counters[name]}")
        since = timezone.now() - timedelta(hours=hours)
        rows = AuthEvent.objects.filter(created_at__gte=since).values("kind").annotate(n=Count("id")).order_by("kind")
        self.stdout.write(f"audit events in the last {hours}h:")
        for row in rows:
            self.stdout.write(f"  {row['kind']}: {row['n']}")
        if reset:
            stats_reset()
            self.stdout.write("counters reset")
