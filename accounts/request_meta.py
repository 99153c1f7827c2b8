"""Who is asking: the client address and user agent, for throttling and the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_address

from django.conf import settings


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ip_address(value.strip()))
    except ValueError:
        return None


@dataclass(frozen=True)
class RequestMeta:
    ip: str | None = None
    user_agent: str = ""

    @classmethod
    def from_request(cls, request) -> RequestMeta:
        return cls(ip=client_ip(request.META), user_agent=request.META.get("HTTP_USER_AGENT", "")[:512])

    @classmethod
    def from_scope(cls, scope) -> RequestMeta:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        client = scope.get("client") or (None, None)
        meta = {"REMOTE_ADDR": client[0] or "", "HTTP_X_FORWARDED_FOR": headers.get("x-forwarded-for", "")}
        return cls(ip=client_ip(meta), user_agent=headers.get("user-agent", "")[:512])


def client_ip(meta: dict) -> str | None:
    """REMOTE_ADDR, or with CLIENT_IP_PROXY_COUNT proxies in front, the address the outermost one saw.

    Only the entries our own proxies appended are trusted: anything left of them is client-supplied.
    """
    proxies = settings.CLIENT_IP_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return _valid_ip(forwarded[-proxies])
    return _valid_ip(meta.get("REMOTE_ADDR"))
