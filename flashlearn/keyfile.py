"""Signing keys that the settings cannot take from the environment: a random per-checkout key file
for development, and a key derived for one purpose from SECRET_KEY. No Django imports: settings
loads this module."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


def key_file_read_or_create(path: Path) -> str:
    """The key stored in `path`, created (random, mode 0600) on first use. Concurrent first uses
    agree: the file appears complete or not at all (written aside, then hard-linked into place)."""
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    if key:
        return key
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(64) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process won; use its key
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_text().strip()


def derived_key(secret: str, *, purpose: str) -> str:
    """A key for `purpose` only: knowing it (or another purpose's) does not reveal `secret`."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()
