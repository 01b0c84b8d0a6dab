"""com.progress: a spinner with the current step on a terminal, nothing otherwise (issue 15)."""

from __future__ import annotations

import io

from com.progress import progress, wants_progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_draws_the_steps_on_a_terminal():
    term = FakeTerminal()
    with progress("ranking", stream=term) as step:
        step("scoring areas")
    assert "ranking" in term.getvalue()
    assert "scoring areas" in term.getvalue()


def test_silent_when_piped_quiet_or_closed():
    piped = io.StringIO()
    with progress("ranking", stream=piped) as step:
        step("scoring areas")
    assert piped.getvalue() == ""
    term = FakeTerminal()
    with progress("ranking", stream=term, quiet=True) as step:
        step("scoring areas")
    assert term.getvalue() == ""
    closed = io.StringIO()
    closed.close()
    assert wants_progress(closed) is False
