"""Token encryption at rest."""

from __future__ import annotations

import pytest

from calendars.encryption import decrypt_token, encrypt_token
from calendars.errors import TokenDecryptionFailed, TokenEncryptionNotConfigured


def test_round_trip_with_any_string_key(settings):
    settings.TOKEN_ENCRYPTION_KEY = "any string at all, even with spaces ✓"
    secret = "1//refresh-token-value"

    sealed = encrypt_token(secret)

    assert secret not in sealed and sealed != encrypt_token(secret)  # random IV each time
    assert decrypt_token(sealed) == secret
    assert encrypt_token("") == "" and decrypt_token("") == ""


def test_production_without_a_key_refuses(settings):
    settings.TOKEN_ENCRYPTION_KEY = None
    settings.DEBUG = False

    with pytest.raises(TokenEncryptionNotConfigured):
        encrypt_token("x")


def test_debug_without_a_key_derives_one_from_the_secret_key(settings):
    settings.TOKEN_ENCRYPTION_KEY = None
    settings.DEBUG = True

    assert decrypt_token(encrypt_token("x")) == "x"


def test_old_keys_still_decrypt_after_rotation(settings):
    settings.TOKEN_ENCRYPTION_KEY = "first-key-0123456789"
    sealed = encrypt_token("token")
    settings.TOKEN_ENCRYPTION_KEY = "second-key-0123456789"

    with pytest.raises(TokenDecryptionFailed):
        decrypt_token(sealed)
    settings.TOKEN_ENCRYPTION_OLD_KEYS = ["first-key-0123456789"]
    assert decrypt_token(sealed) == "token"
