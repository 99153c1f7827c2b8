"""DATABASE_URL parsing: the mistakes people bring from Flask/SQLAlchemy on Supabase.

`database_config()` turns a URL into a Django DATABASES entry, or raises
ImproperlyConfigured with a message that names the variable and never the password.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
from urllib.parse import parse_qsl, urlsplit

import dj_database_url
import psycopg
from django.core.exceptions import ImproperlyConfigured

from flashlearn.breaker import DATABASE, breaker_for

# SQLAlchemy spells the driver into the scheme; Django picks the driver itself.
_SQLALCHEMY_SCHEMES = {
    "postgresql+psycopg2": "postgresql",
    "postgresql+psycopg": "postgresql",
    "postgresql+psycopg3": "postgresql",
    "postgresql+asyncpg": "postgresql",
    "postgresql+pg8000": "postgresql",
    "postgres+psycopg2": "postgresql",
}
# libpq connection parameters passed through to psycopg as they are.
_LIBPQ_OPTIONS = {
    "sslmode", "sslrootcert", "sslcert", "sslkey", "sslcrl", "sslpassword",
    "sslnegotiation", "sslcompression", "target_session_attrs", "application_name",
    "connect_timeout", "options", "keepalives", "keepalives_idle", "channel_binding",
    "gssencmode", "require_auth",
}
# Query keys that only mean something to a pooler or to SQLAlchemy; dropped before psycopg.
_POOLER_FLAGS = {"pgbouncer", "pool_mode"}
_TRANSACTION_POOLER_PORT = 6543
# PostgreSQL through flashlearn/backends/postgresql: Django's backend with a circuit breaker.
POSTGRES_ENGINE = "flashlearn.backends.postgresql"
# How long psycopg_pool keeps retrying a failed connection in the background before it gives up
# and grows again on the next request. Its own default (5 min, backing off to ~1 min between
# tries) would keep the pool empty for up to a minute after the database is back.
POOL_RECONNECT_TIMEOUT = 1.0
# SQLite as a server's database: readers never block the writer (WAL), a write transaction takes
# the write lock when it begins (IMMEDIATE: no deadlock when two readers both try to upgrade, which
# SQLite answers with an instant "database is locked"), and writers queue for the lock instead of
# failing (timeout, seconds). synchronous=NORMAL is durable under WAL except on power loss.
SQLITE_INIT_COMMAND = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"
_URL_FORM = "use postgres://USER:PASSWORD@HOST:PORT/NAME"


def redact(url: str) -> str:
    """The URL with its password replaced, safe for an error message or a log line.

    Works on URLs that do not parse: an unescaped '@', '/', '#' or '?' in the password is
    exactly the mistake that makes a URL unparseable, so everything from the first ':' after
    the user up to the LAST '@' is hidden, and so is any password=... query value.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        if not re.search(r"[@/]", url):
            return "(value hidden: not a URL)"  # a bare word may be the password itself
        scheme, rest = "", url  # no scheme typed: 'user:password@host/db' still hides it
    if "@" in rest:
        userinfo, _, host = rest.rpartition("@")
        user = re.split(r"[:/?#]", userinfo, maxsplit=1)[0]
        rest = f"{user}:****@{host}" if userinfo != user else f"{user}@{host}"
    return re.sub(r"(?i)(password=)[^&]*", r"\1****", f"{scheme}{sep}{rest}")


