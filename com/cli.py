"""The `com` command line: parses arguments and calls library functions, nothing more."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from com.errors import ComError
from com.settings import Settings, get_settings

app = typer.Typer(
    name="com",
    help="COM - Common Operation Map: risk mapping for Thai provincial security work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Create and migrate the PostGIS database.", no_args_is_help=True)
geodata_app = typer.Typer(help="Load and inspect reference boundary data.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(geodata_app, name="geodata")


def _settings() -> Settings:
    return get_settings()


def _engine():  # type: ignore[no-untyped-def]
    from com.db.engine import make_engine

    return make_engine(_settings())


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON with Thai text readable."""
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


# --- database -------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Create the PostGIS extension (if allowed) and run migrations."""
    from com.db import migrate

    engine = _engine()
    migrate.upgrade(engine, revision)
    echo_json({"revision": migrate.current_revision(engine)})


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision.")]) -> None:
    """Migrate the schema down to REVISION ('base' drops every COM table)."""
    from com.db import migrate

    engine = _engine()
    migrate.downgrade(engine, revision)
    echo_json({"revision": migrate.current_revision(engine)})


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database."""
    from com.db import migrate

    echo_json({"revision": migrate.current_revision(_engine())})


# --- reference data -------------------------------------------------------------------------


@geodata_app.command("load")
def geodata_load(
    directory: Annotated[
        Path | None, typer.Argument(help="Boundary directory (default: COM_GEODATA_DIR).")
    ] = None,
) -> None:
    """Read, validate and upsert boundaries, the land border, the Mekong and crossings."""
    from com.geodata import load_geodata

    report = load_geodata(_engine(), directory or _settings().geodata_dir)
    echo_json(report.as_dict())


@geodata_app.command("status")
def geodata_status() -> None:
    """Print the loaded counts as JSON."""
    from com.db.engine import transaction
    from com.geodata import boundary_counts

    with transaction(_engine()) as conn:
        echo_json(boundary_counts(conn))


@app.command("where")
def where_cmd(
    lat: Annotated[float, typer.Argument(help="Latitude (WGS84).")],
    lon: Annotated[float, typer.Argument(help="Longitude (WGS84).")],
) -> None:
    """Print the subdistrict, district and province of a point as JSON."""
    from com.db.engine import transaction
    from com.geodata import where

    with transaction(_engine()) as conn:
        echo_json(where(conn, lat=lat, lon=lon))


# --- service --------------------------------------------------------------------------------


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Start the web app and API."""
    import uvicorn

    uvicorn.run("api.main:create_app", factory=True, host=host, port=port)


def main() -> None:
    """Entry point: run the CLI, printing user errors as one line with a non-zero exit."""
    command = typer.main.get_command(app)
    try:
        command.main(prog_name="com", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(1)
    except ComError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"error: {exc.strerror}: {exc.filename}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
