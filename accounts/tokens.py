"""Our JWTs (simplejwt, with every refresh token recorded) and externally issued Supabase tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
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

from accounts.errors import TokenExpired, TokenInvalid

EXTERNAL_ALGORITHMS = ["HS256"]  # pinned: `none`, RS256 with our secret as a "public key", etc. are refused


def token_pair_issue(user) -> dict[str, str]:
    """A fresh access + refresh pair. `RefreshToken.for_user` records the refresh token as
    outstanding, so logout and password changes can always blacklist it (simplejwt #863: tokens
    minted by its own rotation were not recorded)."""
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


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
    outstanding, _ = OutstandingToken.objects.get_or_create(
        jti=payload[api_settings.JTI_CLAIM],
        defaults={
            "user": user,
            "token": raw,
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

    @property
    def fingerprint(self) -> str:
        return f"{self.email}\x00{self.name}"


def external_token_decode(raw: str) -> ExternalClaims:
    """Claims of a Supabase-style token: HS256 with SUPABASE_JWT_SECRET, audience checked,
    exp/iat/sub required, nbf and iat honoured. TokenExpired / TokenInvalid otherwise."""
    secret = settings.SUPABASE_JWT_SECRET
    if not secret:
        raise TokenInvalid()
    try:
        claims = jwt.decode(
            raw,
            secret,
            algorithms=EXTERNAL_ALGORITHMS,
            audience=settings.SUPABASE_JWT_AUDIENCE,
            options={"require": ["exp", "iat", "sub", "aud"]},
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
    return ExternalClaims(sub=sub, email=_usable_email(email), name=str(name).strip()[:150])


def _usable_email(raw: str) -> str:
    """The claim lower-cased, or "" when it could not be stored as a user's email (a 254-character
    column: a longer one would be a database error, i.e. a 500, on PostgreSQL)."""
    email = raw.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        return ""
    return email if len(email) <= 254 else ""
