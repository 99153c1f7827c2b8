"""Background work of the creators app (Celery)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from creators.analysis import chunks


@shared_task(
    name="creators.analyze_chunk", acks_late=True, reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError), retry_backoff=10, retry_backoff_max=300, retry_jitter=True,
    max_retries=5, soft_time_limit=300, time_limit=360,
)
def analyze_chunk(chunk_id: int) -> dict:
    """Safe to run twice (a done chunk is skipped; only stale creators are written), so acknowledged
    late and re-queued when its worker dies. A database outage retries with backoff."""
    return chunks.chunk_run(chunk_id=chunk_id)
