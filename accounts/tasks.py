"""Background work of the accounts app (Celery)."""

from __future__ import annotations

from io import StringIO

from celery import shared_task
from django.conf import settings
from django.core.management import call_command


@shared_task(name="accounts.auth_events_prune", soft_time_limit=540, time_limit=600)
def auth_events_prune() -> str:
    """Daily (beat): keep AUTH_EVENT_RETENTION_DAYS of the audit log; batched deletes, safe to repeat."""
    out = StringIO()
    call_command("prune_auth_events", days=settings.AUTH_EVENT_RETENTION_DAYS, verbosity=0, stdout=out)
    return out.getvalue().strip()
