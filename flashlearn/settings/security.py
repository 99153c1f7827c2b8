"""HTTPS, cookies, origins (CORS, CSRF, websockets) and the proxies in front (docs/security.md)."""

from __future__ import annotations

from flashlearn.env import env_bool, env_int, env_list
from flashlearn.settings.base import DEBUG

CORS_ALLOWED_ORIGINS = env_list(
    "CORS_ALLOWED_ORIGINS", ["http://localhost:3000", "http://127.0.0.1:3000"] if DEBUG else []
)
CORS_ALLOW_CREDENTIALS = env_bool("CORS_ALLOW_CREDENTIALS", False)
# A front end on another origin must be able to read how long to wait (429/503) and quote the request id.
CORS_EXPOSE_HEADERS = ["Retry-After", "X-Request-ID"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Browser origins allowed to open websockets (unset: CORS_ALLOWED_ORIGINS); clients that send no
# Origin are always let through to the token check (flashlearn/origins.py says why).
WEBSOCKET_ALLOWED_ORIGINS = env_list("WEBSOCKET_ALLOWED_ORIGINS", [])
# X-Forwarded-Proto is believed only when a proxy in front of us sets it (TRUST_PROXY_HEADERS, or
# CLIENT_IP_PROXY_COUNT > 0 below); otherwise any client could claim https.
TRUST_PROXY_HEADERS = env_bool("TRUST_PROXY_HEADERS", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$", r"^__dbcheck__/?$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Preload-list submission is a one-way decision for the whole domain, so it stays opt-in
# (SECURE_HSTS_PRELOAD=true) and `check --deploy` is not asked to nag about it.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Django's W001/W002/W003 look for the exact dotted paths of the security, clickjacking and
# CSRF middleware; MIDDLEWARE holds async-friendly subclasses of them instead, and
# flashlearn/checks.py runs the same checks by subclass (flashlearn.W001).
SILENCED_SYSTEM_CHECKS += ["security.W001", "security.W002", "security.W003"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Proxies in front of the app that append to X-Forwarded-For (0: use the socket's address).
CLIENT_IP_PROXY_COUNT = env_int("CLIENT_IP_PROXY_COUNT", 0)
if TRUST_PROXY_HEADERS or CLIENT_IP_PROXY_COUNT > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
