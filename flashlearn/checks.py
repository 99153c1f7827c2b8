"""System checks: those Django's own would do if they recognised our middleware subclasses, and the
guard that keeps `migrate` off a transaction pooler."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

REQUIRED_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
)


@register("security", deploy=True)
def required_middleware(app_configs, **kwargs):
    """Stands in for security.W001/W002/W003, which match MIDDLEWARE by exact dotted path."""
    loaded = [import_string(path) for path in settings.MIDDLEWARE]
    return [
        Warning(f"No subclass of {required} in MIDDLEWARE: its protection is off.",
                hint=f"Add {required} (or flashlearn.middleware's async-friendly subclass) to MIDDLEWARE.",
                id="flashlearn.W001")
        for required in REQUIRED_MIDDLEWARE
        if not any(issubclass(cls, import_string(required)) for cls in loaded if isinstance(cls, type))
    ]


@register(Tags.database)
def schema_commands_use_the_direct_url(app_configs, databases=None, **kwargs):
    """`migrate` (the command that names a database to check) outside schema mode while
    DIRECT_DATABASE_URL is set would run DDL through DATABASE_URL, typically a transaction pooler."""
    if not databases or settings.SCHEMA_MODE or not settings.DIRECT_DATABASE_URL or "default" not in databases:
        return []
    return [Error(
        "DIRECT_DATABASE_URL is set but this process is not in schema mode: the schema would change "
        "through DATABASE_URL.",
        hint="Run schema commands with SCHEMA_MODE=true (make migrate and the Procfile's release step do).",
        id="flashlearn.E001",
    )]
