"""Our JWTs (simplejwt, with every refresh token recorded) and externally issued Supabase tokens.

Every token we issue carries the user's `token_version` (claim `ver`: a password change or a
deactivation bumps it, and every older token dies) and a session id (`sid`, kept across
rotations, so logout can end the websockets of that one session). The recorded refresh token row
keeps the session id, never the raw token (it would work at /refresh for whoever reads it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import jwt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenBackendExpiredToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts.errors import TokenExpired, TokenInvalid

# With the shared secret: HS256 only (`none`, RS256 with our secret as a "public key", etc. are
# refused). With the JWKS, the algorithm comes from the key (accounts.jwks), never the header.
EXTERNAL_ALGORITHMS = ["HS256"]
VERSION_CLAIM = "ver"
SESSION_CLAIM = "sid"


def token_version_of(payload) -> int:
    """A token's `ver` claim; tokens minted before the claim existed count as version 0."""
    value = payload.get(VERSION_CLAIM, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def session_marker(session_id: str | None) -> str:
    """What OutstandingToken.token holds: the session id, not the token."""
    return f"sid:{session_id}" if session_id else ""


def token_pair_issue(user, *, session_id: str | None = None) -> dict[str, str]:
    """A fresh access + refresh pair, the refresh token recorded as outstanding (so logout and
    revocation can always blacklist it; simplejwt #863: tokens minted by its own rotation were
    not recorded). `session_id` continues a session through rotation; None starts one."""
    refresh = RefreshToken()  # simplejwt's for_user would also store the raw token
    refresh[api_settings.USER_ID_CLAIM] = str(user.pk)
    refresh[VERSION_CLAIM] = user.token_version
    refresh[SESSION_CLAIM] = session_id or uuid.uuid4().hex
    OutstandingToken.objects.create(
        user=user,
        jti=refresh[api_settings.JTI_CLAIM],
        token=session_marker(refresh[SESSION_CLAIM]),
        created_at=refresh.current_time,
        expires_at=datetime_from_epoch(refresh["exp"]),
    )
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def session_is_live(*, user_id: int, session_id: str) -> bool:
    """Does the session still hold an unexpired, unrevoked refresh token (logout ends it)?"""
    return OutstandingToken.objects.filter(
        user_id=user_id, token=session_marker(session_id), expires_at__gt=timezone.now(),
        blacklistedtoken__isnull=True,
    ).exists()


def access_token_decode(raw: str) -> AccessToken:
    """Our access token, verified; TokenExpired / TokenInvalid otherwise."""
    try:
        return AccessToken(raw)
    except ExpiredTokenError:
        raise TokenExpired() from None
    except TokenError:
        raise TokenInvalid() from None


def refresh_token_payload(raw: str) -> dict:
    """The verified payload of one of our refresh tokens, blacklisted or not."""
    try:
        payload = token_backend.decode(raw, verify=True)
    except TokenBackendExpiredToken:
        raise TokenExpired() from None
    except Exception:
        raise TokenInvalid() from None
    if payload.get(api_settings.TOKEN_TYPE_CLAIM) != "refresh" or not payload.get(api_settings.JTI_CLAIM):
        raise TokenInvalid()
    return payload


def outstanding_for(raw: str, payload: dict, *, user) -> OutstandingToken:
    """The OutstandingToken row of a refresh token, created if it was never recorded."""
    session_id = payload.get(SESSION_CLAIM)
    outstanding, _ = OutstandingToken.objects.get_or_create(
        jti=payload[api_settings.JTI_CLAIM],
        defaults={
            "user": user,
            "token": session_marker(session_id if isinstance(session_id, str) else None),
            "created_at": timezone.now(),
            "expires_at": datetime.fromtimestamp(payload["exp"], tz=UTC),
        },
    )
    return outstanding


def refresh_tokens_revoke_all(*, user) -> int:
    """Blacklist every unexpired refresh token of `user`; returns how many were revoked."""
    pending = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    ).values_list("pk", flat=True)
    rows = [BlacklistedToken(token_id=pk) for pk in pending]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


@dataclass(frozen=True)
class ExternalClaims:
    sub: uuid.UUID
    email: str
    name: str
    exp: int = 0
    # The token vouches for the address: verified by the issuer, for a signed-in user, from the
    # pinned issuer. Only then may the identity be linked to a local account with that email.
    email_trusted: bool = field(default=False)

    @property
    def fingerprint(self) -> str:
        return f"{self.email}\x00{self.name}\x00{int(self.email_trusted)}"


def _verified_email(claims: dict) -> bool:
    """Does the issuer vouch for the address? Only claims Supabase itself sets count: a top-level
    `email_verified: true` or `email_confirmed_at`, or the operator's SUPABASE_EMAILS_CONFIRMED
    (the project signs in only confirmed emails, through providers that verify them). Never
    `user_metadata`: any signed-in user writes it (supabase.auth.updateUser({data: {...}}))."""
    if settings.SUPABASE_EMAILS_CONFIRMED:
        return True
    return claims.get("email_verified") is True or bool(claims.get("email_confirmed_at"))


def external_token_decode(raw: str) -> ExternalClaims:
    """Claims of a Supabase token: HS256 with SUPABASE_JWT_SECRET (legacy), or ES256/RS256 against
    the project's JWKS (accounts.jwks); audience checked, `iss` pinned when SUPABASE_URL is set,
    exp/iat/sub required, nbf and iat honoured. TokenExpired / TokenInvalid otherwise, and
    JwksUnavailable (503) when the key set cannot be fetched."""
    from accounts.jwks import supabase_issuer, supabase_signing_keys

    try:
        header = jwt.get_unverified_header(raw)
    except jwt.PyJWTError:
        raise TokenInvalid() from None
    if header.get("alg") in EXTERNAL_ALGORITHMS:
        if not settings.SUPABASE_JWT_SECRET:
            raise TokenInvalid()
        key, algorithms = settings.SUPABASE_JWT_SECRET, EXTERNAL_ALGORITHMS
    else:
        keys = supabase_signing_keys()
        if keys is None:
            raise TokenInvalid()
        key, algorithm = keys.key_for(header.get("kid"))
        algorithms = [algorithm]  # the header's `alg` must name it, or PyJWT refuses the token
    issuer = supabase_issuer()
    try:
        claims = jwt.decode(
            raw,
            key,
            algorithms=algorithms,
            audience=settings.SUPABASE_JWT_AUDIENCE,
            issuer=issuer,
            options={"require": ["exp", "iat", "sub", "aud", *(["iss"] if issuer else [])]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenExpired() from None
    except jwt.PyJWTError:
        raise TokenInvalid() from None
    try:
        sub = uuid.UUID(str(claims["sub"]))
    except ValueError:
        raise TokenInvalid() from None
    metadata = claims.get("user_metadata") if isinstance(claims.get("user_metadata"), dict) else {}
    name = metadata.get("full_name") or metadata.get("name") or ""
    email = claims.get("email") if isinstance(claims.get("email"), str) else ""
    return ExternalClaims(
        sub=sub,
        email=_usable_email(email),
        name=str(name).strip()[:150],
        exp=int(claims["exp"]),
        email_trusted=_verified_email(claims) and claims.get("role") == "authenticated",
    )


def _usable_email(raw: str) -> str:
    """The claim lower-cased, or "" when it could not be stored as a user's email (a 254-character
    column: a longer one would be a database error, i.e. a 500, on PostgreSQL)."""
    email = raw.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        return ""
    return email if len(email) <= 254 else ""
