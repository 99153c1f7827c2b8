"""A stand-in for Supabase Auth's JWKS endpoint: a real HTTP server on loopback serving the public
halves of keys the test generates, so accounts.jwks (PyJWKClient) runs unchanged."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

JWKS_PATH = "/auth/v1/.well-known/jwks.json"


class SigningKey:
    def __init__(self, kind: str = "EC"):
        self.kid = uuid.uuid4().hex[:12]
        if kind == "EC":
            self.private, self.algorithm = ec.generate_private_key(ec.SECP256R1()), "ES256"
            public = jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private, self.algorithm = rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"
            public = jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk = {**public, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def token(self, *, issuer: str | None, sub: str | None = None, email: str = "jwks@example.com",
              algorithm: str | None = None, kid: str | None = None, exp_in: int = 3600, **claims) -> str:
        now = int(time.time())
        payload = {
            "sub": sub or str(uuid.uuid4()), "email": email, "aud": "authenticated", "role": "authenticated",
            "iss": issuer, "iat": now - 5, "exp": now + exp_in, **claims,
        }
        payload.pop("drop_iss", None)
        if issuer is None:
            payload.pop("iss")
        headers = {"kid": kid or self.kid}
        return jwt.encode(payload, self.private, algorithm=algorithm or self.algorithm, headers=headers)


class JwksServer:
    """`with JwksServer() as server:` serves `server.keys`; `server.failing = True` answers 500."""

    def __init__(self):
        self.keys: list[SigningKey] = []
        self.failing = False
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests += 1
                if outer.failing or self.path != JWKS_PATH:
                    self.send_response(500 if outer.failing else 404)
                    self.end_headers()
                    return
                body = json.dumps({"keys": [key.jwk for key in outer.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.issuer = f"{self.url}/auth/v1"

    def __enter__(self) -> JwksServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
