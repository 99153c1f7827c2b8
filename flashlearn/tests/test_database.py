"""DATABASE_URL: every form people bring from Flask/SQLAlchemy on Supabase, and every mistake."""

from __future__ import annotations

import contextlib

import pytest
from django.core.exceptions import ImproperlyConfigured

from flashlearn.database import BreakerConnection, database_config, redact
from flashlearn.tests.live import manage, project_env
from flashlearn.tests.settings_env import settings_from_env

PASSWORD = "s3cr3t-Pa55"

SQLITE = "django.db.backends.sqlite3"
POSTGRES = "flashlearn.backends.postgresql"  # Django's, with the database circuit breaker


@pytest.mark.parametrize(
    ("url", "engine", "name", "host", "port", "user"),
    [
        ("sqlite:////tmp/flashlearn-x.sqlite3", SQLITE, "/tmp/flashlearn-x.sqlite3", "", "", ""),
        (f"postgres://app:{PASSWORD}@db.example.com:5432/flash", POSTGRES, "flash", "db.example.com", 5432, "app"),
        (f"postgresql://app:{PASSWORD}@db.example.com/flash", POSTGRES, "flash", "db.example.com", "", "app"),
        (f"postgresql+psycopg2://app:{PASSWORD}@h:5433/flash", POSTGRES, "flash", "h", 5433, "app"),
        (f"postgresql+psycopg://app:{PASSWORD}@h:5433/flash", POSTGRES, "flash", "h", 5433, "app"),
        (f"postgresql+asyncpg://app:{PASSWORD}@h:5433/flash", POSTGRES, "flash", "h", 5433, "app"),
        (f"  'postgres://app:{PASSWORD}@h/flash'  ", POSTGRES, "flash", "h", "", "app"),  # quoted, padded
        # Supabase pooler user names carry the project ref after a dot.
        (f"postgres://postgres.abcd:{PASSWORD}@aws-1.pooler.supabase.com:5432/postgres", POSTGRES, "postgres",
         "aws-1.pooler.supabase.com", 5432, "postgres.abcd"),
    ],
)
def test_url_forms_parse_to_the_right_engine(url, engine, name, host, port, user):
    config = database_config(url)
    assert config["ENGINE"] == engine
    assert str(config["NAME"]) == name
    assert config.get("HOST", "") == host
    assert config.get("PORT", "") == port
    assert config.get("USER", "") == user
    if engine == POSTGRES:
        assert config["PASSWORD"] == PASSWORD


def test_unset_database_url_is_a_sqlite_file(monkeypatch):
    default = settings_from_env(monkeypatch, DATABASE_URL=None, DIRECT_DATABASE_URL=None, DEBUG="true").DATABASES[
        "default"
    ]
    assert default["ENGINE"] == SQLITE
    assert str(default["NAME"]).endswith("db.sqlite3")


def test_password_with_reserved_characters_percent_encoded():
    config = database_config("postgres://app:p%40ss%2Fw%3Ard@h:5432/flash")
    assert config["PASSWORD"] == "p@ss/w:rd"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # A pasted KEY=VALUE line, as in Render/Heroku dashboards.
        (f"DATABASE_URL=postgresql+psycopg2://u:{PASSWORD}@h:6543/postgres", "without the leading 'DATABASE_URL='"),
        (f"export DATABASE_URL=postgres://u:{PASSWORD}@h/db", "without the leading 'DATABASE_URL='"),
        (f"database_url = postgres://u:{PASSWORD}@h/db", "without the leading 'database_url='"),
        # Unparseable or unusable values.
        (f"postgres://u:{PASSWORD}@[::1/db", "cannot be parsed"),
        (f"postgres://u:{PASSWORD}@h:port/db", "invalid port"),
        (f"postgres://u:{PASSWORD}@h:5432", "no database name"),
        (f"postgres://u:{PASSWORD}@h:5432/", "no database name"),
        (f"mysql://u:{PASSWORD}@h/db", "unsupported scheme 'mysql'"),
        (f"h:5432/db?password={PASSWORD}", "unsupported scheme"),
        ("not a url at all", "unsupported scheme"),
        (f"postgres://u:{PASSWORD}@h/db?sslmod=require", "unknown query parameter 'sslmod'"),
        # Unescaped reserved characters in the password split the URL in odd places.
        (f"postgres://u:{PASSWORD}#x@h:5432/db", "invalid port"),
        (f"postgres://u:{PASSWORD}/x@h:5432/db", "invalid port"),
        (f"postgres://u:{PASSWORD}?x@h:5432/db", "invalid port"),
        (f"postgres://u:12#{PASSWORD}@h:5432/db", "no database name"),
        (f"postgres://u:{PASSWORD}@x/y@h:5432/db", "has an '@' after the host"),
        # The scheme forgotten, or the bare password pasted: still never echoed.
        (f"u:{PASSWORD}@h:5432/db", "unsupported scheme 'u'"),
        (PASSWORD, "unsupported scheme"),
    ],
)
def test_bad_values_name_the_variable_and_the_fix_and_never_the_password(url, expected):
    with pytest.raises(ImproperlyConfigured) as info:
        database_config(url, variable="DATABASE_URL")
    message = str(info.value)
    assert message.startswith("DATABASE_URL ")
    assert "Fix: " in message
    assert expected in message
    assert PASSWORD not in message
    # No chained exception (e.g. a ValueError quoting the URL) rides along into the traceback.
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_the_variable_named_is_the_one_that_is_wrong():
    with pytest.raises(ImproperlyConfigured, match=r"^DIRECT_DATABASE_URL starts with"):
        database_config("DIRECT_DATABASE_URL=postgres://u:p@h/db", variable="DIRECT_DATABASE_URL")


