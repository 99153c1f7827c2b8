"""The README documents every environment variable settings.py reads, and opens with the two commands."""

from __future__ import annotations

import re

from flashlearn.tests.helpers import ROOT


def test_every_setting_read_from_the_environment_is_in_the_readme():
    settings_source = (ROOT / "flashlearn" / "settings.py").read_text()
    readme = (ROOT / "README.md").read_text()
    variables = set(re.findall(r'env_(?:str|bool|int|float|list)\(\s*"([A-Z][A-Z0-9_]*)"', settings_source))
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "WEB_CONCURRENCY"} <= variables
    undocumented = sorted(name for name in variables if f"`{name}`" not in readme)
    assert undocumented == [], f"add these to a README table with their defaults: {undocumented}"


def test_readme_opens_with_make_run_and_make_test():
    opening = (ROOT / "README.md").read_text()[:400]
    assert "make run" in opening and "make test" in opening
