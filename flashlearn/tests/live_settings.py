"""Settings for live-server tests that need a test-only route: the real settings, another URLconf."""

from flashlearn.settings import *  # noqa: F403

ROOT_URLCONF = "flashlearn.tests.live_urls"
