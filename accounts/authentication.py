"""Bearer tokens for DRF and websockets: our own access tokens first, then Supabase-style ones.

A token valid for neither is a 401 with code `token_expired` or `token_invalid` and nothing more.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings

from accounts.request_meta import RequestMeta
from accounts.stats import stat_incr
from flashlearn.counters import CACHE_ERRORS, cache_incr

# DRF imports this module while `rest_framework.views` is still loading (DEFAULT_AUTHENTICATION_CLASSES),
# and flashlearn.errors imports from that module: everything that reaches it is imported lazily below.

# One audit row per distinct rejected token per this many seconds: a client retrying a dead token
# in a loop (or an attacker) must not turn every request into a database write. Distinct tokens are
# further limited per client IP (TOKEN_REJECTION_AUDIT_PER_IP per TOKEN_REJECTION_AUDIT_WINDOW).
REJECTION_LOG_INTERVAL = 300


class TokenRejected(exceptions.AuthenticationFailed):
    """401 whose code says whether the token expired or is otherwise unusable."""

    def __init__(self, error):
        super().__init__(detail=error.message, code=error.code)


def authenticate_token(raw: str, *, meta: RequestMeta | None = None) -> tuple:
    """(user, validated token or external claims) for a raw bearer token.

    Raises TokenExpired / TokenInvalid, or JwksUnavailable (503) when a Supabase token cannot be
    checked for now. Our tokens are tried first; external tokens only when SUPABASE_JWT_SECRET or
    a Supabase JWKS is configured.
    """
    from accounts.errors import TokenExpired, TokenInvalid
    from accounts.models import User
    from accounts.services import external_user_sync
    from accounts.tokens import access_token_decode, external_token_decode, token_version_of

    try:
        token = access_token_decode(raw)
    except TokenExpired:
        raise  # signed with our key: it is ours, and only expired (no need to ask Supabase's keys)
    except TokenInvalid as own_error:
        try:
            claims = external_token_decode(raw)
        except TokenInvalid as external_error:
            expired = isinstance(own_error, TokenExpired) or isinstance(external_error, TokenExpired)
            raise (TokenExpired() if expired else TokenInvalid()) from None
        return external_user_sync(claims=claims, meta=meta), claims
    user = User.objects.filter(pk=token.get(api_settings.USER_ID_CLAIM)).first()
    if user is None or not user.is_active or token_version_of(token) != user.token_version:
        raise TokenInvalid()  # deleted, deactivated, or the password changed since it was issued
    return user, token


def token_rejection_record(raw: str, error, meta: RequestMeta | None) -> None:
    """Audit a rejected token, at most once per distinct token and TOKEN_REJECTION_AUDIT_PER_IP
    times per IP and window; beyond that only counted, and the count written as one summary row
    by the first rejection of the next window."""
    from accounts.models import AuthEvent
    from accounts.services import auth_event_record

    stat_incr("token_rejected")
    fingerprint = hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()[:24]
    try:
        if not cache.add(f"accounts:rejected:{fingerprint}", 1, timeout=REJECTION_LOG_INTERVAL):
            return
        within_limit, suppressed_before = _rejection_ip_budget(meta)
    except CACHE_ERRORS:
        within_limit, suppressed_before = True, 0  # without the cache, audit every rejection rather than none
    if suppressed_before:
        auth_event_record(
            kind=AuthEvent.Kind.TOKEN_REJECTED, meta=meta,
            detail=f"rate_limited: {suppressed_before} more rejected tokens from this address not logged",
        )
    if within_limit:
        auth_event_record(kind=AuthEvent.Kind.TOKEN_REJECTED, meta=meta, detail=error.code)


def _rejection_ip_budget(meta: RequestMeta | None) -> tuple[bool, int]:
    """(may this rejection be audited, rejections left unaudited in this IP's previous window)."""
    window = max(1, settings.TOKEN_REJECTION_AUDIT_WINDOW)
    ip = (meta.ip if meta else None) or "unknown"
    current = int(time.time() // window)
    count = cache_incr(f"accounts:rejected-ip:{ip}:{current}", timeout=2 * window)
    suppressed_before = 0
    if count == 1:  # exactly one request opens a window: it reports what the last one suppressed
        previous = cache.get(f"accounts:rejected-ip:{ip}:{current - 1}") or 0
        suppressed_before = max(0, int(previous) - settings.TOKEN_REJECTION_AUDIT_PER_IP)
    return count <= settings.TOKEN_REJECTION_AUDIT_PER_IP, suppressed_before


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
    """The active user a raw access token belongs to, or None."""
    found = socket_credentials_for_token(raw_token, meta)
    return found[0] if found else None


@dataclass(frozen=True)
class SocketCredentials:
    """What an open websocket was authenticated with; it lives only as long as these hold."""

    user_id: int
    token_version: int
    expires_at: float  # the token's `exp`, epoch seconds
    session_id: str | None = None  # ours: the refresh-token session, ended by logout


def socket_credentials_for_token(raw_token: str, meta: RequestMeta | None = None) -> tuple | None:
    """(user, SocketCredentials) for a websocket's token, or None (the rejection is audited).
    JwksUnavailable propagates: the middleware answers "try again later", not 4401."""
    from accounts.errors import TokenInvalid
    from accounts.tokens import SESSION_CLAIM, ExternalClaims, session_is_live

    try:
        user, token = authenticate_token(raw_token, meta=meta)
        if isinstance(token, ExternalClaims):
            return user, SocketCredentials(user.pk, user.token_version, float(token.exp))
        session_id = token.get(SESSION_CLAIM) if isinstance(token.get(SESSION_CLAIM), str) else None
        if session_id and not session_is_live(user_id=user.pk, session_id=session_id):
            raise TokenInvalid()  # its session was logged out
        return user, SocketCredentials(user.pk, user.token_version, float(token["exp"]), session_id)
    except TokenInvalid as error:
        token_rejection_record(raw_token, error, meta)
        return None


def socket_credentials_hold(credentials: SocketCredentials) -> bool:
    """Are an open socket's credentials still good (one or two indexed reads)? Expiry is the
    caller's to check: it needs no database."""
    from accounts.models import User
    from accounts.tokens import session_is_live

    row = User.objects.filter(pk=credentials.user_id).values_list("token_version", "is_active").first()
    if row is None or not row[1] or row[0] != credentials.token_version:
        return False
    return not credentials.session_id or session_is_live(
        user_id=credentials.user_id, session_id=credentials.session_id
    )
