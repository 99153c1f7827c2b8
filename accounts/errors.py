"""Accounts' domain errors: each becomes the API.md error shape through flashlearn.errors."""

from rest_framework import status

from flashlearn.errors import Conflict, DomainError, ServiceUnavailable, Throttled


class InvalidCredentials(DomainError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "invalid_credentials"
    message = "The email address or password is incorrect."


class TokenInvalid(DomainError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "token_invalid"
    message = "The token is invalid."


class TokenExpired(TokenInvalid):
    code = "token_expired"
    message = "The token has expired."


class EmailTaken(Conflict):
    code = "email_taken"
    message = "An account with this email address already exists."

    def __init__(self) -> None:
        super().__init__(fields={"email": ["An account with this email address already exists."]})


class LockedOut(Throttled):
    code = "too_many_attempts"
    message = "Too many failed sign-in attempts. Try again later."


class SignupThrottled(Throttled):
    code = "signup_throttled"
    message = "Too many sign-ups from this address. Try again later."


class ProtectionUnavailable(ServiceUnavailable):
    """The cache holding the brute-force counters is down: refuse (503) rather than let
    unlimited password guesses through."""

    code = "auth_protection_unavailable"
    message = "Sign-in is temporarily unavailable. Retry later."


class JwksUnavailable(ServiceUnavailable):
    """Supabase's key set (JWKS) could not be fetched: the token may well be valid, so 503, not 401."""

    code = "auth_keys_unavailable"
    message = "Sign-in with this token is temporarily unavailable. Retry later."


class ExternalEmailConflict(Conflict):
    """A Supabase identity whose email belongs to a local account that cannot be linked to it."""

    code = "email_conflict_unverified"
    message = (
        "An account with this email address already exists, and the address is not verified for both "
        "sign-in methods. Sign in with that account's password, or have the address verified."
    )
