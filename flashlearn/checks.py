"""System checks that Django's own would do, if they recognised our middleware subclasses."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Warning, register
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
