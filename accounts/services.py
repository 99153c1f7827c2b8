"""Writes of the accounts app: sign-up, sign-in, tokens, password, profile, external-user sync."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import lockout
from accounts.errors import EmailTaken, ExternalEmailConflict, InvalidCredentials, TokenExpired, TokenInvalid
from accounts.models import AuthEvent, Profile, User
from accounts.request_meta import RequestMeta
from accounts.stats import stat_incr
from accounts.tokens import (
    SESSION_CLAIM,
    ExternalClaims,
    outstanding_for,
    refresh_token_payload,
    refresh_tokens_revoke_all,
    session_is_live,
    token_pair_issue,
    token_version_of,
)
from flashlearn.counters import CACHE_ERRORS
from flashlearn.errors import InvalidInput

logger = logging.getLogger("accounts")

_NO_META = RequestMeta()


def auth_event_record(
    *, kind: str, meta: RequestMeta | None = None, user: User | None = None, email: str = "", detail: str = ""
) -> AuthEvent:
    meta = meta or _NO_META
    return AuthEvent.objects.create(
        kind=kind,
        user=user,
        email=(email or (user.email if user else ""))[:254],
        ip=meta.ip,
        user_agent=meta.user_agent[:512],
        detail=detail[:200],
    )


def _password_check(password: str, *, user: User, field: str) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise InvalidInput(fields={field: list(exc.messages)}) from None


def user_signup(*, email: str, password: str, display_name: str = "", meta: RequestMeta) -> tuple[User, dict[str, str]]:
    """Create an account and sign it in. Throttled per IP before anything else is done.

    Two concurrent sign-ups of one address: the database's unique constraint decides, and the
    loser gets EmailTaken (409), never a 500.
    """
    lockout.signup_throttle_hit(ip=meta.ip)
    email = User.objects.normalize_email(email)
    _password_check(password, user=User(email=email, display_name=display_name), field="password")
    if User.objects.filter(email=email).exists():
        raise EmailTaken()
    user = User(email=email, display_name=display_name.strip())
    user.set_password(password)  # hashed before the transaction: no lock is held while it runs
    try:
        with transaction.atomic():  # one commit for the user, profile, refresh token and audit row
            user.save()
            Profile.objects.create(user=user)
            tokens = token_pair_issue(user)
            auth_event_record(kind=AuthEvent.Kind.SIGNUP, meta=meta, user=user)
    except IntegrityError:
        raise EmailTaken() from None
    return user, tokens


def password_authenticate(*, email: str, password: str, meta: RequestMeta, detail: str = "") -> User:
    """Check an email and password under the lockout, writing the audit rows; every sign-in
    form (the API and the admin) goes through here.

    The attempt is reserved before the password is hashed (accounts.lockout), so a locked email
    or IP, or one whose attempts are all in flight, is refused without any hashing.
    """
    email = User.objects.normalize_email(email)
    attempt = lockout.login_attempt_begin(email=email, ip=meta.ip)
    try:
        user = authenticate(None, email=email, password=password)
    except BaseException:  # not a wrong password (a database outage: 503): the attempt is given back
        lockout.login_attempt_abandon(attempt)
        raise
    if user is None:
        locked = lockout.login_attempt_failed(attempt)  # counted before the audit write, which may fail
        auth_event_record(kind=AuthEvent.Kind.LOGIN_FAILED, meta=meta, email=email, detail=detail)
        if locked:
            auth_event_record(kind=AuthEvent.Kind.LOCKOUT, meta=meta, email=email, detail=",".join(locked))
        raise InvalidCredentials()
    lockout.login_attempt_succeeded(attempt)
    return user


def user_login(*, email: str, password: str, meta: RequestMeta) -> tuple[User, dict[str, str]]:
    """Check the password and issue tokens. A locked email or IP is refused before any hashing.

    A PBKDF2 (or outdated Argon2) hash is upgraded to the current hasher by Django on success.
    """
    user = password_authenticate(email=email, password=password, meta=meta)
    with transaction.atomic():  # one commit for last_login, the refresh token and the audit row
        User.objects.filter(pk=user.pk).update(last_login=timezone.now())
        tokens = token_pair_issue(user)
        auth_event_record(kind=AuthEvent.Kind.LOGIN_SUCCEEDED, meta=meta, user=user)
    return user, tokens


def admin_login(*, email: str, password: str, meta: RequestMeta) -> User:
    """The admin's sign-in: the same lockout and audit rows as the API's, marked `admin`.

    A right password of someone who is not staff is refused like a wrong one (as Django's admin
    form does) and audited, but not counted: it must not lock that user out of the API.
    """
    user = password_authenticate(email=email, password=password, meta=meta, detail="admin")
    if not user.is_staff:
        auth_event_record(kind=AuthEvent.Kind.LOGIN_FAILED, meta=meta, user=user, detail="admin: not staff")
        raise InvalidCredentials()
    auth_event_record(kind=AuthEvent.Kind.LOGIN_SUCCEEDED, meta=meta, user=user, detail="admin")
    return user


def token_refresh(*, refresh: str, meta: RequestMeta) -> dict[str, str]:
    """Rotate a refresh token: the presented one is blacklisted, a new recorded pair is issued
    (same session). A token older than the user's last password change or deactivation is refused.

    The token's OutstandingToken row is locked, so two concurrent uses of one token give one
    new pair and one 401, never two pairs. Presenting a token that was already rotated or logged
    out is reuse: whoever holds a copy (a thief who rotated first, or the victim) cannot tell us
    which one is legitimate, so every session of the user is revoked (refresh tokens blacklisted,
    token version bumped: access tokens and open websockets die too) and both sign in again.
    """
    payload = refresh_token_payload(refresh)
    user = User.objects.filter(pk=payload.get(api_settings.USER_ID_CLAIM), is_active=True).first()
    if user is None or token_version_of(payload) != user.token_version:
        raise TokenInvalid()
    reused = False
    session_id = payload.get(SESSION_CLAIM) if isinstance(payload.get(SESSION_CLAIM), str) else None
    with transaction.atomic():
        outstanding = outstanding_for(refresh, payload, user=user)
        outstanding = OutstandingToken.objects.select_for_update().get(pk=outstanding.pk)
        blacklisted = BlacklistedToken.objects.filter(token=outstanding).first()
        if blacklisted is not None:
            reused = True
        else:
            BlacklistedToken.objects.create(token=outstanding)
            tokens = token_pair_issue(user, session_id=session_id)
    if blacklisted is not None and _reuse_within_grace(blacklisted, user=user, session_id=session_id):
        auth_event_record(kind=AuthEvent.Kind.TOKEN_REUSED, meta=meta, user=user, detail="within grace: kept")
        raise TokenInvalid()
    if reused:
        revoked = user_sessions_revoke(user=user)
        auth_event_record(kind=AuthEvent.Kind.TOKEN_REUSED, meta=meta, user=user, detail=f"revoked {revoked}")
        raise TokenInvalid()
    auth_event_record(kind=AuthEvent.Kind.REFRESH, meta=meta, user=user)
    return tokens


def _reuse_within_grace(blacklisted: BlacklistedToken, *, user: User, session_id: str | None) -> bool:
    """REFRESH_REUSE_GRACE_SECONDS > 0: a token rotated moments ago whose session lives on (its
    successor is outstanding, so it was rotated, not logged out) is a lost response or two tabs
    racing, answered with a plain 401. Off (0) by default: every reuse revokes everything."""
    grace = settings.REFRESH_REUSE_GRACE_SECONDS
    if grace <= 0 or not session_id:
        return False
    if blacklisted.blacklisted_at <= timezone.now() - timedelta(seconds=grace):
        return False
    return session_is_live(user_id=user.pk, session_id=session_id)


def user_sessions_revoke(*, user: User) -> int:
    """End every session of `user`: blacklist the refresh tokens and bump the token version, which
    kills access tokens and closes websockets. Returns how many refresh tokens were revoked."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
        return refresh_tokens_revoke_all(user=user)


