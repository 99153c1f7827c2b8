"""First run from a fresh clone: `make` writes a .env, manage.py and the ASGI app read it, the environment
wins over it, and a missing SECRET_KEY is one line on stderr, not a traceback."""

from __future__ import annotations

import re
import stat
import subprocess
import sys

import pytest

from flashlearn.env import read_dotenv
from flashlearn.tests.live import ROOT, manage, project_env

SHOW_SETTINGS = "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)"


def make(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "-f", str(ROOT / "Makefile"), "-C", str(cwd), *args],
                          capture_output=True, text=True, timeout=60, env=project_env())


def test_make_writes_a_private_dotenv_once_with_debug_and_a_random_key(tmp_path):
    result = make(".env", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    dotenv = tmp_path / ".env"
    values = read_dotenv(dotenv)
    assert values["DEBUG"] == "true"
    assert len(values["SECRET_KEY"]) >= 50
    assert stat.S_IMODE(dotenv.stat().st_mode) == 0o600

    assert make(".env", cwd=tmp_path).returncode == 0
    assert read_dotenv(dotenv)["SECRET_KEY"] == values["SECRET_KEY"]  # never overwritten

    other = tmp_path / "other"
    other.mkdir()
    make(".env", cwd=other)
    assert read_dotenv(other / ".env")["SECRET_KEY"] != values["SECRET_KEY"]


def test_dotenv_is_git_ignored():
    result = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert result.returncode == 0


def test_manage_py_reads_dotenv_in_a_plain_shell(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("DEBUG=true\nSECRET_KEY=from-the-dotenv-file\n")
    result = manage("shell", "-c", SHOW_SETTINGS, env=project_env(DOTENV_FILE=str(dotenv)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["True", "from-the-dotenv-file"]


def test_the_environment_wins_over_dotenv(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("DEBUG=true\nSECRET_KEY=from-the-dotenv-file\n")
    env = project_env(DOTENV_FILE=str(dotenv), DEBUG="false", SECRET_KEY="from-the-environment",
                      ALLOWED_HOSTS="example.com")
    result = manage("shell", "-c", SHOW_SETTINGS, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["False", "from-the-environment"]


def test_missing_secret_key_outside_debug_is_one_line_not_a_traceback():
    result = manage("check", env=project_env(DEBUG="false"))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ImproperlyConfigured: SECRET_KEY is not set")
    assert "Traceback" not in result.stderr


def test_the_asgi_app_reads_dotenv_and_refuses_in_one_line(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("DEBUG=true\nSECRET_KEY=from-the-dotenv-file\n")
    load = "import flashlearn.asgi; from django.conf import settings; print(settings.SECRET_KEY)"
    ok = subprocess.run([sys.executable, "-c", load], cwd=ROOT, capture_output=True, text=True, timeout=120,
                        env=project_env(DOTENV_FILE=str(dotenv)))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip().splitlines()[-1] == "from-the-dotenv-file"

    refused = subprocess.run([sys.executable, "-c", "import flashlearn.asgi"], cwd=ROOT, capture_output=True,
                             text=True, timeout=120, env=project_env(DEBUG="false"))
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [refused.stderr.strip()]
    assert refused.stderr.startswith("ImproperlyConfigured: SECRET_KEY is not set")


def test_dotenv_syntax(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# comment\n\nexport A=1\nB = 'two words'\nC=\"x=y\"\nD=plain # trailing comment\nE=\nF=a#b\n"
    )
    assert read_dotenv(dotenv) == {"A": "1", "B": "two words", "C": "x=y", "D": "plain", "E": "", "F": "a#b"}


def test_a_malformed_dotenv_line_names_the_file_and_line(tmp_path):
    from django.core.exceptions import ImproperlyConfigured

    dotenv = tmp_path / ".env"
    dotenv.write_text("DEBUG=true\nnot a setting\n")
    with pytest.raises(ImproperlyConfigured, match=r"\.env:2: expected KEY=value"):
        read_dotenv(dotenv)


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", readme, flags=re.S)
    inline = re.findall(r"`((?:make|\.venv/bin/python manage\.py) [^`]+)`", readme)
    lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    return sorted({c for c in [*lines, *inline] if c.startswith(("make ", ".venv/bin/python manage.py "))})


def test_every_make_target_the_readme_names_exists():
    commands = _readme_commands()
    targets = {match for c in commands for match in re.findall(r"^make (\w[\w.-]*)", c)}
    assert {"run", "test", "superuser", "demo"} <= targets
    for target in sorted(targets):
        result = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"make {target}: {result.stderr}"


def test_every_manage_py_command_the_readme_names_exists(tmp_path):
    names = {c.split()[2] for c in _readme_commands() if c.startswith(".venv/bin/python manage.py ")}
    env = project_env(DOTENV_FILE=None)  # as in a plain shell of a fresh clone after `make run`
    dotenv = tmp_path / ".env"
    dotenv.write_text("DEBUG=true\nSECRET_KEY=a-first-run-key\n")
    env["DOTENV_FILE"] = str(dotenv)
    for name in sorted(names):
        result = manage("help", name, env=env)
        assert result.returncode == 0, f"manage.py {name}: {result.stderr}"
