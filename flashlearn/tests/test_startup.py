"""Start-up under production settings: SECRET_KEY is required, `check --deploy` is clean."""

from __future__ import annotations

import secrets

from cryptography.fernet import Fernet

from flashlearn.tests.live import manage, project_env
from flashlearn.tests.settings_env import settings_from_env


def production_env(**overrides: str | None) -> dict[str, str]:
    return project_env(**{
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "flashlearn.example.com",
        "DATABASE_URL": "postgres://flashlearn:pw@db.internal:5432/flashlearn?sslmode=require",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        **overrides,
    })


def test_production_refuses_to_start_without_secret_key():
    result = manage("check", env=production_env(SECRET_KEY=None))
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr
    assert "DEBUG" in result.stderr  # the message says how to get going locally


def test_an_empty_secret_key_is_refused_too():
    result = manage("check", env=production_env(SECRET_KEY="   "))
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_starts_without_secret_key():
    result = manage("check", env=project_env(DEBUG="true"))
    assert result.returncode == 0, result.stderr


def test_check_deploy_is_clean_under_production_env():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_check_deploy_flags_a_weak_secret_key():
    """The deploy check is really running: a short key fails it."""
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(SECRET_KEY="short"))
    assert result.returncode != 0
    assert "security.W009" in result.stderr


def test_missing_protective_middleware_is_flagged_by_subclass(settings):
    from flashlearn.checks import required_middleware

    assert required_middleware(None) == []
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "Csrf" not in m]
    (warning,) = required_middleware(None)
    assert warning.id == "flashlearn.W001" and "CsrfViewMiddleware" in warning.msg


def test_makemigrations_check_runs_without_a_secret_key_in_schema_mode():
    # makemigrations peeks at the migration history; give it a closed loopback port, not a real host.
    env = production_env(SECRET_KEY=None, SCHEMA_MODE="true", DATABASE_URL="postgres://u:p@127.0.0.1:1/x")
    result = manage("makemigrations", "--check", "--dry-run", env=env)
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout


def test_runtime_commands_still_refuse_without_a_secret_key():
    result = manage("migrate", "--plan", env=production_env(SECRET_KEY=None))
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_makemigrations_outside_schema_mode_needs_a_secret_key_like_everything_else():
    result = manage("makemigrations", "--check", "--dry-run", env=production_env(SECRET_KEY=None))
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_schema_mode_without_a_secret_key_gets_a_random_one_never_the_public_dev_key(monkeypatch):
    env = {"DEBUG": "false", "SECRET_KEY": None, "SCHEMA_MODE": "true"}
    first = settings_from_env(monkeypatch, **env)
    second = settings_from_env(monkeypatch, **env)
    debug = settings_from_env(monkeypatch, DEBUG="true", SECRET_KEY=None, SCHEMA_MODE=None)
    assert len(first.SECRET_KEY) >= 50 and first.SECRET_KEY != second.SECRET_KEY
    assert debug.SECRET_KEY not in (first.SECRET_KEY, second.SECRET_KEY)
    assert first.SIMPLE_JWT["SIGNING_KEY"] != debug.SIMPLE_JWT["SIGNING_KEY"]
