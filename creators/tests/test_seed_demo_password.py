"""seed_demo never leaves the public demo password on a deployment: with DEBUG off it needs
--password, and it always says which password it set."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from creators import demo

pytestmark = pytest.mark.django_db


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", "--creators", "2", "--no-posts", "--no-progress", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def demo_user():
    return get_user_model().objects.filter(email=demo.DEMO_EMAIL).first()


def test_refused_without_debug_and_without_password(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--password"):
        seed()
    assert demo_user() is None


def test_without_debug_the_given_password_is_set_and_printed(settings):
    settings.DEBUG = False
    out = seed("--password", "a private demo passphrase 7")
    assert "demo user password set to: a private demo passphrase 7" in out
    user = demo_user()
    assert user.check_password("a private demo passphrase 7")
    assert not user.check_password(demo.DEMO_PASSWORD)


def test_a_weak_password_is_refused(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--password"):
        seed("--password", "123")
    assert demo_user() is None


def test_with_debug_the_default_password_is_printed_once_and_kept(settings):
    settings.DEBUG = True
    assert f"demo user password set to: {demo.DEMO_PASSWORD}" in seed()
    assert "password unchanged" in seed()
    assert demo_user().check_password(demo.DEMO_PASSWORD)


def test_password_replaces_an_existing_demo_users_password(settings):
    settings.DEBUG = True
    seed()
    settings.DEBUG = False
    seed("--password", "rotated demo passphrase 42")
    assert demo_user().check_password("rotated demo passphrase 42")
