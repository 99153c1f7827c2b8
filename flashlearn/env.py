"""Typed readers for environment variables (only flashlearn/settings/ calls these), and the `.env` loader."""

from __future__ import annotations

import os
from pathlib import Path
from typing import overload

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@overload
def env_str(name: str, default: str) -> str: ...
@overload
def env_str(name: str, default: None = None) -> str | None: ...
def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false, 1/0), got {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}.") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}.") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


# --- .env (local development) ---------------------------------------------------------
# Read by the entry points only (manage.py, asgi.py, wsgi.py), before settings are imported;
# the settings never read the file, so the test settings never see it.

DOTENV_VARIABLE = "DOTENV_FILE"


def read_dotenv(path: Path) -> dict[str, str]:
    """`KEY=value` lines: blank lines and `#` comments skipped, an optional `export ` prefix,
    values optionally in single or double quotes (no interpolation, no multi-line values)."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.isidentifier():
            raise ImproperlyConfigured(f"{path}:{number}: expected KEY=value, got {line[:40]!r}.")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def load_dotenv(default_path: Path) -> Path | None:
    """Copy the variables of a `.env` file into the environment, except those already set there:
    the real environment always wins. DOTENV_FILE names another file; DOTENV_FILE="" reads none
    (the test suite sets that, so a developer's .env cannot change what the tests see).
    Returns the file read, or None."""
    chosen = os.environ.get(DOTENV_VARIABLE)
    if chosen is not None and not chosen.strip():
        return None
    path = Path(chosen.strip()) if chosen else default_path
    if not path.is_file():
        if chosen:
            raise ImproperlyConfigured(f"{DOTENV_VARIABLE}={chosen!r} is not a file.")
        return None
    for key, value in read_dotenv(path).items():
        os.environ.setdefault(key, value)
    return path
