from django.apps import AppConfig
from django.core import checks


class CalendarsConfig(AppConfig):
    name = "calendars"

    def ready(self) -> None:
        checks.register(check_token_encryption_key, checks.Tags.security, deploy=True)
        checks.register(check_task_broker, deploy=True)


def check_token_encryption_key(app_configs=None, **kwargs):
    """Warn (not fail: the rest of the API works) when calendar tokens could not be stored."""
    from django.conf import settings

    if settings.TOKEN_ENCRYPTION_KEY:
        if len(settings.TOKEN_ENCRYPTION_KEY) < 16:
            return [checks.Warning("TOKEN_ENCRYPTION_KEY is shorter than 16 characters.",
                                   hint="Use a long random value, e.g. secrets.token_urlsafe(48).",
                                   id="calendars.W002")]
        return []
    return [checks.Warning(
        "TOKEN_ENCRYPTION_KEY is not set: connecting a Google Calendar is refused outside DEBUG.",
        hint="Set TOKEN_ENCRYPTION_KEY to a long random value (any string; a key is derived with HKDF-SHA256).",
        id="calendars.W001",
    )]


def check_task_broker(app_configs=None, **kwargs):
    """Without a broker, background tasks run inline: a webhook would wait for Google again."""
    from django.conf import settings

    if not settings.CELERY_TASK_ALWAYS_EAGER:
        return []
    return [checks.Warning(
        "No Celery broker (CELERY_BROKER_URL or REDIS_URL): calendar syncs queued by Google's webhook, "
        "POST /calendars/sync and the admin run inline, on the request's thread.",
        hint="Set REDIS_URL (or CELERY_BROKER_URL) and run `celery -A flashlearn worker` (docs/tasks.md).",
        id="calendars.W003",
    )]
