"""Ship the periodic tasks into django-celery-beat's tables (run by `release:` in the Procfile)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from flashlearn.celery import app


@dataclass(frozen=True)
class Shipped:
    name: str
    task: str
    every: timedelta
    description: str


SCHEDULES = (
    Shipped("calendars: queue due syncs", "calendars.sync_due", timedelta(minutes=10),
            "One calendars.connection_sync per connection whose failure backoff has passed and that needs no "
            "reconnecting."),
    Shipped("calendars: renew push channels", "calendars.channels_renew", timedelta(hours=1),
            "Queue a sync (which renews the channel) for connections whose push channel expires within "
            "CALENDAR_CHANNEL_RENEW_MARGIN_SECONDS."),
    Shipped("calendars: delete expired OAuth states", "calendars.oauth_states_prune", timedelta(hours=1),
            "Authorization attempts past their expiry can never complete."),
    Shipped("accounts: prune auth events", "accounts.auth_events_prune", timedelta(days=1),
            "Keep AUTH_EVENT_RETENTION_DAYS days of the audit log."),
)


class Command(BaseCommand):
    help = ("Create the shipped periodic tasks (django-celery-beat, editable in the admin under Periodic tasks). "
            "Idempotent: a schedule that exists is kept as an operator left it (interval, enabled); --reset puts "
            "the shipped values back. Run on every release; `celery -A flashlearn beat` reads them.")

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="restore the shipped interval, task and enabled")

    @transaction.atomic
    def handle(self, *args, reset=False, **options):
        app.loader.import_default_modules()
        unknown = [s.task for s in SCHEDULES if s.task not in app.tasks]
        if unknown:
            raise CommandError(f"no such task: {', '.join(unknown)}")
        for shipped in SCHEDULES:
            seconds = int(shipped.every.total_seconds())
            interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
            # A run that waited past its own interval (no worker) is dropped, not piled up.
            values = {"task": shipped.task, "interval": interval, "enabled": True, "expire_seconds": seconds,
                      "description": shipped.description}
            task = PeriodicTask.objects.select_for_update().filter(name=shipped.name).first()
            if task is None:
                PeriodicTask.objects.create(name=shipped.name, **values)
                verb = "created"
            elif reset:
                for field, value in values.items():
                    setattr(task, field, value)
                task.save()
                verb = "reset"
            else:
                verb = "kept"
            self.stdout.write(f"{verb}: {shipped.name} ({shipped.task}, every {shipped.every})")
