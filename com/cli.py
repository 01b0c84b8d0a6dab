"""The `com` command line: parses arguments and calls library functions, nothing more."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

import click
import typer

from com.commands.accounts import apikeys_app, audit_app, retention_app, users_app
from com.commands.common import QuietOpt, echo_json
from com.commands.common import engine as _engine
from com.commands.common import settings as _settings
from com.commands.feeds import alerts_app, sensors_app, webhooks_app
from com.commands.regions import regions_app
from com.errors import ComError
from com.progress import progress

if TYPE_CHECKING:
    from com.config.settings import Settings

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
app.add_typer(regions_app, name="regions")
app.add_typer(audit_app, name="audit")
app.add_typer(retention_app, name="retention")
app.add_typer(users_app, name="users")
app.add_typer(apikeys_app, name="apikeys")


# --- database -------------------------------------------------------------------------------


def _migration_engine():  # type: ignore[no-untyped-def]
    from com.db.engine import make_migration_engine

    return make_migration_engine(_settings())


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Create the PostGIS extension (if allowed) and run migrations as the owner role."""
    from com.db import migrate

    engine = _migration_engine()
    migrate.upgrade(engine, revision)
    result: dict[str, Any] = {"revision": migrate.current_revision(engine)}
    if revision == "head":
        result["rollup"] = _sync_rollup(engine, rebuild=False)
    echo_json(result)


def _sync_rollup(engine: Any, *, rebuild: bool) -> dict[str, Any]:
    from com.analysis.risk.rollup import rebuild_rollup, rollup_usable
    from com.config.severity import load_severity_model
    from com.db.engine import transaction

    model = load_severity_model(_settings().severity_config)
    half_life = model.recency.half_life_days
    with transaction(engine) as conn:
        if rebuild or not rollup_usable(conn, model):
            rows = rebuild_rollup(conn, half_life_days=half_life)
            return {"half_life_days": half_life, "rebuilt": True, "rows": rows}
    return {"half_life_days": half_life, "rebuilt": False}


@db_app.command("rollup")
def db_rollup() -> None:
    """Rebuild the ranking rollup with the severity model's half-life (after changing it)."""
    echo_json(_sync_rollup(_migration_engine(), rebuild=True))


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision.")]) -> None:
    """Migrate the schema down to REVISION ('base' drops every COM table)."""
    from com.db import migrate

    engine = _migration_engine()
    migrate.downgrade(engine, revision)
    echo_json({"revision": migrate.current_revision(engine)})


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database."""
    from com.db import migrate

    echo_json({"revision": migrate.current_revision(_migration_engine())})


@db_app.command("grant-app-role")
def db_grant_app_role(
    name: Annotated[str, typer.Argument(help="Role the app connects as, e.g. com_app.")],
    login: Annotated[bool, typer.Option("--login/--nologin",
                                        help="Whether the role may log in.")] = False,
    password: Annotated[str | None, typer.Option(
        envvar="COM_APP_DB_PASSWORD", show_default=False,
        help="Password of a LOGIN role (or COM_APP_DB_PASSWORD).")] = None,
) -> None:
    """Create/update the app's role: data rights only, audit_log SELECT and INSERT only."""
    from com.db.engine import transaction
    from com.db.roles import grant_app_role

    with transaction(_migration_engine()) as conn:
        echo_json(grant_app_role(conn, name, login=login, password=password))


# --- reference data -------------------------------------------------------------------------


