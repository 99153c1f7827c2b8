"""Settings for benchmark servers: the project's own, plus the bench-only routes of bench/urls.py."""

from flashlearn.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