def user_logout(*, refresh: str, meta: RequestMeta) -> None:
    """Blacklist a refresh token (recorded first if it never was). Idempotent; an expired
    token has nothing left to revoke."""
    try:
        payload = refresh_token_payload(refresh)
    except TokenExpired:
        return
    user = User.objects.filter(pk=payload.get(api_settings.USER_ID_CLAIM)).first()
    with transaction.atomic():
        outstanding = outstanding_for(refresh, payload, user=user)
        BlacklistedToken.objects.get_or_create(token=outstanding)
    auth_event_record(kind=AuthEvent.Kind.LOGOUT, meta=meta, user=user)


def password_change(*, user: User, old_password: str, new_password: str, meta: RequestMeta) -> dict[str, str]:
    """Set a new password and revoke every refresh token of the user; returns a fresh pair for
    the caller. A wrong old password counts as a failed login (same lockout)."""
    attempt = lockout.login_attempt_begin(email=user.email, ip=meta.ip)
    try:
        right = user.check_password(old_password)
    except BaseException:  # not a wrong password (a database outage: 503): the attempt is given back
        lockout.login_attempt_abandon(attempt)
        raise
    if not right:
        lockout.login_attempt_failed(attempt)
        raise InvalidInput.on("old_password", "The current password is incorrect.")
    lockout.login_attempt_succeeded(attempt)
    _password_check(new_password, user=user, field="new_password")
    user.set_password(new_password)  # hashed here, outside the transaction
    with transaction.atomic():
        user.save(update_fields=["password"])  # bumps token_version: every older token dies
        revoked = refresh_tokens_revoke_all(user=user)
        tokens = token_pair_issue(user)
    auth_event_record(kind=AuthEvent.Kind.PASSWORD_CHANGED, meta=meta, user=user, detail=f"revoked {revoked}")
    return tokens