@pytest.mark.parametrize(
    "url",
    [
        f"postgres://u:{PASSWORD}@h/db",
        f"postgres://u:{PASSWORD}@x@h/db",
        f"postgres://u:{PASSWORD}/x@h:5432/db",
        f"h/db?sslmode=require&password={PASSWORD}",
    ],
)
def test_redact_hides_the_password_even_in_broken_urls(url):
    assert PASSWORD not in redact(url)
    assert "h" in redact(url)


@pytest.mark.parametrize("variant", ["DATABASE_URL=", "garbage"])
def test_start_up_refuses_a_bad_database_url_without_printing_the_password(variant):
    url = f"postgresql+psycopg2://postgres.ref:{PASSWORD}@aws-1.pooler.supabase.com:6543/postgres"
    value = f"DATABASE_URL={url}" if variant == "DATABASE_URL=" else url.replace(":6543", ":65x3")
    result = manage("check", env=project_env(DEBUG="true", DATABASE_URL=value))
    assert result.returncode != 0
    assert "ImproperlyConfigured: DATABASE_URL" in result.stderr
    assert "Fix: " in result.stderr
    assert PASSWORD not in result.stderr + result.stdout


def test_libpq_options_reach_psycopg():
    config = database_config(
        "postgres://u:p@db.example.com:5432/flash?sslmode=verify-full&sslrootcert=/etc/ssl/supabase.crt"
        "&application_name=flashlearn&target_session_attrs=read-write"
    )
    options = config["OPTIONS"]
    assert options["sslmode"] == "verify-full"
    assert options["sslrootcert"] == "/etc/ssl/supabase.crt"
    assert options["application_name"] == "flashlearn"
    assert options["target_session_attrs"] == "read-write"
    assert options["connect_timeout"] == "5"


def test_connect_timeout_from_the_url_wins_over_the_default():
    config = database_config("postgres://u:p@h:5432/flash?connect_timeout=2", connect_timeout=9)
    assert config["OPTIONS"]["connect_timeout"] == "2"


