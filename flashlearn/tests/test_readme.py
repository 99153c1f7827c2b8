"""docs/configuration.md documents every environment variable the settings read, each with its default,
and .env.example names exactly those; the README opens with the two commands and links that page."""

from __future__ import annotations

import re

from flashlearn.env import DOTENV_VARIABLE, read_dotenv
from flashlearn.tests.live import ROOT

CONFIGURATION = ROOT / "docs" / "configuration.md"
ENV_EXAMPLE = ROOT / ".env.example"
# Read before the settings, by the entry points (flashlearn/env.py).
READ_OUTSIDE_SETTINGS = {DOTENV_VARIABLE}


def _table_rows(text: str) -> list[list[str]]:
    """The cells of every markdown table row (header and separator rows included)."""
    return [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in text.splitlines() if line.lstrip().startswith("|")]


def _settings_variables() -> set[str]:
    source = "\n".join(path.read_text() for path in (ROOT / "flashlearn" / "settings").glob("*.py"))
    return set(re.findall(r'env_(?:str|bool|int|float|list)\(\s*"([A-Z][A-Z0-9_]*)"', source))


def _documented_variables() -> set[str]:
    """Names (in backticks) in the first cell of a table row whose second cell, the default, and third
    cell, the meaning, are filled in."""
    documented = set()
    for cells in _table_rows(CONFIGURATION.read_text()):
        if len(cells) >= 3 and cells[1] and cells[2] and not set(cells[1]) <= set("-: "):
            documented |= set(re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0]))
    return documented


def _env_example_variables() -> set[str]:
    """`NAME=` lines, set or commented out (`# NAME=`)."""
    return set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))


def test_every_setting_read_from_the_environment_is_in_the_configuration_page_with_its_default():
    variables = _settings_variables()
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "WEB_CONCURRENCY", "SCHEMA_MODE"} <= variables
    undocumented = sorted(variables - _documented_variables())
    assert undocumented == [], f"add these to a docs/configuration.md table with default and meaning: {undocumented}"


def test_env_example_names_every_variable_and_only_those_the_project_reads():
    listed = _env_example_variables()
    read = _settings_variables() | READ_OUTSIDE_SETTINGS
    assert sorted(read - listed) == [], "add these to .env.example"
    assert sorted(listed - read) == [], ".env.example names variables nothing reads"
    assert sorted(_documented_variables() - read) == [], "docs/configuration.md documents variables nothing reads"


def test_env_example_copied_to_dotenv_sets_only_debug_and_an_empty_secret_key():
    # Everything else is commented out, so a copy keeps every default; an empty SECRET_KEY with DEBUG
    # on is the development key, and without DEBUG start-up refuses as it should.
    assert read_dotenv(ENV_EXAMPLE) == {"DEBUG": "true", "SECRET_KEY": ""}


def test_readme_opens_with_make_run_and_make_test_and_links_the_configuration_page():
    readme = (ROOT / "README.md").read_text()
    opening = readme[:400]
    assert "make run" in opening and "make test" in opening
    assert "docs/configuration.md" in readme
