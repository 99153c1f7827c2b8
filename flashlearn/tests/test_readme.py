"""docs/configuration.md documents every environment variable settings.py reads, each with its default;
the README opens with the two commands and links that page."""

from __future__ import annotations

import re

from flashlearn.tests.helpers import ROOT

CONFIGURATION = ROOT / "docs" / "configuration.md"


def _table_rows(text: str) -> list[list[str]]:
    """The cells of every markdown table row (header and separator rows included)."""
    return [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in text.splitlines() if line.lstrip().startswith("|")]


def test_every_setting_read_from_the_environment_is_in_the_configuration_page_with_its_default():
    settings_source = "\n".join(path.read_text() for path in (ROOT / "flashlearn" / "settings").glob("*.py"))
    variables = set(re.findall(r'env_(?:str|bool|int|float|list)\(\s*"([A-Z][A-Z0-9_]*)"', settings_source))
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "WEB_CONCURRENCY"} <= variables
    # Each variable must be named (in backticks) in the first cell of a table row whose second cell,
    # the default, and third cell, the meaning, are filled in.
    documented = set()
    for cells in _table_rows(CONFIGURATION.read_text()):
        if len(cells) >= 3 and cells[1] and cells[2] and not set(cells[1]) <= set("-: "):
            documented |= set(re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0]))
    undocumented = sorted(variables - documented)
    assert undocumented == [], f"add these to a docs/configuration.md table with default and meaning: {undocumented}"


def test_readme_opens_with_make_run_and_make_test_and_links_the_configuration_page():
    readme = (ROOT / "README.md").read_text()
    opening = readme[:400]
    assert "make run" in opening and "make test" in opening
    assert "docs/configuration.md" in readme