def _assert_transaction_pooler(config: dict) -> None:
    assert config["OPTIONS"]["prepare_threshold"] is None
    assert config["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert "pool" not in config["OPTIONS"]
    assert config["CONN_MAX_AGE"] == 0
    assert config["CONN_HEALTH_CHECKS"] is False


@pytest.mark.parametrize(
    ("url", "pool_mode"),
    [
        ("postgresql+psycopg2://postgres.ref:p@aws-1.pooler.supabase.com:6543/postgres?sslmode=require", None),
        ("postgres://u:p@pgbouncer.internal:6432/flash?pgbouncer=true", None),
        ("postgres://u:p@pgbouncer.internal:6432/flash?pool_mode=transaction", None),
        ("postgres://u:p@pgbouncer.internal:6432/flash", "transaction"),
        ("postgres://u:p@pgbouncer.internal:6432/flash", " Transaction "),
    ],
)
def test_transaction_pooler_turns_off_prepared_statements_cursors_and_pooling(url, pool_mode):
    config = database_config(url, pool_mode=pool_mode)
    _assert_transaction_pooler(config)
    assert "pgbouncer" not in config["OPTIONS"] and "pool_mode" not in config["OPTIONS"]


def test_transaction_pooler_detection_through_settings_env(monkeypatch):
    reloaded = settings_from_env(
        monkeypatch, DATABASE_URL="postgres://u:p@127.0.0.1:6432/flash", DB_POOL_MODE="transaction"
    )
    _assert_transaction_pooler(reloaded.DATABASES["default"])


def test_session_mode_on_port_6543_keeps_the_pool():
    config = database_config("postgres://u:p@h:6543/flash", pool_mode="session")
    assert "pool" in config["OPTIONS"]


def test_direct_connection_uses_psycopg_pool_sized_from_env(monkeypatch):
    config = settings_from_env(
        monkeypatch, DATABASE_URL="postgres://u:p@db.example.com:5432/flash",
        DB_POOL_MIN_SIZE="3", DB_POOL_MAX_SIZE="17", DB_POOL_TIMEOUT="2.5", DB_POOL_MODE=None,
    ).DATABASES["default"]
    pool = config["OPTIONS"]["pool"]
    assert (pool["min_size"], pool["max_size"], pool["timeout"]) == (3, 17, 2.5)
    # The pool's connects report to the breaker, and it regrows on demand after an outage.
    assert pool["connection_class"] is BreakerConnection
    assert pool["reconnect_timeout"] <= 1.0
    assert config["CONN_HEALTH_CHECKS"] is True
    # Persistent connections pile up under ASGI (one per thread): the pool replaces them.
    assert config["CONN_MAX_AGE"] == 0
    assert "prepare_threshold" not in config["OPTIONS"]
    assert not config.get("DISABLE_SERVER_SIDE_CURSORS")


def test_schema_mode_connects_through_direct_database_url_and_nothing_else_does(monkeypatch):
    import sys

    urls = {
        "DATABASE_URL": "postgres://u:p@pooler.example.com:6543/flash",
        "DIRECT_DATABASE_URL": "postgres://u:p@db.example.com:5432/flash",
    }
    schema = settings_from_env(monkeypatch, SCHEMA_MODE="true", **urls).DATABASES["default"]
    # The command line no longer decides: `manage.py migrate` outside schema mode stays on the pooler
    # (and refuses to migrate there: test_migrate_outside_schema_mode_refuses_while_a_direct_url_is_set).
    monkeypatch.setattr(sys, "argv", ["manage.py", "migrate"])
    serve = settings_from_env(monkeypatch, SCHEMA_MODE=None, **urls).DATABASES["default"]
    assert (schema["HOST"], schema["PORT"]) == ("db.example.com", 5432)
    assert "pool" in schema["OPTIONS"] and not schema.get("DISABLE_SERVER_SIDE_CURSORS")
    assert (serve["HOST"], serve["PORT"]) == ("pooler.example.com", 6543)
    _assert_transaction_pooler(serve)


def _tables(path) -> set[str]:
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_migrate_outside_schema_mode_refuses_while_a_direct_url_is_set(tmp_path):
    pooled, direct = tmp_path / "pooled.sqlite3", tmp_path / "direct.sqlite3"
    env = project_env(DEBUG="true", DATABASE_URL=f"sqlite:///{pooled}", DIRECT_DATABASE_URL=f"sqlite:///{direct}")
    refused = manage("migrate", "--noinput", "-v", "0", env=env)
    assert refused.returncode != 0
    assert "flashlearn.E001" in refused.stderr and "SCHEMA_MODE=true" in refused.stderr
    assert not (pooled.exists() and _tables(pooled)) and not direct.exists()

    migrated = manage("migrate", "--noinput", "-v", "0", env={**env, "SCHEMA_MODE": "true"}, timeout=300)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    assert "django_migrations" in _tables(direct) and "accounts_user" in _tables(direct)
    assert not (pooled.exists() and _tables(pooled))


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_pool_really_serves_queries_on_postgres():
    """Django and psycopg_pool accept the pool options (a duplicate `check` argument once broke this)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    assert connection.pool is not None


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"pool_mode": "transactional"}, "DB_POOL_MODE is 'transactional'"),
        ({"pool_min": 5, "pool_max": 2}, "DB_POOL_MIN_SIZE/DB_POOL_MAX_SIZE/DB_POOL_TIMEOUT are 5/2/5.0"),
        ({"pool_min": 0, "pool_max": 0}, "are 0/0/5.0"),
        ({"pool_timeout": 0}, "are 2/10/0"),
    ],
)
def test_bad_pool_settings_stop_start_up_instead_of_failing_every_request(kwargs, expected):
    # psycopg_pool itself would only raise ValueError at the first query: a 500 per request.
    with pytest.raises(ImproperlyConfigured, match="Fix: ") as info:
        database_config(f"postgres://u:{PASSWORD}@h:5432/flash", **kwargs)
    assert expected in str(info.value) and PASSWORD not in str(info.value)


def test_pool_mode_session_and_min_size_zero_are_accepted():
    config = database_config("postgres://u:p@h:5432/flash", pool_mode="Session", pool_min=0, pool_max=1)
    assert config["OPTIONS"]["pool"]["min_size"] == 0