@geodata_app.command("load")
def geodata_load(
    directory: Annotated[
        Path | None, typer.Argument(help="Boundary directory (default: COM_GEODATA_DIR).")
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Read, validate and upsert boundaries, the land border, the Mekong and crossings."""
    from com.geodata import load_geodata

    with progress("โหลดขอบเขตการปกครอง / loading boundaries", quiet=quiet):
        report = load_geodata(_engine(), directory or _settings().geodata_dir)
    # Tambon names and context distances change: every cell of the country is made again.
    _prepare_h3(quiet, country=True)
    echo_json(report.as_dict())


def _prepare_h3(quiet: bool, *, country: bool = False) -> None:
    """Keep the H3 rankings' values ready after a write (ranking.prepare_h3).

    ``country`` (after a geodata load): first the values of every cell of the country
    (ranking.prepare_h3_country).
    """
    import sqlalchemy as sa

    from com.analysis.risk.ranking import prepare_h3, prepare_h3_country

    settings = _settings()
    try:
        with progress("เตรียมการจัดอันดับ H3 / preparing H3 rankings", quiet=quiet):
            model, resolutions = settings.severity_config, settings.h3_prepared_resolutions
            if country:
                prepare_h3_country(_engine(), model, resolutions)
            prepare_h3(_engine(), model, resolutions)
    except (sa.exc.SQLAlchemyError, ComError, OSError) as exc:
        # What was stored stands: the first H3 ranking computes what could not be kept.
        typer.echo(f"คำเตือน / warning: H3 rankings not prepared ({exc})", err=True)


@geodata_app.command("status")
def geodata_status() -> None:
    """Print the loaded counts as JSON."""
    from com.db.engine import transaction
    from com.geodata import boundary_counts

    with transaction(_engine()) as conn:
        echo_json(boundary_counts(conn))


@geodata_app.command("fetch")
def geodata_fetch(
    directory: Annotated[Path, typer.Argument(help="Directory to download into.")],
    manifest: Annotated[
        str | None,
        typer.Option(help="Manifest file or URL (default: the packaged geodata/manifest.toml)."),
    ] = None,
    allow_unpinned: Annotated[
        bool,
        typer.Option(
            "--allow-unpinned",
            help='Also download entries with sha256 = "" and print their hash to pin.',
        ),
    ] = False,
) -> None:
    """Download the pinned COD-AB boundary release into DIRECTORY."""
    from com.geodata import fetch_geodata

    results = fetch_geodata(directory, manifest=manifest, allow_unpinned=allow_unpinned)
    echo_json([r.as_dict() for r in results])
    for r in results:
        if not r.pinned:
            print(
                f"warning: {r.name} is not pinned; check it, then pin it in the manifest: "
                f'sha256 = "{r.sha256}"',
                file=sys.stderr,
            )


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


# --- geocoding (issue 3) --------------------------------------------------------------------


@app.command("geocode")
def geocode_cmd(
    in_path: Annotated[Path, typer.Argument(help="Input CSV (UTF-8 or TIS-620).")],
    column: Annotated[str, typer.Option("--column", help="Name of the address column.")],
    out: Annotated[Path, typer.Option("--out", help="Output CSV.")],
    province: Annotated[
        str | None, typer.Option(help="Province code used when an address names none.")
    ] = None,
) -> None:
    """Add tambon_code, amphoe_code, province_code, quality, score, ambiguous, candidates."""
    from com.ingest.geocode import geocode_csv

    echo_json(geocode_csv(in_path, out, column, province_code=province))


# --- uploads (issue 3) ----------------------------------------------------------------------

export_app = typer.Typer(help="Export stored data with its source file and row.",
                         no_args_is_help=True)
app.add_typer(export_app, name="export")


def _mapping(pairs: list[str] | None) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs or []:
        column, sep, field = pair.rpartition("=")
        if not sep or not column.strip() or not field.strip():
            raise click.BadParameter(f"{pair!r}: use --map 'column name=field'",
                                     param_hint="--map")
        mapping[column.strip()] = field.strip()
    return mapping


@app.command("import")
def import_cmd(
    file: Annotated[
        Path, typer.Argument(help="CSV, XLSX, XLS, KML, KMZ, GeoJSON, GPKG or zipped SHP.")
    ],
    province: Annotated[
        str | None, typer.Option(help="Province code or name: address context and area check.")
    ] = None,
    sheet: Annotated[
        str | None, typer.Option(help="Worksheet (or GeoPackage layer); default the first.")
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="column=field, repeatable (fields: lat, lon, location, "
                     "address, category, severity, date, name, note, ... or ignore)."),
    ] = None,
    kind: Annotated[
        str, typer.Option(help="risk_points, cameras, layer, projects, sites or areas.")
    ] = "risk_points",
    layer: Annotated[
        str | None, typer.Option(help="Context layer name (lines/polygons; --kind layer); "
                                 "for --kind areas: villages or a custom layer's NAME.")
    ] = None,
    datum: Annotated[str, typer.Option(help="wgs84, or indian1975 for legacy data.")] = "wgs84",
    quiet: QuietOpt = False,
) -> None:
    """Import a point list; print upload_id, rows, stored, rejected, duplicates, warnings."""
    from com.ingest import ImportOptions, import_path

    if kind == "areas":  # villages and custom polygon layers (issue 16): upserted by code
        from com.ingest.areas import import_areas_path

        with progress(f"นำเข้าพื้นที่ / importing areas {file.name}", quiet=quiet):
            report = import_areas_path(_engine(), file, layer=layer or "", sheet=sheet)
        echo_json(report.as_dict())
        return

    options = ImportOptions(
        kind=kind, province_code=province, sheet=sheet, mapping=_mapping(map_), layer=layer,
        datum=datum,
    )
    with progress(f"นำเข้า / importing {file.name}", quiet=quiet):
        summary = import_path(_engine(), file, options=options, settings=_settings())
    if kind == "risk_points" and summary.stored:
        _prepare_h3(quiet)
    echo_json(summary.as_dict())


@app.command("import-report")
def import_report_cmd(
    upload_id: Annotated[int, typer.Argument(help="Upload id printed by `com import`.")],
    out: Annotated[Path, typer.Option("--out", help="Output CSV, one line per data row.")],
) -> None:
    """Write row, status, reason, lat, lon, subdistrict_code, quality and the original values."""
    from com.db.engine import transaction
    from com.ingest import write_report_csv

    part = out.with_name(out.name + ".part")  # no half-written report on an error
    try:
        with transaction(_engine()) as conn, part.open("w", encoding="utf-8", newline="") as fh:
            count = write_report_csv(conn, upload_id, fh)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    part.replace(out)
    echo_json({"upload_id": upload_id, "rows": count, "out": str(out)})


@export_app.command("risk-points")
def export_risk_points_cmd(
    out: Annotated[Path, typer.Option("--out", help="Output file.")],
    fmt: Annotated[str, typer.Option("--format", help="geojson or csv.")] = "geojson",
    province: Annotated[str | None, typer.Option(help="Only this province code.")] = None,
    region: Annotated[str | None, typer.Option(help="Only this region's provinces.")] = None,
) -> None:
    """Export stored risk points with their source file and row."""
    from com.db.engine import transaction
    from com.ingest import export_risk_points

    if fmt not in ("geojson", "csv"):
        raise click.BadParameter(f"{fmt!r}: use geojson or csv", param_hint="--format")
    part = out.with_name(out.name + ".part")
    try:
        with transaction(_engine()) as conn, part.open("w", encoding="utf-8", newline="") as fh:
            count = export_risk_points(conn, fh, fmt=fmt, province_code=province, region=region)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    part.replace(out)
    echo_json({"exported": count, "format": fmt, "out": str(out)})


# --- ranking, hot spots, target lists and KPIs (issue 4) -----------------------------------

targets_app = typer.Typer(help="Target lists (บัญชีเป้าหมาย) per fiscal year.", no_args_is_help=True)
app.add_typer(targets_app, name="targets")

LevelOpt = Annotated[str, typer.Option(
    help="subdistrict, district, province, h3:N, village or layer:NAME.")]
ProvinceOpt = Annotated[str | None, typer.Option(help="Province code, e.g. 32 (Surin).")]
DistrictOpt = Annotated[str | None, typer.Option(help="District code, e.g. 3206.")]
RegionOpt = Annotated[str | None, typer.Option(
    help="Region instead of one province, e.g. isoc-2 (see `com regions list`).")]
FromOpt = Annotated[str | None, typer.Option("--from", help="First date (ISO or Thai).")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last date (ISO or Thai).")]
CategoryOpt = Annotated[
    list[str] | None, typer.Option("--category", help="Category key or alias (repeatable).")
]
SeverityOpt = Annotated[int | None, typer.Option(help="Keep points of at least this severity.")]
OutOpt = Annotated[Path | None, typer.Option(help="Write FILE.csv, .geojson or .xlsx.")]
FyOpt = Annotated[int, typer.Option("--fy", help="Fiscal year (Buddhist era), e.g. 2568.")]


def _area_output(frame: Any, out: Path | None, columns: list[str]) -> None:
    from com.analysis.risk import areas_to_records, write_areas

    if out is not None:
        write_areas(frame, out, model=_model())
    top = areas_to_records(frame[columns].head(10))
    echo_json({"level": frame.attrs.get("level"), "as_of": frame.attrs.get("as_of"),
               "areas": len(frame), "out": str(out) if out else None, "top": top})


def _model():  # type: ignore[no-untyped-def]
    from com.config.severity import load_severity_model

    return load_severity_model(_settings().severity_config)


def _province_or_default(province: str | None) -> str:
    from com.errors import ValidationError

    value = province or _settings().default_province
    if not value:
        raise ValidationError("give --province (or set COM_DEFAULT_PROVINCE)")
    return value


@app.command("rank")
def rank_cmd(
    level: LevelOpt = "subdistrict", province: ProvinceOpt = None, district: DistrictOpt = None,
    region: RegionOpt = None,
    date_from: FromOpt = None, date_to: ToOpt = None, category: CategoryOpt = None,
    min_severity: SeverityOpt = None, out: OutOpt = None, quiet: QuietOpt = False,
) -> None:
    """Rank areas by risk score; write the table and print the top ten as JSON."""
    from com.analysis.risk import rank_areas
    from com.db.engine import transaction

    with progress(f"จัดอันดับ / ranking {level} areas", quiet=quiet), \
            transaction(_engine()) as conn:
        frame = rank_areas(conn, level=level, province=province, district=district, region=region,
                           date_from=date_from, date_to=date_to, categories=category,
                           min_severity=min_severity, model=_model())
    _area_output(frame, out, list(frame.columns[:7]))


@app.command("hotspots")
def hotspots_cmd(
    level: LevelOpt = "subdistrict", province: ProvinceOpt = None, district: DistrictOpt = None,
    region: RegionOpt = None,
    date_from: FromOpt = None, date_to: ToOpt = None, category: CategoryOpt = None,
    min_severity: SeverityOpt = None,
    permutations: Annotated[int | None, typer.Option(help="Permutations (default 999).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the permutations.")] = None,
    out: OutOpt = None, quiet: QuietOpt = False,
) -> None:
    """Getis-Ord Gi* hot spots of the area scores; write the table, print the hot spots."""
    from com.analysis.risk import hotspots
    from com.db.engine import transaction

    with progress(f"จุดร้อน Gi* / hot spots of {level} areas", quiet=quiet), \
            transaction(_engine()) as conn:
        frame = hotspots(conn, level=level, province=province, district=district, region=region,
                         date_from=date_from, date_to=date_to, categories=category,
                         min_severity=min_severity, permutations=permutations, seed=seed,
                         model=_model())
    from com.analysis.risk import areas_to_records, write_areas

    if out is not None:
        write_areas(frame, out, model=_model())
    hot = frame[frame["hotspot_class"] != "not_significant"]
    columns = [frame.columns[0], "name_th", "risk_score", "gi_z", "gi_p", "gi_p_fdr",
               "hotspot_class"]
    echo_json({"level": frame.attrs.get("level"), "areas": len(frame), "significant": len(hot),
               "out": str(out) if out else None, "hotspots": areas_to_records(hot[columns])})


@targets_app.command("declare")
def targets_declare(
    fy: FyOpt, province: ProvinceOpt = None,
    top: Annotated[int | None, typer.Option(help="Take the N highest-ranked areas.")] = None,
    codes: Annotated[str | None, typer.Option(help="Comma-separated area codes.")] = None,
    level: Annotated[str, typer.Option(
        help="subdistrict, district, village or layer:NAME.")] = "subdistrict",
    replace: Annotated[bool, typer.Option("--replace", help="Replace an existing list.")] = False,
) -> None:
    """Declare the target list of a province for a fiscal year (audited)."""
    from com.analysis.kpi import declare_targets
    from com.db.engine import transaction
    from com.security.access import CLI

    with transaction(_engine()) as conn:
        echo_json(declare_targets(conn, province=_province_or_default(province),
                                  fiscal_year_be=fy, principal=CLI, top=top, codes=codes,
                                  level=level, model=_model(), replace=replace))


@targets_app.command("show")
def targets_show(
    fy: FyOpt, province: ProvinceOpt = None,
    level: Annotated[str, typer.Option(
        help="subdistrict, district, village or layer:NAME.")] = "subdistrict",
) -> None:
    """Print a declared target list as JSON."""
    from com.analysis.kpi import get_target_list
    from com.db.engine import transaction

    with transaction(_engine()) as conn:
        echo_json(get_target_list(conn, province=_province_or_default(province),
                                  fiscal_year_be=fy, level=level))


@app.command("kpi")
def kpi_cmd(
    fy: FyOpt, province: ProvinceOpt = None, region: RegionOpt = None,
    level: Annotated[str, typer.Option(help="Level of the target list.")] = "subdistrict",
    baseline_fy: Annotated[int | None, typer.Option(help="Baseline year of the 2570 path.")] = None,
) -> None:
    """Print the KPI report of a fiscal year (JSON)."""
    from com.analysis.kpi import kpi_report, region_kpi_report
    from com.db.engine import transaction

    with transaction(_engine()) as conn:
        if region and not province:
            echo_json(region_kpi_report(conn, region=region, fiscal_year_be=fy, level=level,
                                        model=_model(), baseline_fy=baseline_fy))
            return
        echo_json(kpi_report(conn, province=_province_or_default(province), fiscal_year_be=fy,
                             level=level, model=_model(), baseline_fy=baseline_fy))


@app.command("brief")
def brief_cmd(
    fy: FyOpt,
    out: Annotated[list[Path], typer.Option(
        help="Write FILE.pdf or FILE.docx (repeatable: one brief, both files).")],
    province: ProvinceOpt = None, region: RegionOpt = None,
    since: Annotated[str | None, typer.Option(
        help="Start of 'since the last meeting' (default: the last brief's date).")] = None,
    top: Annotated[int, typer.Option(help="Rows of the ranked table (1-50).")] = 10,
    thai_digits: Annotated[bool, typer.Option("--thai-digits", help="Thai numerals.")] = False,
) -> None:
    """Write the printable Thai meeting brief (PDF or DOCX) of a province or region (issue 18)."""
    from com.brief import assemble_brief, write_brief
    from com.brief.output import brief_format
    from com.db.engine import transaction
    from com.security.access import CLI
    from com.text.thai import parse_date

    for path in out:
        brief_format(path)  # a wrong suffix fails before any work
    with transaction(_engine()) as conn:
        brief = assemble_brief(
            conn, provinces=[] if region and not province else [_province_or_default(province)],
            region=region if not province else None, regions_config=_settings().regions_config,
            fiscal_year_be=fy, principal=CLI,
            severity_config=_settings().severity_config,
            small_area_k=_settings().small_area_k, since=parse_date(since) if since else None,
            top=top, thai_digits=thai_digits)
        for path in out:
            write_brief(brief, path, conn=conn, principal=CLI)
    echo_json({"out": [str(p) for p in out],
               "provinces": [p.province_code for p in brief.provinces],
               "region": brief.region.key if brief.region else None,
               "fiscal_year_be": fy, "synthetic": brief.synthetic})


# --- CCTV siting and patrol lists (issue 5) -------------------------------------------------


@app.command("cctv")
def cctv_cmd(
    province: ProvinceOpt = None, district: DistrictOpt = None,
    k: Annotated[int | None, typer.Option("--k", help="Number of cameras to place.")] = None,
    budget: Annotated[float | None, typer.Option(help="Budget, in the unit of the costs.")] = None,
    cost_file: Annotated[
        Path | None, typer.Option(help="Site costs: a site_id/รหัส and a cost/ราคา column.")
    ] = None,
    default_cost: Annotated[float | None, typer.Option(help="Cost of sites not listed.")] = None,
    radius: Annotated[float | None, typer.Option(
        help="Camera coverage radius in metres (default: the planner's, as on the web page).",
        show_default=False)] = None,
    existing: Annotated[str | None, typer.Option(
        help="Installed cameras file, or 'none' (default: the cameras table).")] = None,
    candidates: Annotated[str, typer.Option(
        help="points, grid:SPACING_M, sites, sites:UPLOAD_ID or a file of sites.")] = "points",
    geodesic: Annotated[bool, typer.Option("--geodesic", help="Geodesic distances.")] = False,
    method: Annotated[str, typer.Option(help="auto, exact or greedy.")] = "auto",
    time_limit: Annotated[float, typer.Option(help="Solver time limit, seconds.")] = 30.0,
    out: Annotated[Path | None, typer.Option(help="Write the sites GeoJSON here.")] = None,
    demand_out: Annotated[Path | None, typer.Option(help="Write every demand point (CSV).")] = None,
    chart: Annotated[Path | None, typer.Option(help="Write the coverage curve (PNG).")] = None,
    save: Annotated[str | None, typer.Option(help="Save the plan under this name.")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Propose CCTV sites that cover the most weighted risk (maximal covering location)."""
    from com.siting.runners import run_cctv  # deferred: the solver imports scipy

    radius_m: dict[str, Any] = {} if radius is None else {"radius_m": radius}
    with progress("วางแผนกล้อง CCTV / planning CCTV sites", quiet=quiet):
        plan = run_cctv(
            _engine(), _settings(), province=_province_or_default(province),
            district=district, k=k, budget=budget, cost_file=cost_file,
            default_cost=default_cost, **radius_m, existing=existing,
            candidates=candidates, metric="geodesic" if geodesic else "utm",
            method=method,  # type: ignore[arg-type]  # checked by run_cctv
            time_limit_s=time_limit, out=out, demand_out=demand_out, chart=chart, save=save,
        )
    echo_json(plan)


@app.command("patrols")
def patrols_cmd(
    province: ProvinceOpt = None,
    per_district: Annotated[int, typer.Option(help="Top areas of every district.")] = 3,
    total: Annotated[int | None, typer.Option(
        help="Instead: this many areas shared by district risk (at least one each).")] = None,
    date_from: FromOpt = None, date_to: ToOpt = None,
    out: Annotated[Path | None, typer.Option(help="Write FILE.xlsx (Thai headers) or .csv.")
                   ] = None,
) -> None:
    """Ranked patrol/checkpoint areas per district, so every district gets its share."""
    from com.siting.runners import run_patrols  # deferred: the solver imports scipy

    echo_json(run_patrols(
        _engine(), _settings(), province=_province_or_default(province),
        per_district=per_district, total=total, date_from=date_from, date_to=date_to, out=out,
    ))


# --- service --------------------------------------------------------------------------------


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Start the web app and API."""
    import uvicorn

    uvicorn.run(
        "api.main:create_app", factory=True, host=host, port=port,
        **proxy_options(_settings()),
    )


class ProxyOptions(TypedDict):
    """uvicorn's forwarded-header options."""

    proxy_headers: bool
    forwarded_allow_ips: list[str]


def proxy_options(settings: Settings) -> ProxyOptions:
    """Return uvicorn's forwarded-header options for ``COM_TRUSTED_PROXIES``.

    uvicorn believes ``X-Forwarded-For`` from 127.0.0.1 unless told otherwise; COM believes
    it only from the configured proxies, and with none configured uvicorn must not either.
    """
    proxies = list(settings.trusted_proxies)
    return {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies}


@app.command("demo")
def demo_cmd(
    load_only: Annotated[
        bool, typer.Option("--load-only", help="Load the data, then stop (no web app).")
    ] = False,
    geodata: Annotated[
        Path | None, typer.Option(help="Boundary directory (default: COM_GEODATA_DIR).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = 2568,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the full report as JSON instead of the summary.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Load the synthetic Surin demo (280 risk points), then serve the app."""
    from com.demo import run_demo

    with progress("COM demo", quiet=quiet) as step:
        report = run_demo(_engine(), _settings(), geodata_dir=geodata, seed=seed, on_step=step)
    # A wildcard address is not one to type into a browser.
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    url = f"http://{shown}:{port}/"
    if as_json:
        echo_json(report.as_dict())
    else:
        typer.echo(report.summary(url, serving=not load_only))
    if not load_only:
        print(f"ข้อมูลสมมติ / synthetic demo data: serving {url}", file=sys.stderr)
        serve(host=host, port=port)


# --- live feeds (issue 17): devices, alerts over MQTT, webhooks ------------------------------


app.add_typer(sensors_app, name="sensors")
app.add_typer(alerts_app, name="alerts")
app.add_typer(webhooks_app, name="webhooks")


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
        # One line, even when the message quotes a multi-line driver error (libpq's hints).
        print("error: " + " ".join(str(exc).split()), file=sys.stderr)
        sys.exit(1)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"error: {exc.strerror}: {exc.filename}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
