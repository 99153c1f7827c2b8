"""Google's OAuth 2.0 web-server flow through google_auth_oauthlib.Flow, every URL from settings.

Offline access with `prompt=consent` (so a refresh token is issued on every connect) and PKCE
(S256): the verifier never leaves the server; it is stored, encrypted, with the state row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.utils import timezone
from google.auth import jwt as google_jwt
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2.rfc6749.errors import InsecureTransportError, OAuth2Error

from calendars.errors import GoogleUnavailable, OAuthDenied, OAuthExchangeFailed

logger = logging.getLogger("calendars.oauth")

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar.readonly"
SCOPES = ["openid", "https://www.googleapis.com/auth/userinfo.email", CALENDAR_SCOPE]


@dataclass
class TokenGrant:
    access_token: str
    refresh_token: str
    expires_at: datetime
    scopes: list[str] = field(default_factory=list)
    account_email: str = ""


def client_config() -> dict:
    return {
        "web": {
            "client_id": settings.GOOGLE_CLIENT_ID,
            "client_secret": settings.GOOGLE_CLIENT_SECRET,
            "auth_uri": settings.GOOGLE_AUTH_URI,
            "token_uri": settings.GOOGLE_TOKEN_URI,
            "redirect_uris": [settings.GOOGLE_REDIRECT_URI],
        }
    }


def authorization_url_build(*, state: str) -> tuple[str, str]:
    """The consent URL for `state`, and the PKCE code verifier to keep server-side."""
    flow = Flow.from_client_config(client_config(), scopes=SCOPES, redirect_uri=settings.GOOGLE_REDIRECT_URI,
                                   autogenerate_code_verifier=True)
    try:
        url, _ = flow.authorization_url(access_type="offline", prompt="consent", state=state)
    except InsecureTransportError:
        raise OAuthExchangeFailed("GOOGLE_AUTH_URI must be an https URL.", code="oauth_misconfigured") from None
    return url, flow.code_verifier


def code_exchange(*, code: str, state: str, code_verifier: str) -> TokenGrant:
    """Trade the authorization code for tokens (PKCE verifier included)."""
    flow = Flow.from_client_config(client_config(), scopes=SCOPES, redirect_uri=settings.GOOGLE_REDIRECT_URI,
                                   state=state, code_verifier=code_verifier, autogenerate_code_verifier=False)
    flow.oauth2session.register_compliance_hook("access_token_response", _raise_when_google_is_down)
    try:
        token = flow.fetch_token(code=code, timeout=settings.CALENDAR_HTTP_TIMEOUT)
    except Warning as changed:
        # oauthlib raises when Google grants a different scope set (granular consent); judge it below.
        token = dict(getattr(changed, "token", {}) or {})
    except InsecureTransportError:
        raise OAuthExchangeFailed("GOOGLE_TOKEN_URI must be an https URL.", code="oauth_misconfigured") from None
    except OAuth2Error as exc:
        logger.warning("authorization code exchange refused", extra={"oauth_error": exc.error})
        raise OAuthExchangeFailed() from None
    except requests.RequestException:
        raise GoogleUnavailable(retry_after=30) from None
    except ValueError:
        raise GoogleUnavailable("Google's token endpoint answered something unreadable.", retry_after=30) from None

    scopes = token.get("scope") or []
    if isinstance(scopes, str):
        scopes = scopes.split()
    if scopes and CALENDAR_SCOPE not in scopes:
        raise OAuthDenied("Calendar access was not granted. Connect again and allow calendar access.")
    if not token.get("access_token"):
        raise OAuthExchangeFailed()
    expires_in = int(token.get("expires_in") or 3600)
    return TokenGrant(
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token") or "",
        expires_at=timezone.now() + timedelta(seconds=expires_in),
        scopes=list(scopes),
        account_email=email_from_id_token(token.get("id_token")),
    )


def _raise_when_google_is_down(response: requests.Response) -> requests.Response:
    """oauthlib parses any answer as an OAuth error; a 5xx or 429 is an outage, not a refused code."""
    if response.status_code >= 500 or response.status_code == 429:
        raise GoogleUnavailable(retry_after=30)
    return response


def email_from_id_token(id_token: str | None) -> str:
    """The verified email claim of an ID token received straight from the token endpoint.

    OpenID Connect Core 3.1.3.7 lets a client that got the token over TLS from the token
    endpoint skip the signature check; the audience is still checked.
    """
    if not id_token:
        return ""
    try:
        claims = google_jwt.decode(id_token, verify=False)
    except (ValueError, TypeError):
        return ""
    audience = claims.get("aud")
    if audience != settings.GOOGLE_CLIENT_ID and settings.GOOGLE_CLIENT_ID not in (audience or []):
        return ""
    if claims.get("email_verified") in (False, "false"):
        return ""
    return str(claims.get("email") or "")
