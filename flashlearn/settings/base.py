"""Core: debug, the secret key, hosts, apps, middleware, static files, email and logging."""

from __future__ import annotations

import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from flashlearn.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# --- Core -------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
# Schema mode: this process runs schema commands (migrate, makemigrations, showmigrations, sqlmigrate,
# dbshell, ...); `make migrate`, `make lint` and the Procfile's release step set SCHEMA_MODE=true.
# It connects through DIRECT_DATABASE_URL when that is set (flashlearn/settings/databases.py), and,
# signing nothing, it needs no SECRET_KEY. docs/operations.md "Poolers and schema commands".
SCHEMA_MODE = env_bool("SCHEMA_MODE", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY and not DEBUG and SCHEMA_MODE:
    # A key of this process alone: nothing it could sign is accepted anywhere else, and a server
    # started with SCHEMA_MODE by mistake never runs on the public development key below.
    SECRET_KEY = secrets.token_urlsafe(50)
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production refuses to start without it: set SECRET_KEY "
            "to a long random string (python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=true for local development. Schema commands (migrate, makemigrations) need "
            "none: run them with SCHEMA_MODE=true."
        )
    SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production-0123456789"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if DEBUG:
    ALLOWED_HOSTS += ["testserver"]
HOST = env_str("HOST", "127.0.0.1")
PORT = env_int("PORT", 8000)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "corsheaders",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "flashlearn",
    "accounts",
    "messaging",
    "calendars",
    "creators",
    "transcription",
]

MIDDLEWARE = [
    "flashlearn.middleware.RequestLogMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Django's own middleware, subclassed so that under daphne their hooks run on the event
    # loop instead of one thread hop each (flashlearn/middleware.py says which may block).
    "flashlearn.middleware.SecurityMiddleware",
    "flashlearn.middleware.StaticFilesMiddleware",  # WhiteNoise, async-capable
    "flashlearn.middleware.SessionMiddleware",
    "flashlearn.middleware.CommonMiddleware",
    "flashlearn.middleware.CsrfViewMiddleware",
    "flashlearn.middleware.AuthenticationMiddleware",
    "flashlearn.middleware.MessageMiddleware",
    "flashlearn.middleware.XFrameOptionsMiddleware",
    "flashlearn.middleware.ErrorMiddleware",
]

ROOT_URLCONF = "flashlearn.urls"
WSGI_APPLICATION = "flashlearn.wsgi.application"
ASGI_APPLICATION = "flashlearn.asgi.application"
# Routes answer with and without a trailing slash themselves; a redirect would drop POST bodies.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Finders let WhiteNoise serve the admin and docs assets even before collectstatic ran.
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Email ------------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Flashlearn <no-reply@flashlearn.local>")
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", f"http://{HOST}:{PORT}")

# --- Logging ----------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "flashlearn.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "CRITICAL"},  # ErrorMiddleware logs errors with the request id
        "django.server": {"level": "WARNING"},
    },
}
