"""Bearer tokens for DRF and websockets: our own access tokens first, then Supabase-style ones.

A token valid for neither is a 401 with code `token_expired` or `token_invalid` and nothing more.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings

from accounts.request_meta import RequestMeta
from accounts.stats import CACHE_ERRORS, stat_incr

# DRF imports this module while `rest_framework.views` is still loading (DEFAULT_AUTHENTICATION_CLASSES),
# and flashlearn.errors imports from that module: everything that reaches it is imported lazily below.

# One audit row per distinct rejected token per this many seconds: a client retrying a dead token
# in a loop (or an attacker) must not turn every request into a database write.
REJECTION_LOG_INTERVAL = 300


class TokenRejected(exceptions.AuthenticationFailed):
    """401 whose code says whether the token expired or is otherwise unusable."""

    def __init__(self, error):
        super().__init__(detail=error.message, code=error.code)


def authenticate_token(raw: str, *, meta: RequestMeta | None = None) -> tuple:
    """(user, validated token or external claims) for a raw bearer token.

    Raises TokenExpired / TokenInvalid. Our tokens are tried first; external tokens only when
    SUPABASE_JWT_SECRET is set.
    """
    from accounts.errors import TokenExpired, TokenInvalid
    from accounts.models import User
    from accounts.services import external_user_sync
    from accounts.tokens import access_token_decode, external_token_decode

    try:
        token = access_token_decode(raw)
    except TokenInvalid as own_error:
        try:
            claims = external_token_decode(raw)
        except TokenInvalid as external_error:
            expired = isinstance(own_error, TokenExpired) or isinstance(external_error, TokenExpired)
            raise (TokenExpired() if expired else TokenInvalid()) from None
        return external_user_sync(claims=claims, meta=meta), claims
    user = User.objects.filter(pk=token.get(api_settings.USER_ID_CLAIM)).first()
    if user is None or not user.is_active:
        raise TokenInvalid()
    return user, token


def token_rejection_record(raw: str, error, meta: RequestMeta | None) -> None:
    from accounts.models import AuthEvent
    from accounts.services import auth_event_record

    stat_incr("token_rejected")
    fingerprint = hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()[:24]
    try:
        first_sight = cache.add(f"accounts:rejected:{fingerprint}", 1, timeout=REJECTION_LOG_INTERVAL)
    except CACHE_ERRORS:
        first_sight = True  # without the cache, audit every rejection rather than none
    if first_sight:
        auth_event_record(kind=AuthEvent.Kind.TOKEN_REJECTED, meta=meta, detail=error.code)


class BearerAuthentication(JWTAuthentication):
    """DRF default authentication class (settings.REST_FRAMEWORK)."""

    def authenticate(self, request):
        header = self.get_header(request)
        if header is None:
            return None
        parts = header.split()
        if not parts or parts[0] not in {h.encode() for h in api_settings.AUTH_HEADER_TYPES}:
            return None
        if len(parts) != 2:
            from accounts.errors import TokenInvalid

            raise TokenRejected(TokenInvalid())
        raw = parts[1].decode("latin-1")
        from accounts.errors import TokenInvalid

        try:
            return authenticate_token(raw, meta=RequestMeta.from_request(request))
        except TokenInvalid as error:
            token_rejection_record(raw, error, RequestMeta.from_request(request))
            raise TokenRejected(error) from None


def user_for_token(raw_token: str, meta: RequestMeta | None = None):
    """The active user a raw access token belongs to, or None. Used by the websocket middleware."""
    from accounts.errors import TokenInvalid

    try:
        user, _ = authenticate_token(raw_token, meta=meta)
        return user
    except TokenInvalid as error:
        token_rejection_record(raw_token, error, meta)
        return None
