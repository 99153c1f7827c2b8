"""Bearer token authentication for DRF. The accounts issue adds the external-token path."""

from __future__ import annotations

from rest_framework_simplejwt.authentication import JWTAuthentication


class BearerAuthentication(JWTAuthentication):
    pass


def user_for_token(raw_token: str):
    """The active user a raw access token belongs to, or None. Used by the websocket middleware."""
    auth = BearerAuthentication()
    try:
        validated = auth.get_validated_token(raw_token.encode())
        return auth.get_user(validated)
    except Exception:
        return None
