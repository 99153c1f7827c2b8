"""Settings for the test suite: the real settings, plus a fast hasher and a quiet log."""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghijklmnop")

from flashlearn.settings import *  # noqa: E402,F403

# Hashing is measured in bench/ and tested in accounts' own hashing tests.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Unit tests run Celery tasks inline; the worker tests (calendars/tests/test_worker.py) switch it off.
CELERY_TASK_ALWAYS_EAGER = True
SECURE_SSL_REDIRECT = False
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
