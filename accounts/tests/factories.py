"""Test builders: users and externally issued (Supabase-style) tokens."""

from __future__ import annotations

import time
import uuid

import jwt

from accounts.models import User

PASSWORD = "correct horse battery staple"
SUPABASE_SECRET = "test-supabase-secret-0123456789abcdef0123456789abcdef"


def user_create(*, email: str = "grace@example.com", password: str = PASSWORD, **extra) -> User:
    return User.objects.create_user(email=email, password=password, **extra)


def external_token(
    *,
    sub: uuid.UUID | str | None = None,
    email: str = "ext@example.com",
    secret: str = SUPABASE_SECRET,
    algorithm: str = "HS256",
    exp_in: int = 3600,
    iat_in: int = -10,
    drop: tuple[str, ...] = (),
    **claims,
) -> str:
    now = int(time.time())
    payload = {
        "sub": str(sub or uuid.uuid4()),
        "email": email,
        "aud": "authenticated",
        "role": "authenticated",
        "iat": now + iat_in,
        "exp": now + exp_in,
        **claims,
    }
    for name in drop:
        payload.pop(name, None)
    return jwt.encode(payload, secret, algorithm=algorithm)


def unsigned_token(payload: dict) -> str:
    """An `alg: none` token, which must never be accepted."""
    return jwt.encode(payload, None, algorithm="none")
