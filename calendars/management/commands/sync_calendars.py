"""Operator sync of Google calendars: queue one task per connection, or run them here with --now."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from calendars import selectors, services
from flashlearn.errors import DomainError


class Command(BaseCommand):
    help = ("Sync connected Google calendars (incremental with the stored sync token, full otherwise); a sync "
            "also renews push channels that expire soon. By default one background task per connection is "
            "queued for the Celery workers (the beat schedule does this every 10 minutes); --now syncs here, "
            "one line per connection. Connections waiting out a failure backoff are skipped unless --user "
            "names them.")

    def add_arguments(self, parser):
        parser.add_argument("--user", metavar="EMAIL", help="only this user's connection (ignores the backoff)")
        parser.add_argument("--full", action="store_true", help="drop sync tokens and resync the whole window")
        parser.add_argument("--now", action="store_true", help="sync in this process instead of queueing tasks")

    def handle(self, *args, user=None, full=False, now=False, **options):
        connections = list(selectors.connections_to_sync(email=user, include_backoff=bool(user)))
        if user and not connections:
            raise CommandError(f"No active calendar connection for {user}.")
        if now:
            self._sync_here(connections, full=full)
        else:
            self._queue(connections, full=full)

    def _queue(self, connections, *, full: bool) -> None:
        queued = 0
        for connection in connections:
            try:
                sent = services.connection_sync_enqueue(connection_id=connection.pk, full=full)
            except DomainError as exc:
                raise CommandError(f"{exc.code}: {exc.message}") from None
            queued += sent
            self.stdout.write(f"{connection.user.email}: {'queued' if sent else 'already queued'}")
        self.stdout.write(f"queued {queued} of {len(connections)} connection(s)")

    def _sync_here(self, connections, *, full: bool) -> None:
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
