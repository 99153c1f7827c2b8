"""Long commands draw a progress bar on a terminal and print only their summary line elsewhere (cron, CI)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from flashlearn.progress import progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_is_drawn_on_a_terminal_only():
    from django.core.management.base import OutputWrapper

    assert not progress_bar(total=3, unit="row", stream=OutputWrapper(Terminal())).disable
    assert progress_bar(total=3, unit="row", stream=OutputWrapper(io.StringIO())).disable
    assert progress_bar(total=3, unit="row", stream=OutputWrapper(Terminal()), enabled=False).disable


@pytest.mark.django_db
@pytest.mark.parametrize("command, args, summary", [
    ("seed_demo", ["--creators", "3", "--credits", "0", "--password", "a demo password for tests 9"],
     "seed_demo: 3 creators"),
    ("analyze_creators", [], "analyze_creators: "),
])
def test_off_a_terminal_a_command_prints_its_summary_and_no_bar(command, args, summary):
    if command == "analyze_creators":
        call_command("seed_demo", "--creators", "2", "--password", "a demo password for tests 9",
                     stdout=io.StringIO(), stderr=io.StringIO())
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=stdout, stderr=stderr)
    assert stderr.getvalue() == ""
    lines = stdout.getvalue().splitlines()
    assert lines[0].startswith(summary)
    assert "\r" not in stdout.getvalue() and "/s]" not in stdout.getvalue()  # no bar in the output either


@pytest.mark.django_db
def test_analyze_creators_with_nothing_to_do_prints_no_empty_bar():
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("analyze_creators", stdout=stdout, stderr=stderr)
    assert "creator/s" not in stderr.getvalue() + stdout.getvalue()
    assert stdout.getvalue().startswith("analyze_creators: 0 creators")
