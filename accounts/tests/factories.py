"""Test builders: users (the one user factory of every app's tests) and externally issued (Supabase-style) tokens."""

from __future__ import annotations

import time
import uuid

import factory
import jwt

from accounts.models import User

PASSWORD = "correct horse battery staple"
SUPABASE_SECRET = "test-supabase-secret-0123456789abcdef0123456789abcdef"


class UserFactory(factory.django.DjangoModelFactory):
    """A user made the way the app makes them: the manager's create_user (normalised email, hashed
    password, the profile every user has)."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Sequence(lambda n: f"User {n}")
    password = PASSWORD

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> User:
        return model_class.objects.create_user(*args, **kwargs)


def user_create(*, email: str = "grace@example.com", password: str = PASSWORD, display_name: str = "",
                **extra) -> User:
    """UserFactory with a known address and password and, as signup leaves it, no display name."""
    return UserFactory(email=email, password=password, display_name=display_name, **extra)


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
