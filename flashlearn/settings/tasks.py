"""Background tasks: Celery (flashlearn/celery.py; docs/tasks.md)."""

from __future__ import annotations

from flashlearn.env import env_int, env_str
from flashlearn.settings.cache import REDIS_PREFIX, REDIS_URL

# The broker: redis://... or amqp://... (RabbitMQ). Unset, it is REDIS_URL; with neither, tasks run
# inline in the process that queues them (task_always_eager): the embedded default, no worker needed.
_celery_broker = env_str("CELERY_BROKER_URL") or REDIS_URL
CELERY_TASK_ALWAYS_EAGER = not _celery_broker
# Eager mode talks to no broker; the in-process transport keeps Celery from assuming amqp://localhost.
CELERY_BROKER_URL = _celery_broker or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # no result backend: outcomes are stored on the rows a task works on
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "flashlearn")
# Every task also sets its own limits; these catch one that forgets.
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 900)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # long syncs: a worker holds only the task it runs
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True  # acks_late tasks are redelivered instead
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # JSON logs from LOGGING below
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2.0
# A request that queues a task waits at most ~1 s for a broker that is down, then answers 503.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis: a task a worker took but never acknowledged (the worker died) is handed out again after
    # this many seconds; it must exceed the longest retry countdown (CALENDAR_SYNC_RETRY_BACKOFF_MAX).
    "visibility_timeout": env_int("CELERY_BROKER_VISIBILITY_TIMEOUT", 3600),
    "unacked_restore_interval": env_int("CELERY_BROKER_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": 1,
    "socket_timeout": 5,
    "socket_connect_timeout": 2,
}
if (CELERY_BROKER_URL or "").startswith(("redis://", "rediss://")):
    # Every key Celery writes lives under REDIS_PREFIX, like the cache and channel layer keys.
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = f"{REDIS_PREFIX}:celery:"
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
