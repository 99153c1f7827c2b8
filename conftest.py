"""Fixtures shared by every app's tests."""

import os

import pytest
from django.conf import settings
from django.core.cache import cache

# A developer's .env must not reach the tests: neither this process (flashlearn.asgi reads it)
# nor the manage.py / server subprocesses the tests start (they inherit this). Tests of the
# loader itself point DOTENV_FILE at a file of their own.
os.environ["DOTENV_FILE"] = ""

# Every frame a test's websocket receives is checked against docs/asyncapi.yaml (its autouse fixture).
pytest_plugins = ["flashlearn.tests.asyncapi"]


def pytest_collection_modifyitems(config, items):
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs DATABASE_URL pointing at PostgreSQL"))
        if "redis" in item.keywords and not settings.REDIS_URL:
            item.add_marker(pytest.mark.skip(reason="needs REDIS_URL"))


def clear_cache() -> None:
    """Empty this project's cache keys only: flushing Redis would also wipe channel-layer state."""
    if not settings.REDIS_URL:
        cache.clear()
        return
    from flashlearn.redis import redis_client

    client = redis_client()
    for key in client.scan_iter(f"{settings.REDIS_PREFIX}:cache:*", count=1000):
        client.delete(key)


@pytest.fixture(autouse=True)
def _isolated_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.fixture(autouse=True)
def _closed_breakers():
    """Circuit breakers are per process: one test's outage must not refuse the next test's calls."""
    from flashlearn.breaker import reset_breakers

    reset_breakers()
    yield
    reset_breakers()


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def user(db):
    from accounts.tests.factories import user_create

    return user_create(email="ada@example.com", password="correct horse battery")


@pytest.fixture
def staff(db):
    """A superuser, for the admin's pages."""
    from accounts.tests.factories import UserFactory

    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client, staff):
    """The test client signed in to the admin as `staff`."""
    client.force_login(staff)
    return client


@pytest.fixture
def auth_client(api_client, user):
    from rest_framework_simplejwt.tokens import AccessToken

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return api_client