def profile_ensure(*, user: User) -> Profile:
    """The user's profile, created if missing. Race-safe: the one-to-one constraint decides."""
    try:
        return user.profile
    except Profile.DoesNotExist:
        pass
    profile, _ = Profile.objects.get_or_create(user=user)
    user.profile = profile
    return profile


PROFILE_FIELDS = (
    "bio", "phone", "work_email", "date_of_birth", "website", "linkedin", "twitter", "github", "timezone",
    "emergency_contact_name", "emergency_contact_phone", "emergency_contact_email",
)


def profile_update(*, user: User, changes: dict[str, Any]) -> Profile:
    """Apply already-validated changes (see accounts.profile_fields) all together or not at all.

    A new `work_email` is taken as given and left unverified, whether or not another account
    holds it: the answer is the same either way, so PATCH /profile cannot be used to find out who
    uses an address (it answered 409 `work_email_taken` before). Only verified addresses are
    unique (a database constraint); verifying is a staff action in the admin for now.
    """
    profile_ensure(user=user)
    if "work_email" in changes:
        changes["work_email"] = changes["work_email"] or None
    with transaction.atomic():
        profile = Profile.objects.select_for_update().get(user=user)
        if "work_email" in changes and changes["work_email"] != profile.work_email:
            profile.work_email_verified = False
        for field in PROFILE_FIELDS:
            if field in changes:
                setattr(profile, field, changes[field])
        profile.save()
        if "display_name" in changes:
            user.display_name = changes["display_name"]
            User.objects.filter(pk=user.pk).update(display_name=user.display_name)
    user.profile = profile
    return profile


def _sync_key(claims: ExternalClaims) -> str:
    return f"accounts:extsync:{claims.sub}"


