"""A real PgBouncer in transaction mode: migrate through DIRECT_DATABASE_URL (SCHEMA_MODE=true), then serve through
the pooler."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from bench.core import free_port, stop_process
from flashlearn.tests.live import manage, project_env

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not Path(PGBOUNCER).exists(), reason="PgBouncer is not installed (apt-get install pgbouncer)"),
]

USERS_SCRIPT = """
from django.contrib.auth import get_user_model
from django.db import connection
User = get_user_model()
n = User.objects.count()
User.objects.create_user(email=f"pooled{n}@example.com", password="pooled password 1")
# iterator() would use a server-side cursor, which a transaction pooler breaks: they must be off.
emails = [u.email for u in User.objects.order_by("pk").iterator(chunk_size=1)]
print("PORT", connection.settings_dict["PORT"], "COUNT", len(emails), "PREPARE",
      connection.connection.prepare_threshold)
"""


def _postgres_params() -> dict:
    from django.db import connection

    settings = connection.settings_dict
    return {
        "host": settings["HOST"] or "127.0.0.1",
        "port": int(settings["PORT"] or 5432),
        "user": settings["USER"] or "postgres",
        "password": settings["PASSWORD"] or "",
        "test_name": settings.get("TEST", {}).get("NAME") or f"test_{settings['NAME']}",
    }


def _admin(pg: dict, sql: str) -> None:
    import psycopg

    with psycopg.connect(host=pg["host"], port=pg["port"], user=pg["user"], password=pg["password"],
                         dbname="postgres", autocommit=True) as conn:
        conn.execute(sql)


def _url(user: str, password: str, host: str, port: int, name: str, query: str = "") -> str:
    auth = f"{user}:{password}" if password else user
    return f"postgres://{auth}@{host}:{port}/{name}{query}"


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"pgbouncer exited with {proc.returncode}: {log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"pgbouncer did not listen on {port}: {log.read_text()}")


@pytest.fixture
def scratch_database():
    pg = _postgres_params()
    name = f"{pg['test_name']}_pgbouncer"
    _admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(pg, f'CREATE DATABASE "{name}"')
    yield pg, name
    _admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def pgbouncer(pg: dict, name: str, port: int):
    """PgBouncer in transaction mode on 127.0.0.1:`port`, in front of database `name`."""
    workdir = Path(tempfile.mkdtemp(prefix="flashlearn-pgbouncer-"))
    workdir.chmod(0o755)  # pgbouncer drops root for the postgres user, which must read the config
    (workdir / "users.txt").write_text(f'"{pg["user"]}" "{pg["password"]}"\n')
    (workdir / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"{name} = host={pg['host']} port={pg['port']} dbname={name} user={pg['user']}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {workdir / 'users.txt'}\n"
        f"admin_users = {pg['user']}\n"
        "pool_mode = transaction\n"
        "default_pool_size = 2\n"
        "max_client_conn = 50\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
    )
    for path in workdir.iterdir():
        path.chmod(0o644)
    as_postgres = ["-u", "postgres"] if os.geteuid() == 0 else []  # pgbouncer refuses to run as root
    log = workdir / "pgbouncer.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([PGBOUNCER, *as_postgres, str(workdir / "pgbouncer.ini")],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, proc, log)
        yield proc
    finally:
        stop_process(proc, timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _pgbouncer_transactions(pg: dict, port: int, name: str) -> int:
    """Transactions PgBouncer's admin console counted for `name` (psql: the console speaks simple query only)."""
    result = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", pg["user"], "-d", "pgbouncer", "-A", "-F", "|",
         "-c", "SHOW STATS"],
        capture_output=True, text=True, timeout=20, env={**os.environ, "PGPASSWORD": pg["password"]},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    header = lines[0].split("|")
    for line in lines[1:]:
        row = dict(zip(header, line.split("|"), strict=False))
        if row.get("database") == name:
            return int(row["total_xact_count"])
    return 0


def test_migrate_direct_then_serve_through_transaction_pooler(scratch_database):
    pg, name = scratch_database
    pooler_port = free_port()
    pooled = _url(pg["user"], pg["password"], "127.0.0.1", pooler_port, name, "?pgbouncer=true")
    direct = _url(pg["user"], pg["password"], pg["host"], pg["port"], name)

    # migrate runs BEFORE the pooler exists: it can only succeed through DIRECT_DATABASE_URL.
    env = project_env(DEBUG="true", DATABASE_URL=pooled, DIRECT_DATABASE_URL=direct)
    migrated = manage("migrate", "--noinput", env={**env, "SCHEMA_MODE": "true"}, timeout=240)
    assert migrated.returncode == 0, migrated.stderr[-3000:]

    # Without the pooler the app's own connections fail: they really go to DATABASE_URL.
    refused = manage("shell", "-c", USERS_SCRIPT, env=env)
    assert refused.returncode != 0
    assert "OperationalError" in refused.stderr

    with pgbouncer(pg, name, pooler_port):
        before = _pgbouncer_transactions(pg, pooler_port, name)
        for expected in (1, 2, 3):
            result = manage("shell", "-c", USERS_SCRIPT, env=env)
            assert result.returncode == 0, result.stderr[-3000:]
            assert f"PORT {pooler_port} COUNT {expected} PREPARE None" in result.stdout
        assert _pgbouncer_transactions(pg, pooler_port, name) >= before + 3
