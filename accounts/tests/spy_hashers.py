"""A hasher that counts its calls, to prove that refused attempts never reach password hashing."""

import hashlib
import threading
import time

from django.contrib.auth.hashers import MD5PasswordHasher


class CountingMD5PasswordHasher(MD5PasswordHasher):
    calls = 0

    def encode(self, password, salt):
        type(self).calls += 1
        return super().encode(password, salt)

    def verify(self, password, encoded):
        type(self).calls += 1
        return super().verify(password, encoded)


SPY = "accounts.tests.spy_hashers.CountingMD5PasswordHasher"


class SlowCountingHasher(MD5PasswordHasher):
    """Counts password evaluations made by many threads at once. Each takes a moment, as a real
    hash does, so concurrent guesses overlap the way they do against Argon2. `verify` goes
    through `encode`, so one evaluation is one count."""

    algorithm = "slow_md5"
    calls = 0
    _lock = threading.Lock()

    def encode(self, password, salt):
        with self._lock:
            type(self).calls += 1
        time.sleep(0.02)
        self._check_encode_args(password, salt)
        return f"{self.algorithm}${salt}${hashlib.md5((salt + password).encode()).hexdigest()}"


SLOW_SPY = "accounts.tests.spy_hashers.SlowCountingHasher"
