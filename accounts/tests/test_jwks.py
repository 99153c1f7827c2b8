"""Supabase JWT signing keys (ES256/RS256) verified against a JWKS stand-in on loopback."""

import time
import uuid

import jwt
import pytest

from accounts.models import User
from accounts.tests.fakes.jwks import JwksServer, SigningKey

pytestmark = pytest.mark.django_db
PROFILE = "/api/v1/auth/profile"


@pytest.fixture
def jwks(settings):
    with JwksServer() as server:
        server.keys.append(SigningKey("EC"))
        settings.SUPABASE_URL = server.url
        settings.SUPABASE_JWT_SECRET = None
        settings.SUPABASE_JWKS_CACHE_SECONDS = 600
        settings.SUPABASE_JWKS_REFETCH_SECONDS = 0.001
        yield server


def get(client, token):
    return client.get(PROFILE, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_es256_token_from_the_jwks_signs_in(api_client, jwks):
    sub = uuid.uuid4()
    response = get(api_client, jwks.keys[0].token(issuer=jwks.issuer, sub=str(sub)))
    assert response.status_code == 200, response.json()
    assert User.objects.get(external_id=sub).email == "jwks@example.com"


def test_rs256_key_works_too(api_client, jwks):
    jwks.keys.append(SigningKey("RSA"))
    assert get(api_client, jwks.keys[1].token(issuer=jwks.issuer)).status_code == 200


def test_rotation_new_kid_accepted_without_restart_removed_key_refused_after_the_cache(api_client, jwks, settings):
    settings.SUPABASE_JWKS_CACHE_SECONDS = 0.3
    old, sub = jwks.keys[0], str(uuid.uuid4())
    assert get(api_client, old.token(issuer=jwks.issuer, sub=sub)).status_code == 200
    new = SigningKey("EC")
    jwks.keys[:] = [new]  # Supabase rotated: the old key is revoked
    assert get(api_client, new.token(issuer=jwks.issuer, sub=sub)).status_code == 200  # unknown kid: refetched
    time.sleep(0.4)  # the cached set ages out
    response = get(api_client, old.token(issuer=jwks.issuer, sub=sub))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_invalid"


def test_issuer_is_pinned(api_client, jwks):
    response = get(api_client, jwks.keys[0].token(issuer="https://evil.example.com/auth/v1"))
    assert response.status_code == 401
    assert get(api_client, jwks.keys[0].token(issuer=jwks.issuer, drop_iss=True)).status_code == 200
    no_iss = jwks.keys[0].token(issuer=None)
    assert get(api_client, no_iss).status_code == 401


def test_algorithm_comes_from_the_key_not_the_header(api_client, jwks):
    rsa_key, sub = SigningKey("RSA"), str(uuid.uuid4())
    jwks.keys.append(rsa_key)
    assert get(api_client, rsa_key.token(issuer=jwks.issuer, sub=sub)).status_code == 200  # the key itself is fine
    # Signed by the right private key, but with an algorithm the header picked (PS256, RS512).
    for algorithm in ("PS256", "RS512"):
        assert get(api_client, rsa_key.token(issuer=jwks.issuer, sub=sub, algorithm=algorithm)).status_code == 401
    # The EC public key as an HMAC secret with `alg: HS256` (the classic confusion) is refused.
    public_jwk = jwt.algorithms.ECAlgorithm.to_jwk(jwks.keys[0].private.public_key())
    now = int(time.time())
    forged = jwt.encode({"sub": sub, "email": "jwks@example.com", "aud": "authenticated", "role": "authenticated",
                         "iss": jwks.issuer, "iat": now, "exp": now + 60},
                        public_jwk.encode(), algorithm="HS256", headers={"kid": jwks.keys[0].kid})
    assert get(api_client, forged).status_code == 401


def test_unknown_kids_refetch_at_most_once_per_interval(api_client, jwks, settings):
    settings.SUPABASE_JWKS_REFETCH_SECONDS = 60
    assert get(api_client, jwks.keys[0].token(issuer=jwks.issuer)).status_code == 200
    fetched = jwks.requests
    for _ in range(20):
        token = jwks.keys[0].token(issuer=jwks.issuer, kid=uuid.uuid4().hex)
        assert get(api_client, token).status_code == 401
    assert jwks.requests - fetched <= 1


def test_jwks_outage_is_503_with_retry_after_not_401(api_client, jwks):
    jwks.failing = True
    response = get(api_client, jwks.keys[0].token(issuer=jwks.issuer))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "auth_keys_unavailable"
    assert int(response["Retry-After"]) > 0


def test_jwks_endpoint_down_is_503(api_client, jwks):
    jwks.stop()
    response = get(api_client, jwks.keys[0].token(issuer=jwks.issuer))
    assert response.status_code == 503


def test_hs256_with_the_secret_still_works_beside_the_jwks(api_client, jwks, settings):
    from accounts.tests.factories import SUPABASE_SECRET, external_token

    settings.SUPABASE_JWT_SECRET = SUPABASE_SECRET
    assert get(api_client, external_token(iss=jwks.issuer)).status_code == 200
    assert get(api_client, jwks.keys[0].token(issuer=jwks.issuer, email="other@example.com")).status_code == 200
