"""Which websocket handshakes may proceed, judged by their Origin header.

Our sockets authenticate with a bearer token (query string or subprotocol), never a cookie, so a
page on another site cannot ride a visitor's credentials: cross-site websocket hijacking needs
ambient credentials. The Origin check is therefore about which *browser* front ends we serve:

- no Origin header (mobile apps, scripts, server-to-server clients): allowed, the token decides;
- an Origin listed in WEBSOCKET_ALLOWED_ORIGINS (or CORS_ALLOWED_ORIGINS when that is unset): allowed;
- an Origin on one of ALLOWED_HOSTS (pages served by the API itself, e.g. the docs): allowed;
- anything else: refused before accept (the server answers the handshake 403), and logged once per
  origin with the setting that would let it in.

Channels' AllowedHostsOriginValidator refused the first two, which locked out every non-browser
client and a production front end on its own origin.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import validate_host

logger = logging.getLogger("flashlearn.origins")

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def normalize_origin(origin: str) -> str | None:
    """`scheme://host[:port]` lower-cased, the default port dropped; None when it is not an origin."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if not scheme or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


class WebsocketOriginPolicy:
    """The rule above for one set of settings."""

    def __init__(self, *, allowed_origins: list[str], setting: str, allowed_hosts: list[str]):
        self.allow_any = "*" in allowed_origins
        self.allowed = {normalized for origin in allowed_origins if (normalized := normalize_origin(origin))}
        self.setting = setting
        self.allowed_hosts = allowed_hosts

    @classmethod
    def from_settings(cls) -> WebsocketOriginPolicy:
        explicit = getattr(settings, "WEBSOCKET_ALLOWED_ORIGINS", None)
        if explicit:
            return cls(allowed_origins=explicit, setting="WEBSOCKET_ALLOWED_ORIGINS",
                       allowed_hosts=settings.ALLOWED_HOSTS)
        return cls(allowed_origins=settings.CORS_ALLOWED_ORIGINS, setting="CORS_ALLOWED_ORIGINS",
                   allowed_hosts=settings.ALLOWED_HOSTS)

    def allows(self, origin: str | None) -> bool:
        if origin is None:
            return True
        if self.allow_any:
            return True
        normalized = normalize_origin(origin)
        if normalized is None:  # "null" (sandboxed pages, file://) or junk
            return False
        if normalized in self.allowed:
            return True
        host = urlsplit(normalized).hostname or ""
        return validate_host(host, self.allowed_hosts)


def origin_from_scope(scope) -> str | None:
    for name, value in scope.get("headers") or []:
        if name == b"origin":
            return value.decode("latin-1")
    return None


class WebsocketOriginValidator:
    """ASGI middleware: applies the policy (settings read per handshake: cheap, and tests can
    change them) before anything else sees the socket."""

    MAX_LOGGED_ORIGINS = 1000

    def __init__(self, application):
        self.application = application
        self.logged: set[str] = set()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.application(scope, receive, send)
        origin = origin_from_scope(scope)
        policy = WebsocketOriginPolicy.from_settings()
        if policy.allows(origin):
            return await self.application(scope, receive, send)
        self.log_refusal(origin, policy.setting)
        return await WebsocketDenier()(scope, receive, send)

    def log_refusal(self, origin: str, setting: str) -> None:
        """Once per origin and process: a misconfigured front end would otherwise flood the log."""
        shown = origin[:200]
        if shown in self.logged or len(self.logged) >= self.MAX_LOGGED_ORIGINS:
            return
        self.logged.add(shown)
        logger.warning(
            "websocket refused: origin %r is not allowed; add it to %s to let that front end connect",
            shown, setting, extra={"origin": shown, "setting": setting},
        )
