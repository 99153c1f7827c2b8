"""The Celery app, laid out as in Celery's "First steps with Django".

Configuration comes from Django settings (the CELERY_* names in flashlearn/settings/tasks.py, read from the
environment there). `celery -A flashlearn worker` and `celery -A flashlearn beat` find this app
through `flashlearn/__init__.py`; tasks live in each app's `tasks.py`.
"""

from __future__ import annotations

import os

from celery import Celery, Task
from celery.exceptions import Retry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flashlearn.settings")


class FlashlearnTask(Task):
    """Retries honour the Retry-After a domain error carries, and never run inline.

    `autoretry_for` + `retry_backoff` + `retry_jitter` compute a countdown; an error that says how
    long the other side wants us to wait (GoogleUnavailable.retry_after, from Google's Retry-After)
    lengthens it. In eager mode (no broker) a retry would re-run the task at once on the caller's
    thread, ignoring the countdown, so the error is raised instead: the next scheduled run retries.
    """

    def retry(self, args=None, kwargs=None, exc=None, throw=True, eta=None, countdown=None, max_retries=None,
              **options) -> Retry:
        if self.request.is_eager and exc is not None:
            raise exc
        retry_after = getattr(exc, "retry_after", None)
        if retry_after and eta is None:
            countdown = max(countdown or 0, retry_after)
        return super().retry(args=args, kwargs=kwargs, exc=exc, throw=throw, eta=eta, countdown=countdown,
                             max_retries=max_retries, **options)


app = Celery("flashlearn", task_cls=FlashlearnTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def broker_check() -> dict:
    """For /readyz: which broker, and whether it answers. No broker (eager mode) is not a failure."""
    url = app.conf.broker_url
    if app.conf.task_always_eager or not url:
        return {"ok": True, "backend": "eager"}
    backend = url.split(":", 1)[0]
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=1)
    except Exception as exc:  # any failure to reach the broker means "not ready"
        return {"ok": False, "backend": backend, "error": exc.__class__.__name__}
    return {"ok": True, "backend": backend}
