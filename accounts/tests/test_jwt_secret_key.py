"""Our JWTs are never signed with SECRET_KEY (with DEBUG a public constant)."""

import os
import stat
import time

import jwt
import pytest
from django.conf import settings

from accounts.tests.factories import user_create
from flashlearn.tests.live import manage, project_env

DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production-0123456789"


@pytest.mark.django_db
def test_a_token_signed_with_secret_key_is_refused(api_client):
    user = user_create()
    now = int(time.time())
    payload = {"token_type": "access", "user_id": str(user.pk), "jti": "x" * 32, "iat": now, "exp": now + 300}
    for key in (settings.SECRET_KEY, DEV_SECRET_KEY):
        forged = jwt.encode(payload, key, algorithm="HS256")
        response = api_client.get("/api/v1/auth/profile", HTTP_AUTHORIZATION=f"Bearer {forged}")
        assert response.status_code == 401
    assert settings.SIMPLE_JWT["SIGNING_KEY"] not in (settings.SECRET_KEY, DEV_SECRET_KEY)


def _signing_key(env) -> str:
    result = manage("shell", "-c", "from django.conf import settings; print(settings.SIMPLE_JWT['SIGNING_KEY'])",
                    env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_debug_without_jwt_secret_key_uses_a_random_per_checkout_key_file(tmp_path):
    from flashlearn.keyfile import key_file_read_or_create

    key_file = tmp_path / "jwt-secret"
    first = _signing_key(project_env(DEBUG="true", JWT_SECRET_KEY=None, JWT_SECRET_KEY_FILE=str(key_file)))
    assert first not in (DEV_SECRET_KEY, "") and len(first) >= 64
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert key_file_read_or_create(key_file) == first  # stable across restarts of one checkout
    assert key_file_read_or_create(tmp_path / "other") != first  # another checkout, another key


def test_check_deploy_warns_without_jwt_secret_key():
    env = project_env(DEBUG="false", SECRET_KEY="s" * 60, ALLOWED_HOSTS="flashlearn.example.com",
                      JWT_SECRET_KEY=None, TOKEN_ENCRYPTION_KEY="k" * 40)
    result = manage("check", "--deploy", env=env)
    assert "accounts.W001" in result.stderr + result.stdout
