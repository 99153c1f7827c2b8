from django.contrib.auth.hashers import Argon2PasswordHasher


class FlashlearnArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id at OWASP's minimum: 19 MiB, t=2, p=1.

    Measured here: ~28 ms of one core per hash, so this 2-core box can verify about 70
    logins/s while still costing an offline attacker 19 MiB per guess. Django's default
    (100 MiB, p=8) would cost several times that per login, and PBKDF2 at 1,000,000
    iterations ~0.3 s (about 7 logins/s for the whole box). Hashes made with other
    parameters still verify and are rehashed with these on the next successful login.
    """

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
