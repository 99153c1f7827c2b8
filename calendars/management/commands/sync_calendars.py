"""Scheduled sync of Google calendars: one progress line per connection."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from calendars import selectors, services
from flashlearn.errors import DomainError


class Command(BaseCommand):
    help = ("Sync connected Google calendars (incremental with the stored sync token, full otherwise) and renew "
            "push channels that expire soon. Connections waiting out a failure backoff are skipped unless "
            "--user names them. Run it from a scheduler, e.g. every 15 minutes.")

    def add_arguments(self, parser):
        parser.add_argument("--user", metavar="EMAIL", help="only this user's connection (ignores the backoff)")
        parser.add_argument("--full", action="store_true", help="drop sync tokens and resync the whole window")

    def handle(self, *args, user=None, full=False, **options):
        connections = list(selectors.connections_to_sync(email=user, include_backoff=bool(user)))
        if user and not connections:
            raise CommandError(f"No active calendar connection for {user}.")
        total = len(connections)
        failures = 0
        for index, connection in enumerate(connections, start=1):
            label = f"[{index}/{total}] {connection.user.email} ({connection.account_email or 'google'})"
            started = time.perf_counter()
            try:
                result = services.connection_sync(connection_id=connection.pk, full=full)
            except DomainError as exc:
                failures += 1
                self.stdout.write(f"{label}: failed: {exc.code}: {exc.message}")
                continue
            elapsed = time.perf_counter() - started
            kind = "full" if result.full_resync else "incremental"
            self.stdout.write(f"{label}: {kind}: created {result.created}, updated {result.updated}, "
                              f"deleted {result.deleted} in {elapsed:.1f}s")
        self.stdout.write(f"synced {total - failures} of {total} connection(s)")
