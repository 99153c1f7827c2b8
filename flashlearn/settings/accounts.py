"""Accounts: passwords, our JWTs, Supabase tokens, sign-up and login limits (docs/accounts.md)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flashlearn.env import env_bool, env_float, env_int, env_str
from flashlearn.keyfile import derived_key, key_file_read_or_create
from flashlearn.settings.base import BASE_DIR, DEBUG, SECRET_KEY

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

AUTH_EVENT_RETENTION_DAYS = env_int("AUTH_EVENT_RETENTION_DAYS", 90)  # the daily prune task keeps this many

# Region assumed for phone numbers written without a +country code.
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "US")
