"""Supabase's public signing keys (JWT signing keys: ES256 or RS256, published as a JWKS).

PyJWKClient fetches and caches the key set (`SUPABASE_JWKS_CACHE_SECONDS`); a token whose `kid`
is not in the cached set refetches it at most once per `SUPABASE_JWKS_REFETCH_SECONDS` (so junk
tokens with random kids cannot hammer the endpoint), within `SUPABASE_JWKS_TIMEOUT`. A key removed
from the set stops verifying once the cached copy ages out. An unreachable or broken endpoint is
JwksUnavailable (503 with Retry-After), never a 401: the token may be fine.
"""

from __future__ import annotations

import functools
import http.client
import logging
import threading
import time

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from django.conf import settings

from accounts.errors import JwksUnavailable, TokenInvalid

logger = logging.getLogger("accounts")
RETRY_AFTER_SECONDS = 5
_FETCH_ERRORS = (jwt.PyJWTError, OSError, ValueError, http.client.HTTPException)


def supabase_issuer() -> str | None:
    """`iss` every Supabase token must carry, when SUPABASE_URL is set."""
    return f"{settings.SUPABASE_URL.rstrip('/')}/auth/v1" if settings.SUPABASE_URL else None


def jwks_url() -> str | None:
    issuer = supabase_issuer()
    return settings.SUPABASE_JWKS_URL or (f"{issuer}/.well-known/jwks.json" if issuer else None)


def algorithm_for(key) -> str | None:
    """The one algorithm a public key verifies: decided by the key, whatever a token header says."""
    if isinstance(key, EllipticCurvePublicKey) and isinstance(key.curve, SECP256R1):
        return "ES256"
    if isinstance(key, RSAPublicKey) and key.key_size >= 2048:
        return "RS256"
    return None  # symmetric, private, other curves: never from a published key set


class SigningKeys:
    """One JWKS endpoint's keys. Thread-safe; one instance per process and configuration."""

    def __init__(self, url: str, *, lifespan: float, refetch_interval: float, timeout: float):
        self.client = jwt.PyJWKClient(url, cache_keys=False, cache_jwk_set=True, lifespan=lifespan, timeout=timeout)
        self.refetch_interval = refetch_interval
        self._lock = threading.Lock()
        self._last_refetch = float("-inf")
        self._down_until = float("-inf")

    def key_for(self, kid) -> tuple[object, str]:
        """(public key, algorithm) for a token's `kid`; TokenInvalid when no usable key has it."""
        if not isinstance(kid, str) or not kid:
            raise TokenInvalid()
        jwk = self._match(kid, refresh=False)
        if jwk is None and self._may_refetch():
            jwk = self._match(kid, refresh=True)
        algorithm = algorithm_for(jwk.key) if jwk is not None else None
        if algorithm is None:
            raise TokenInvalid()
        return jwk.key, algorithm

    def _may_refetch(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now - self._last_refetch < self.refetch_interval:
                return False
            self._last_refetch = now
            return True

    def _match(self, kid: str, *, refresh: bool):
        if time.monotonic() < self._down_until:  # failed just now: answer at once, not after a timeout
            raise JwksUnavailable(retry_after=RETRY_AFTER_SECONDS)
        try:
            keys = self.client.get_signing_keys(refresh=refresh)
        except _FETCH_ERRORS as exc:
            self._down_until = time.monotonic() + min(self.refetch_interval, RETRY_AFTER_SECONDS)
            logger.warning("supabase jwks unavailable: %s", exc.__class__.__name__)
            raise JwksUnavailable(retry_after=RETRY_AFTER_SECONDS) from None
        return jwt.PyJWKClient.match_kid(keys, kid)


@functools.lru_cache(maxsize=4)
def _signing_keys(url: str, lifespan: float, refetch_interval: float, timeout: float) -> SigningKeys:
    return SigningKeys(url, lifespan=lifespan, refetch_interval=refetch_interval, timeout=timeout)


def supabase_signing_keys() -> SigningKeys | None:
    """The configured JWKS (SUPABASE_JWKS_URL, or derived from SUPABASE_URL), or None."""
    url = jwks_url()
    if not url:
        return None
    return _signing_keys(
        url, settings.SUPABASE_JWKS_CACHE_SECONDS, settings.SUPABASE_JWKS_REFETCH_SECONDS,
        settings.SUPABASE_JWKS_TIMEOUT,
    )
