"""Encryption at rest for OAuth tokens: Fernet under a key derived from TOKEN_ENCRYPTION_KEY.

Any string works as TOKEN_ENCRYPTION_KEY: HKDF-SHA256 turns it into the 32-byte Fernet key, so
operators can paste any long random value. Without it, development (DEBUG) derives a key from
SECRET_KEY; production refuses to store tokens rather than protect them with a guessable key.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from calendars.errors import TokenDecryptionFailed, TokenEncryptionNotConfigured

_SALT = b"flashlearn.calendars.tokens.v1"
_INFO = b"oauth-token-encryption"


def _derive(material: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


@lru_cache(maxsize=8)
def _fernet(current: str | None, old: tuple[str, ...], secret_key: str, debug: bool) -> MultiFernet:
    if not current:
        if not debug:
            raise TokenEncryptionNotConfigured()
        current = f"debug-only:{secret_key}"
    return MultiFernet([_derive(current), *(_derive(k) for k in old if k)])


def _cipher() -> MultiFernet:
    return _fernet(settings.TOKEN_ENCRYPTION_KEY, tuple(settings.TOKEN_ENCRYPTION_OLD_KEYS),
                   settings.SECRET_KEY, settings.DEBUG)


def encryption_available() -> bool:
    try:
        _cipher()
    except TokenEncryptionNotConfigured:
        return False
    return True


def encrypt_token(value: str | None) -> str:
    """Ciphertext for `value`; the empty string stays empty (no token stored)."""
    if not value:
        return ""
    return _cipher().encrypt(value.encode()).decode()


def decrypt_token(value: str | None) -> str:
    if not value:
        return ""
    try:
        return _cipher().decrypt(value.encode()).decode()
    except InvalidToken:
        raise TokenDecryptionFailed() from None