def external_user_sync(*, claims: ExternalClaims, meta: RequestMeta | None = None) -> User:
    """The local user for an external token, written at most once per EXTERNAL_USER_SYNC_TTL.

    The cache remembers (user id, claims fingerprint) per `sub`: while it is fresh and the claims
    have not changed, a request costs one read of the user row (as our own tokens do) and no write.
    """
    key = _sync_key(claims)
    try:
        cached = cache.get(key)
    except CACHE_ERRORS:  # the cache only saves writes: without it, sync on every request
        cached = None
    if cached and cached.get("fingerprint") == claims.fingerprint:
        known: User | None = User.objects.filter(pk=cached["user_id"]).first()
        if known is not None and known.is_active:
            stat_incr("external_sync_hit")
            return known
    stat_incr("external_sync_miss")
    user, created = _external_user_upsert(claims)
    if not user.is_active:
        raise TokenInvalid()
    try:
        cache.set(key, {"user_id": user.pk, "fingerprint": claims.fingerprint}, settings.EXTERNAL_USER_SYNC_TTL)
    except CACHE_ERRORS:
        logger.warning("cache unavailable: external user sync not cached")
    if created:
        auth_event_record(kind=AuthEvent.Kind.EXTERNAL_USER_CREATED, meta=meta, user=user)
    return user


def _external_user_upsert(claims: ExternalClaims) -> tuple[User, bool]:
    """Find the user by `sub`, else link the account with the same email, else create one.

    An email match is linked only when both sides proved the address: the token vouches for it
    (verified, role `authenticated`, pinned issuer) and the local account has `email_verified_at`.
    Otherwise anyone could sign up with someone else's address, wait for the owner's first
    Supabase sign-in, and read everything they then create. The clash is a 409
    `email_conflict_unverified`. Linking makes the local password unusable and ends its sessions.

    Two first requests at once: one insert wins on the unique `external_id`/email constraint and
    the other reads what it wrote.
    """
    for attempt in range(2):
        try:
            with transaction.atomic():
                user = User.objects.select_for_update().filter(external_id=claims.sub).first()
                if user is not None:
                    _external_user_refresh(user, claims)
                    return user, False
                if not claims.email:
                    raise TokenInvalid()
                user = User.objects.select_for_update().filter(email=claims.email).first()
                if user is not None:
                    if user.external_id == claims.sub:  # a concurrent first sight committed it just now
                        return user, False
                    if user.external_id is not None:  # the address belongs to another external identity
                        raise TokenInvalid()
                    if not (claims.email_trusted and user.email_verified_at is not None):
                        raise ExternalEmailConflict()
                    _external_user_link(user, claims)
                    return user, False
                user = User.objects.create_user(
                    email=claims.email, password=None, external_id=claims.sub, display_name=claims.name,
                    email_verified_at=timezone.now() if claims.email_trusted else None,
                )
                return user, True
        except IntegrityError:
            if attempt:
                raise TokenInvalid() from None
    raise TokenInvalid()  # pragma: no cover


def _external_user_link(user: User, claims: ExternalClaims) -> None:
    """Attach a Supabase identity to a local account: from now on only Supabase signs it in."""
    user.external_id = claims.sub
    user.display_name = user.display_name or claims.name
    user.set_unusable_password()
    user.save(update_fields=["external_id", "display_name", "password"])  # bumps token_version
    revoked = refresh_tokens_revoke_all(user=user)
    logger.info("external identity linked to user %s by verified email; %s refresh tokens revoked", user.pk, revoked)


def _external_user_refresh(user: User, claims: ExternalClaims) -> None:
    fields = []
    if claims.email and claims.email != user.email and not User.objects.filter(email=claims.email).exists():
        user.email = claims.email
        user.email_verified_at = timezone.now() if claims.email_trusted else None
        fields += ["email", "email_verified_at"]
    if claims.name and claims.name != user.display_name:
        user.display_name = claims.name
        fields.append("display_name")
    if fields:
        user.save(update_fields=fields)
