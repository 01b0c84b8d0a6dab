"""Signs of life for long commands: a spinner with the current step on a terminal, else nothing.

rich (which typer already brings) draws it on standard error, so standard output keeps only the
command's result and stays machine-readable. Nothing is drawn when standard error is not a
terminal (piped, redirected, under cron or CI) or when the caller asks for quiet.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

#: Told a short description of each step as it starts.
Step = Callable[[str], None]


def _ignore(_: str) -> None:
    """Accept a step description and show nothing."""


def wants_progress(stream: TextIO, *, quiet: bool = False) -> bool:
    """Return True when progress should be drawn on ``stream``: a terminal and not quiet."""
    if quiet:
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream: no progress
        return False


@contextmanager
def progress(
    description: str, *, quiet: bool = False, stream: TextIO | None = None
) -> Iterator[Step]:
    """Show a spinner, the current step and the elapsed time while the block runs.

    Parameters
    ----------
    description
        What is being done, shown until the first step replaces it.
    quiet
        Show nothing (``--quiet``).
    stream
        Where to draw (default standard error).

    Yields
    ------
    callable
        ``step(text)``: replaces the description with the step now under way.

    Examples
    --------
    >>> import io
    >>> with progress("ranking", stream=io.StringIO()) as step:  # not a terminal: silent
    ...     step("scoring")
    """
    out = stream if stream is not None else sys.stderr
    if not wants_progress(out, quiet=quiet):
        yield _ignore
        return
    console = Console(file=out, force_terminal=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def step(text: str) -> None:
            bar.update(task, description=text)

        yield step
