"""What every `com` command shares: settings, the database engine, JSON output, --quiet.

Settings are imported when a command runs, never at start: pydantic-settings costs about
0.1 s, and `com --help` imports nothing it does not need.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from com.config.settings import Settings


def settings() -> Settings:
    """Return the settings in force (environment, .env), read once per process."""
    from com.config.settings import get_settings

    return get_settings()


def engine() -> Engine:
    """Return an engine of the configured database."""
    from com.db.engine import make_engine

    return make_engine(settings())


QuietOpt = Annotated[bool, typer.Option(
    "--quiet", "-q", help="No progress display (there is none when stderr is not a terminal).")]


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON with Thai text readable."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
