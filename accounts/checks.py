"""Deployment checks of the accounts app."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Warning, register


@register("security", deploy=True)
def jwt_secret_key_set(app_configs, **kwargs):
    """Without JWT_SECRET_KEY our tokens are signed with a key derived from SECRET_KEY: anyone who
    learns SECRET_KEY could mint them. Works, but a separate secret is the intended set-up."""
    if getattr(settings, "JWT_SECRET_KEY_SOURCE", "env") == "env":
        return []
    return [
        Warning(
            "JWT_SECRET_KEY is not set: access and refresh tokens are signed with a key derived from SECRET_KEY.",
            hint="Set JWT_SECRET_KEY to a long random string of its own "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))').",
            id="accounts.W001",
        )
    ]
