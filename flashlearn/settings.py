"""Flashlearn settings. Every value comes from the environment; docs/configuration.md lists them all."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from flashlearn.database import database_config
from flashlearn.env import env_bool, env_float, env_int, env_list, env_str
from flashlearn.keyfile import derived_key, key_file_read_or_create
from flashlearn.rates import parse_rate

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Core -------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
# The management command this process runs, if any: two settings below depend on it.
MANAGE_COMMAND = sys.argv[1] if len(sys.argv) > 1 else None
# Writing migrations serves nothing and signs nothing, so it needs no secret even with DEBUG off
# (CI and hooks run `makemigrations --check` without one). Everything else refuses to start.
if not SECRET_KEY:
    if not DEBUG and MANAGE_COMMAND != "makemigrations":
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production refuses to start without it: set SECRET_KEY "
            "to a long random string (python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=true for local development."
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

# --- Database ---------------------------------------------------------------------
_db_options = {
    "pool_mode": env_str("DB_POOL_MODE"),
    "pool_min": env_int("DB_POOL_MIN_SIZE", 2),
    "pool_max": env_int("DB_POOL_MAX_SIZE", 10),
    "pool_timeout": env_float("DB_POOL_TIMEOUT", 5.0),
    "connect_timeout": env_int("DB_CONNECT_TIMEOUT", 5),
    "sqlite_timeout": env_float("SQLITE_BUSY_TIMEOUT", 20.0),  # seconds a writer queues for SQLite's lock
}
# Outages (docs/operations.md "Outages and health"): after a failure to reach the database or the
# Redis cache, requests needing it answer 503 at once for this many seconds, then one probes (0: off).
DB_BREAKER_SECONDS = env_float("DB_BREAKER_SECONDS", 0.5)
CACHE_BREAKER_SECONDS = env_float("CACHE_BREAKER_SECONDS", 0.5)
# /readyz and /__dbcheck__ give each dependency this long (own connection), whatever it does.
HEALTH_CHECK_TIMEOUT = env_float("HEALTH_CHECK_TIMEOUT", 0.8)
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": database_config(DATABASE_URL, variable="DATABASE_URL", **_db_options)}
# Schema commands (migrate, makemigrations, ...) go to DIRECT_DATABASE_URL when it is set:
# a session pooler or the direct host, because DDL through a transaction pooler is unsafe.
DIRECT_DATABASE_URL = env_str("DIRECT_DATABASE_URL")
if DIRECT_DATABASE_URL and MANAGE_COMMAND in {
    "migrate", "makemigrations", "sqlmigrate", "showmigrations", "flush", "createcachetable", "dbshell",
}:
    DATABASES["default"] = database_config(
        DIRECT_DATABASE_URL, variable="DIRECT_DATABASE_URL", **{**_db_options, "pool_mode": "session"}
    )
_test_db_name = env_str("DATABASE_TEST_NAME")
if _test_db_name:
    DATABASES["default"]["TEST"] = {"NAME": _test_db_name}

# --- Redis: channel layer and cache -----------------------------------------------
REDIS_URL = env_str("REDIS_URL")
REDIS_PREFIX = env_str("REDIS_PREFIX", "flashlearn")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{REDIS_PREFIX}:asgi"},
        },
        # Chat fan-out (messaging/, one subscription per process and session): pub/sub pushes instead
        # of polling; docs/messaging.md has the figures. MESSAGING_CHANNEL_LAYER=core switches.
        "messaging": (
            {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{REDIS_PREFIX}:chat", "capacity": 1000},
            }
            if env_str("MESSAGING_CHANNEL_LAYER", "pubsub") == "core"
            else {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{REDIS_PREFIX}:chat"},
            }
        ),
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"{REDIS_PREFIX}:cache",
            "OPTIONS": {
                "socket_connect_timeout": 2, "socket_timeout": 2,
                "pool_class": "flashlearn.cache.BreakerConnectionPool",  # fails fast in an outage
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"},
        "messaging": {"BACKEND": "channels.layers.InMemoryChannelLayer"},
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

WEB_CONCURRENCY = env_int("WEB_CONCURRENCY", 0)  # 0: decided by `manage.py serve`

# --- Background tasks: Celery (flashlearn/celery.py; docs/tasks.md) ------------------
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
AUTH_EVENT_RETENTION_DAYS = env_int("AUTH_EVENT_RETENTION_DAYS", 90)  # the daily prune task keeps this many
# SIGTERM: stop accepting, finish in-flight requests, close websockets 1001, all within this (seconds).
WEB_SHUTDOWN_GRACE = env_float("WEB_SHUTDOWN_GRACE", 20.0)
# Transport limits (docs/security.md "Transport limits"): bodies, websocket messages, request heads.
HTTP_MAX_BODY_BYTES = env_int("HTTP_MAX_BODY_BYTES", 1024 * 1024)
WS_CHAT_MAX_BYTES = env_int("WS_CHAT_MAX_BYTES", 64 * 1024)
HTTP_MAX_REQUEST_LINE_BYTES = env_int("HTTP_MAX_REQUEST_LINE_BYTES", 8192)
HTTP_MAX_HEADER_BYTES = env_int("HTTP_MAX_HEADER_BYTES", 16384)

# --- Security ---------------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env_list(
    "CORS_ALLOWED_ORIGINS", ["http://localhost:3000", "http://127.0.0.1:3000"] if DEBUG else []
)
CORS_ALLOW_CREDENTIALS = env_bool("CORS_ALLOW_CREDENTIALS", False)
# A front end on another origin must be able to read how long to wait (429/503) and quote the request id.
CORS_EXPOSE_HEADERS = ["Retry-After", "X-Request-ID"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Browser origins allowed to open websockets (unset: CORS_ALLOWED_ORIGINS); clients that send no
# Origin are always let through to the token check (flashlearn/origins.py says why).
WEBSOCKET_ALLOWED_ORIGINS = env_list("WEBSOCKET_ALLOWED_ORIGINS", [])
# X-Forwarded-Proto is believed only when a proxy in front of us sets it (TRUST_PROXY_HEADERS, or
# CLIENT_IP_PROXY_COUNT > 0 below); otherwise any client could claim https.
TRUST_PROXY_HEADERS = env_bool("TRUST_PROXY_HEADERS", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$", r"^__dbcheck__/?$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Preload-list submission is a one-way decision for the whole domain, so it stays opt-in
# (SECURE_HSTS_PRELOAD=true) and `check --deploy` is not asked to nag about it.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Django's W001/W002/W003 look for the exact dotted paths of the security, clickjacking and
# CSRF middleware; MIDDLEWARE holds async-friendly subclasses of them instead, and
# flashlearn/checks.py runs the same checks by subclass (flashlearn.W001).
SILENCED_SYSTEM_CHECKS += ["security.W001", "security.W002", "security.W003"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Passwords ----------------------------------------------------------------------
# Argon2id first. Django's PBKDF2 (1,000,000 iterations) costs ~0.3 s of a core per login
# here, which caps this 2-core box near 7 logins/s; Argon2 at OWASP's minimum
# (19 MiB, t=2, p=1) costs ~28 ms. See accounts/hashers.py for the chosen parameters.
# PBKDF2 stays listed so old hashes still verify and are upgraded on the next login.
PASSWORD_HASHERS = [
    "accounts.hashers.FlashlearnArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["flashlearn.parsers.JSONParser"],  # deep nesting is a 400, not a 500
    "DEFAULT_SCHEMA_CLASS": "flashlearn.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "flashlearn.errors.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Flashlearn API",
    "DESCRIPTION": "Accounts, live sessions and chat, calendars, creators and transcription.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["flashlearn.openapi.drop_trailing_slash_twins", "flashlearn.openapi.drop_aliases"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums", "flashlearn.openapi.document_operations",
    ],
}

# Our JWTs have their own key, never SECRET_KEY itself (with DEBUG that is a public constant, and a
# token signed with it was accepted). Unset: with DEBUG, a random key kept per checkout in
# JWT_SECRET_KEY_FILE (git-ignored, mode 0600); without DEBUG, one derived from SECRET_KEY for this
# purpose only, and `check --deploy` warns (accounts.W001) until JWT_SECRET_KEY is set.
JWT_SECRET_KEY = env_str("JWT_SECRET_KEY")
JWT_SECRET_KEY_FILE = Path(env_str("JWT_SECRET_KEY_FILE") or BASE_DIR / ".jwt-secret")
JWT_SECRET_KEY_SOURCE = "env" if JWT_SECRET_KEY else ("file" if DEBUG else "derived")
if JWT_SECRET_KEY_SOURCE == "file":
    JWT_SECRET_KEY = key_file_read_or_create(JWT_SECRET_KEY_FILE)
elif JWT_SECRET_KEY_SOURCE == "derived":
    JWT_SECRET_KEY = derived_key(SECRET_KEY, purpose="flashlearn.jwt-signing-key")
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env_int("JWT_ACCESS_TTL_SECONDS", 15 * 60)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env_int("JWT_REFRESH_TTL_SECONDS", 14 * 24 * 3600)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
}
SUPABASE_JWT_SECRET = env_str("SUPABASE_JWT_SECRET")
SUPABASE_JWT_AUDIENCE = env_str("SUPABASE_JWT_AUDIENCE", "authenticated")
# Only issuer-set claims (top-level email_verified / email_confirmed_at) let a Supabase identity link to a
# local account by email; true declares that this project signs in only confirmed emails via verifying providers.
SUPABASE_EMAILS_CONFIRMED = env_bool("SUPABASE_EMAILS_CONFIRMED", False)
# Supabase JWT signing keys (ES256/RS256): the JWKS at <SUPABASE_URL>/auth/v1/.well-known/jwks.json
# (or SUPABASE_JWKS_URL); with SUPABASE_URL set, every Supabase token must carry iss=<SUPABASE_URL>/auth/v1.
SUPABASE_URL = env_str("SUPABASE_URL")
SUPABASE_JWKS_URL = env_str("SUPABASE_JWKS_URL")
SUPABASE_JWKS_CACHE_SECONDS = env_float("SUPABASE_JWKS_CACHE_SECONDS", 600.0)  # a removed key dies within this
SUPABASE_JWKS_REFETCH_SECONDS = env_float("SUPABASE_JWKS_REFETCH_SECONDS", 30.0)  # unknown kid: refetch at most
SUPABASE_JWKS_TIMEOUT = env_float("SUPABASE_JWKS_TIMEOUT", 3.0)
# Audit rows for rejected bearer tokens, per client IP and window; beyond it they are counted and
# one summary row is written when the window rolls (junk tokens cannot flood the audit table).
TOKEN_REJECTION_AUDIT_PER_IP = env_int("TOKEN_REJECTION_AUDIT_PER_IP", 10)
TOKEN_REJECTION_AUDIT_WINDOW = env_int("TOKEN_REJECTION_AUDIT_WINDOW", 300)
# Open websockets re-check their credentials (token version, active, session) at most this often.
WS_AUTH_RECHECK_SECONDS = env_float("WS_AUTH_RECHECK_SECONDS", 30.0)
EXTERNAL_USER_SYNC_TTL = env_int("EXTERNAL_USER_SYNC_TTL", 300)
SIGNUP_RATE = env_str("SIGNUP_RATE", "20/hour")
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900)
# One address can hide many people (offices, mobile NAT): the per-IP limit is looser.
LOGIN_IP_MAX_FAILURES = env_int("LOGIN_IP_MAX_FAILURES", 4 * LOGIN_MAX_FAILURES)
# A rotated refresh token presented again within this many seconds, while its session lives on, is a
# plain 401 (a lost response, two tabs racing) instead of revoking every session; 0 (default): always revoke.
REFRESH_REUSE_GRACE_SECONDS = env_int("REFRESH_REUSE_GRACE_SECONDS", 0)
# Per-user limits on writes (flashlearn/throttles.py): "N/s|min|hour|day", "" for none. Generous:
# they stop a script or a stuck client, not a person. 429 with Retry-After beyond them.
THROTTLE_RATES = {
    "message_post": env_str("THROTTLE_MESSAGE_POST", "120/min"),
    "session_create": env_str("THROTTLE_SESSION_CREATE", "60/hour"),
    "calendar_connect": env_str("THROTTLE_CALENDAR_CONNECT", "30/hour"),
    "calendar_sync": env_str("THROTTLE_CALENDAR_SYNC", "60/hour"),
    "creator_unlock": env_str("THROTTLE_CREATOR_UNLOCK", "300/hour"),
}
for _scope, _rate in THROTTLE_RATES.items():
    try:
        parse_rate(_rate)
    except ValueError as exc:
        raise ImproperlyConfigured(f"THROTTLE_{_scope.upper()}: {exc}") from None
# Proxies in front of the app that append to X-Forwarded-For (0: use the socket's address).
CLIENT_IP_PROXY_COUNT = env_int("CLIENT_IP_PROXY_COUNT", 0)
if TRUST_PROXY_HEADERS or CLIENT_IP_PROXY_COUNT > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Region assumed for phone numbers written without a +country code.
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "US")

# --- Messaging --------------------------------------------------------------------------
MESSAGING_HISTORY_PAGE_SIZE = env_int("MESSAGING_HISTORY_PAGE_SIZE", 50)
MESSAGING_HISTORY_MAX_PAGE_SIZE = env_int("MESSAGING_HISTORY_MAX_PAGE_SIZE", 200)
MESSAGING_REPLAY_LIMIT = env_int("MESSAGING_REPLAY_LIMIT", 500)  # messages replayed on `?after=`
MESSAGING_WS_RATE = env_float("MESSAGING_WS_RATE", 10.0)  # inbound frames per second per connection
MESSAGING_WS_BURST = env_int("MESSAGING_WS_BURST", 20)
MESSAGING_TYPING_INTERVAL = env_float("MESSAGING_TYPING_INTERVAL", 2.0)  # seconds between typing broadcasts
MESSAGING_SEND_QUEUE = env_int("MESSAGING_SEND_QUEUE", 1000)  # frames queued per connection before 4408
MESSAGING_SEND_BUFFER_BYTES = env_int("MESSAGING_SEND_BUFFER_BYTES", 4 * 1024 * 1024)  # unread bytes before 4408
MESSAGING_PRESENCE_TTL = env_float("MESSAGING_PRESENCE_TTL", 30.0)  # an unrefreshed presence entry expires
MESSAGING_PRESENCE_COALESCE = env_float("MESSAGING_PRESENCE_COALESCE", 0.1)  # presence deltas batched
# Websocket database calls run on this many threads (default: the connection pool's size), and fail
# at once for this many seconds after the database failed (docs/operations.md "Chat delivery guarantees").
MESSAGING_DB_THREADS = env_int("MESSAGING_DB_THREADS", _db_options["pool_max"])
MESSAGING_DB_FAIL_FAST_SECONDS = env_float("MESSAGING_DB_FAIL_FAST_SECONDS", 2.0)
# Each process's chat hub checks its channel layer this often, and compares what it delivered with
# the database this often (sooner while the layer is down), so a missed broadcast is repaired.
MESSAGING_HUB_PROBE_INTERVAL = env_float("MESSAGING_HUB_PROBE_INTERVAL", 1.0)
MESSAGING_HUB_SWEEP_INTERVAL = env_float("MESSAGING_HUB_SWEEP_INTERVAL", 5.0)

# --- Calendars ------------------------------------------------------------------------
GOOGLE_CLIENT_ID = env_str("GOOGLE_CLIENT_ID", "")
GOOGLE_CLIENT_SECRET = env_str("GOOGLE_CLIENT_SECRET", "")
GOOGLE_REDIRECT_URI = env_str("GOOGLE_REDIRECT_URI", f"http://{HOST}:{PORT}/api/v1/calendars/google/callback")
GOOGLE_AUTH_URI = env_str("GOOGLE_AUTH_URI", "https://accounts.google.com/o/oauth2/auth")
GOOGLE_TOKEN_URI = env_str("GOOGLE_TOKEN_URI", "https://oauth2.googleapis.com/token")
GOOGLE_REVOKE_URI = env_str("GOOGLE_REVOKE_URI", "https://oauth2.googleapis.com/revoke")
GOOGLE_CALENDAR_API_ROOT = env_str("GOOGLE_CALENDAR_API_ROOT", "https://www.googleapis.com/")
TOKEN_ENCRYPTION_KEY = env_str("TOKEN_ENCRYPTION_KEY")
# Older keys still accepted for decryption while tokens are re-encrypted under the current one.
TOKEN_ENCRYPTION_OLD_KEYS = env_list("TOKEN_ENCRYPTION_OLD_KEYS", [])
CALENDAR_SYNC_CALENDAR_IDS = env_list("CALENDAR_SYNC_CALENDAR_IDS", ["primary"])
CALENDAR_SYNC_PAST_DAYS = env_int("CALENDAR_SYNC_PAST_DAYS", 90)  # full-sync window before now
CALENDAR_SYNC_FUTURE_DAYS = env_int("CALENDAR_SYNC_FUTURE_DAYS", 365)  # full-sync window after now
CALENDAR_SYNC_PAGE_SIZE = env_int("CALENDAR_SYNC_PAGE_SIZE", 1000)  # events.list maxResults (Google caps at 2500)
CALENDAR_SYNC_BATCH_SIZE = env_int("CALENDAR_SYNC_BATCH_SIZE", 500)  # rows per write transaction
CALENDAR_SYNC_LOCK_SECONDS = env_int("CALENDAR_SYNC_LOCK_SECONDS", 600)  # per-connection sync lease, renewed per page
CALENDAR_HTTP_TIMEOUT = env_float("CALENDAR_HTTP_TIMEOUT", 10.0)
CALENDAR_RETRY_MAX_ATTEMPTS = env_int("CALENDAR_RETRY_MAX_ATTEMPTS", 5)
CALENDAR_RETRY_BASE_SECONDS = env_float("CALENDAR_RETRY_BASE_SECONDS", 1.0)
CALENDAR_RETRY_MAX_SECONDS = env_float("CALENDAR_RETRY_MAX_SECONDS", 32.0)  # cap per wait, Retry-After included
CALENDAR_RETRY_SLEEP_SCALE = 1.0  # tests shrink real sleeps; computed delays stay as they are
CALENDAR_FAILURE_BACKOFF_MAX_SECONDS = env_int("CALENDAR_FAILURE_BACKOFF_MAX_SECONDS", 3600)
CALENDAR_OAUTH_STATE_TTL_SECONDS = env_int("CALENDAR_OAUTH_STATE_TTL_SECONDS", 600)
CALENDAR_CONNECT_RETURN_URL = env_str("CALENDAR_CONNECT_RETURN_URL")  # unset: the callback answers JSON
CALENDAR_RECONNECT_URL = env_str("CALENDAR_RECONNECT_URL")  # link in the reconnect email; unset: PUBLIC_BASE_URL
CALENDAR_WEBHOOK_BASE_URL = env_str("CALENDAR_WEBHOOK_BASE_URL")  # https origin Google can reach; unset: no push
CALENDAR_CHANNEL_TTL_SECONDS = env_int("CALENDAR_CHANNEL_TTL_SECONDS", 7 * 24 * 3600)
CALENDAR_CHANNEL_RENEW_MARGIN_SECONDS = env_int("CALENDAR_CHANNEL_RENEW_MARGIN_SECONDS", 24 * 3600)
# Sync tasks (calendars/tasks.py): a queued sync older than this is assumed lost and may be queued again.
CALENDAR_SYNC_QUEUED_STALE_SECONDS = env_int("CALENDAR_SYNC_QUEUED_STALE_SECONDS", 900)
CALENDAR_SYNC_REQUEUE_SECONDS = 10  # a sync that found another running looks once more this much later
CALENDAR_SYNC_TASK_MAX_RETRIES = env_int("CALENDAR_SYNC_TASK_MAX_RETRIES", 5)  # Google outages, then the schedule
CALENDAR_SYNC_RETRY_BACKOFF = env_int("CALENDAR_SYNC_RETRY_BACKOFF", 30)  # seconds, doubled per retry, jittered
CALENDAR_SYNC_RETRY_BACKOFF_MAX = env_int("CALENDAR_SYNC_RETRY_BACKOFF_MAX", 1800)
CALENDAR_SYNC_TASK_TIME_LIMIT = env_int("CALENDAR_SYNC_TASK_TIME_LIMIT", 900)

# --- Creators -------------------------------------------------------------------------
CREATOR_UNLOCK_PRICE = env_int("CREATOR_UNLOCK_PRICE", 1)
CREATOR_STATS_CACHE_SECONDS = env_int("CREATOR_STATS_CACHE_SECONDS", 5)
CREATOR_SEARCH_MAX_PAGE_SIZE = env_int("CREATOR_SEARCH_MAX_PAGE_SIZE", 100)
# Creators per analysis task (`manage.py analyze_creators` queues one task per chunk).
CREATOR_ANALYSIS_CHUNK = env_int("CREATOR_ANALYSIS_CHUNK", 500)
# Dotted paths of the analyzers `manage.py analyze_creators` runs (creators.analysis.base.Analyzer).
CREATOR_ANALYZERS = env_list("CREATOR_ANALYZERS", [
    "creators.analysis.language.LanguageAnalyzer",
    "creators.analysis.sentiment.SentimentAnalyzer",
    "creators.analysis.topics.TopicsAnalyzer",
    "creators.analysis.brand_safety.BrandSafetyAnalyzer",
    "creators.analysis.quality.QualityAnalyzer",
])

# --- Transcription ----------------------------------------------------------------------
TRANSCRIPTION_MODEL = env_str("TRANSCRIPTION_MODEL")  # None: the shipped tiny.en model
TRANSCRIPTION_MAX_STREAMS = env_int("TRANSCRIPTION_MAX_STREAMS", 2)
# One account holds at most this many of those slots (a live session may still take the slot of the
# user stream idle longest: docs/security.md, "## Transcription slots").
TRANSCRIPTION_MAX_STREAMS_PER_USER = env_int("TRANSCRIPTION_MAX_STREAMS_PER_USER", 1)
# "embedded": recorders run inside each daphne process; "worker": `manage.py transcription_worker`
# runs them and daphne only relays frames over the channel layer (needs REDIS_URL).
TRANSCRIPTION_ENGINE = env_str("TRANSCRIPTION_ENGINE", "embedded")
if TRANSCRIPTION_ENGINE not in ("embedded", "worker"):
    raise ImproperlyConfigured("TRANSCRIPTION_ENGINE must be 'embedded' or 'worker'.")
if TRANSCRIPTION_ENGINE == "worker" and not REDIS_URL:
    raise ImproperlyConfigured("TRANSCRIPTION_ENGINE=worker needs REDIS_URL: frames reach the worker through Redis.")
TRANSCRIPTION_ENGINE_CHANNEL = env_str("TRANSCRIPTION_ENGINE_CHANNEL", "transcription-engine")
TRANSCRIPTION_IDLE_TIMEOUT = env_float("TRANSCRIPTION_IDLE_TIMEOUT", 30.0)  # seconds without voiced audio
TRANSCRIPTION_KEEP_WARM = env_float("TRANSCRIPTION_KEEP_WARM", 300.0)  # an unused loaded recorder lives this long
TRANSCRIPTION_MAX_FRAME_BYTES = env_int("TRANSCRIPTION_MAX_FRAME_BYTES", 64000)  # 2 s of 16 kHz PCM16
TRANSCRIPTION_MAX_AUDIO_RATE = env_float("TRANSCRIPTION_MAX_AUDIO_RATE", 8.0)  # x real time, averaged
TRANSCRIPTION_AUDIO_BURST_SECONDS = env_float("TRANSCRIPTION_AUDIO_BURST_SECONDS", 10.0)
TRANSCRIPTION_POST_SPEECH_SILENCE = env_float("TRANSCRIPTION_POST_SPEECH_SILENCE", 0.4)
TRANSCRIPTION_SHUTDOWN_GRACE = env_float("TRANSCRIPTION_SHUTDOWN_GRACE", 10.0)
# Open sockets re-ask who may listen/speak once their answer is this old (leave, delete, grant revoked).
TRANSCRIPTION_ACCESS_RECHECK_SECONDS = env_float("TRANSCRIPTION_ACCESS_RECHECK_SECONDS", 5.0)

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