def _fail(variable: str, problem: str, fix: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{variable} {problem}. Fix: {fix}")


def normalize_url(url: str, *, variable: str = "DATABASE_URL") -> tuple[str, dict[str, str]]:
    """Return (URL Django understands, query options) or raise ImproperlyConfigured."""
    url = url.strip().strip('"').strip("'")
    pasted = re.match(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", url)
    if pasted:
        name = pasted.group(1)
        raise _fail(
            variable,
            f"starts with '{name}=' (a pasted KEY=VALUE line)",
            f"set the value to the URL alone, without the leading '{name}='",
        )
    try:
        parts = urlsplit(url)
    except ValueError:
        raise _fail(variable, "cannot be parsed as a URL", _URL_FORM) from None
    scheme = parts.scheme.lower()
    scheme = _SQLALCHEMY_SCHEMES.get(scheme, scheme)
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        shown = parts.scheme or "(none)"
        raise _fail(
            variable,
            f"has an unsupported scheme {shown!r} in {redact(url)}",
            "use postgres://USER:PASSWORD@HOST:PORT/NAME or sqlite:///PATH",
        )
    if scheme != "sqlite":
        try:
            parts.port  # noqa: B018 - raises ValueError on a non-numeric port
        except ValueError:
            raise _fail(variable, f"has an invalid port in {redact(url)}", "check HOST:PORT") from None
        if not parts.hostname and not parse_qsl(parts.query):
            raise _fail(variable, f"has no host in {redact(url)}", _URL_FORM)
        if not parts.path.strip("/"):
            raise _fail(variable, f"has no database name in {redact(url)}", "end the URL with /DATABASE_NAME")
        if "@" in parts.path:
            # postgres://u:pa@ss/word@host/db: the unescaped '@' and '/' put the host in the path.
            raise _fail(
                variable,
                f"has an '@' after the host in {redact(url)}",
                "percent-encode reserved characters in the password (@ as %40, / as %2F)",
            )
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    # Swap the scheme textually: urlunsplit would fold sqlite:////abs/path into a host.
    clean = scheme + url[len(parts.scheme):].split("?", 1)[0].split("#", 1)[0]
    return clean, query


def is_transaction_pooler(*, port: int | None, query: dict[str, str], pool_mode: str | None) -> bool:
    if pool_mode:
        return pool_mode.strip().lower() == "transaction"
    if query.get("pgbouncer", "").lower() in {"1", "true", "yes"}:
        return True
    if query.get("pool_mode", "").lower() == "transaction":
        return True
    return port == _TRANSACTION_POOLER_PORT


def database_config(
    url: str,
    *,
    variable: str = "DATABASE_URL",
    pool_mode: str | None = None,
    pool_min: int = 2,
    pool_max: int = 10,
    pool_timeout: float = 5.0,
    connect_timeout: int = 5,
    sqlite_timeout: float = 20.0,
) -> dict:
    """A Django DATABASES entry for `url`.

    Behind a transaction pooler (PgBouncer, Supabase's 6543) a connection is shared
    between clients between transactions, so server-side cursors and prepared
    statements break and persistent connections are pointless: all three go off.
    Otherwise psycopg's own pool serves the process (CONN_MAX_AGE stays 0: under ASGI
    each thread would keep its own connection and PostgreSQL runs out of slots).
    """
    clean, query = normalize_url(url, variable=variable)
    try:
        config = dj_database_url.parse(clean, conn_max_age=0, conn_health_checks=False)
    except Exception:  # dj-database-url raises several types; none may carry the password out
        raise _fail(variable, f"cannot be parsed: {redact(url)}", _URL_FORM) from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE", "timeout": sqlite_timeout, "init_command": SQLITE_INIT_COMMAND,
        }
        return config
    config["ENGINE"] = POSTGRES_ENGINE

    if pool_mode and pool_mode.strip().lower() not in {"transaction", "session"}:
        raise _fail("DB_POOL_MODE", f"is {pool_mode!r}", "use 'transaction' or 'session', or leave it unset")
    if not 0 <= pool_min <= pool_max or pool_max < 1 or pool_timeout <= 0:
        # psycopg_pool would only raise at the first query, as a 500 on every request.
        raise _fail(
            "DB_POOL_MIN_SIZE/DB_POOL_MAX_SIZE/DB_POOL_TIMEOUT",
            f"are {pool_min}/{pool_max}/{pool_timeout}",
            "use 0 <= DB_POOL_MIN_SIZE <= DB_POOL_MAX_SIZE, DB_POOL_MAX_SIZE >= 1, and a DB_POOL_TIMEOUT above 0",
        )

    options: dict = {}
    for key, value in query.items():
        if key in _LIBPQ_OPTIONS:
            options[key] = value
        elif key not in _POOLER_FLAGS:
            raise _fail(
                variable,
                f"has an unknown query parameter {key!r}",
                f"remove it; known ones are {', '.join(sorted(_LIBPQ_OPTIONS | _POOLER_FLAGS))}",
            )
    options.setdefault("connect_timeout", str(connect_timeout))
    port = int(config["PORT"]) if config.get("PORT") else None
    if is_transaction_pooler(port=port, query=query, pool_mode=pool_mode):
        options["prepare_threshold"] = None
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
        config["CONN_MAX_AGE"] = 0
        config["CONN_HEALTH_CHECKS"] = False
    else:
        # With CONN_HEALTH_CHECKS on, Django hands the pool `check=ConnectionPool.check_connection`
        # (so "check" must not be repeated here): a pooled connection is pinged before use, and
        # one the server dropped is replaced instead of failing the request.
        options["pool"] = {
            "min_size": pool_min, "max_size": pool_max, "timeout": pool_timeout,
            "reconnect_timeout": POOL_RECONNECT_TIMEOUT, "connection_class": BreakerConnection,
        }
        config["CONN_HEALTH_CHECKS"] = True
    config["OPTIONS"] = options
    return config


class BreakerConnection(psycopg.Connection):
    """The pool's connections: each connect, the pool's own background ones included, tells the
    database breaker whether PostgreSQL answered, so that the first refused reconnect opens the
    circuit instead of the first request that waited out the whole pool timeout."""

    @classmethod
    def connect(cls, conninfo: str = "", **kwargs):
        breaker = breaker_for(DATABASE)
        try:
            connection = super().connect(conninfo, **kwargs)
        except psycopg.Error as exc:
            breaker.failed(exc)
            raise
        breaker.succeeded()
        return connection


_NOT_LIBPQ = {"cursor_factory", "context", "prepare_threshold", "pool", "autocommit"}


def postgres_probe(conn_params: dict, *, timeout: float) -> None:
    """SELECT 1 over a connection of its own (never the pool's), given up after `timeout` seconds.

    The bound holds whatever the server does (refuses, accepts and says nothing, stalls mid-query):
    libpq's connect_timeout is whole seconds, at least 2, and nothing bounds a stalled query, so
    the probe runs on asyncio and is cancelled at the deadline. Raises psycopg.OperationalError.
    """
    params = {key: value for key, value in conn_params.items() if key not in _NOT_LIBPQ}

    async def probe() -> None:
        connection = None
        try:
            async with asyncio.timeout(timeout):
                connection = await psycopg.AsyncConnection.connect(**params, autocommit=True)
                await connection.execute("SELECT 1")
        except TimeoutError:
            raise psycopg.OperationalError(f"no answer from the database within {timeout:g}s") from None
        finally:
            if connection is not None:
                await connection.close()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(probe())
        return
    # Called from a thread that runs an event loop: the probe gets a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        executor.submit(asyncio.run, probe()).result()
