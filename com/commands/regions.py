"""`com regions ...`: the regions (named sets of provinces) in force (issue 16)."""

from __future__ import annotations

import json

import typer

regions_app = typer.Typer(
    help="Regions (ภาค): named sets of provinces accepted wherever a province is.",
    no_args_is_help=True,
)


@regions_app.command("list")
def regions_list() -> None:
    """List the regions with their Thai and English names and provinces, as JSON."""
    # Deferred like every command's imports: `com --help` stays light.
    from com.boundaries import describe_regions
    from com.config.regions import load_regions
    from com.config.settings import get_settings
    from com.db.engine import make_engine, transaction

    settings = get_settings()
    regions = load_regions(settings.regions_config)
    with transaction(make_engine(settings)) as conn:
        described = describe_regions(conn, regions)
    typer.echo(json.dumps(described, ensure_ascii=False, indent=2))
