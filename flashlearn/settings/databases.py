"""The database (DATABASE_URL, poolers), and how outages of the database and the cache are met."""

from __future__ import annotations

from flashlearn.database import database_config
from flashlearn.env import env_float, env_int, env_str
from flashlearn.settings.base import BASE_DIR, SCHEMA_MODE

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
# Schema mode (SCHEMA_MODE=true: `make migrate`, the release step) connects through DIRECT_DATABASE_URL
# when it is set: a session pooler or the direct host, because DDL through a transaction pooler is
# unsafe. Everything else uses DATABASE_URL; `migrate` there refuses while DIRECT_DATABASE_URL is set
# (flashlearn.E001, flashlearn/checks.py).
DIRECT_DATABASE_URL = env_str("DIRECT_DATABASE_URL")
if DIRECT_DATABASE_URL and SCHEMA_MODE:
    DATABASES["default"] = database_config(
        DIRECT_DATABASE_URL, variable="DIRECT_DATABASE_URL", **{**_db_options, "pool_mode": "session"}
    )
_test_db_name = env_str("DATABASE_TEST_NAME")
if _test_db_name:
    DATABASES["default"]["TEST"] = {"NAME": _test_db_name}
