"""A hasher that counts its calls, to prove that refused attempts never reach password hashing."""

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
