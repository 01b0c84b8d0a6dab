"""Rows prepared in Python, without the database: each row placed and built into a record.

A row is placed by its geometry, its coordinates (:func:`com.geo.coords.parse_coordinate`:
decimal, DMS, UTM, MGRS, Google links, swapped order, Indian 1975 datum) or its address
(:func:`com.ingest.geocode.geocode_many`, one batch per upload: only a confident subdistrict
is accepted, placed at its representative point and flagged approximate); then the kind's row
builder makes the record.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from itertools import compress, repeat
from operator import itemgetter
from typing import Any

import numpy as np
import shapely

from com.config.settings import Settings
from com.config.severity import CategoryMatcher, load_severity_model
from com.errors import ParseError
from com.geo.coords import THAILAND_BBOX, parse_coordinate
from com.ingest.cells import cell_json, is_blank_cell
from com.ingest.columns import ADDRESS_FIELDS, COORD_FIELDS, ColumnPlan, plan_columns
from com.ingest.coordinates import (
    decimal_column,
    fast_decimal,
    is_non_finite,
    number_cell,
    number_pair,
)
from com.ingest.geocode import geocode, geocode_many
from com.ingest.kinds import Kind, RowValues, lookup_kind
from com.ingest.options import ImportOptions, RowRejected
from com.ingest.readers import ReadLimits, SourceTable, json_safe
from com.ingest.records import build_layer_feature, build_risk_point, build_risk_points
from com.text.thai import clean_text, load_severity_words

__all__ = ["Preparation", "PreparedRow", "prepare_rows", "start_preparing"]


@dataclass(slots=True)
class PreparedRow:
    """A row after parsing, then after the database checks.

    ``status`` is ``pending`` until a check rejects the row or finds it a duplicate; the rows
    still pending at the end are the ones stored (reported as ``stored``).
    """

    row_number: int
    status: str  # pending | rejected | duplicate
    target: str = "main"  # main | layer
    reason: str | None = None
    column: str | None = None
    warnings: list[str] = field(default_factory=list)
    lat: float | None = None
    lon: float | None = None
    geometry: Any = None  # non-point geometry (layers)
    subdistrict_code: str | None = None
    district_code: str | None = None
    province_code: str | None = None
    quality: str | None = None
    approximate: bool = False
    dedupe_key: str | None = None
    record_id: int | None = None
    fingerprint: Hashable = ""
    place_columns: str | None = None
    record: dict[str, Any] = field(default_factory=dict)
    original: dict[str, Any] = field(default_factory=dict)
    #: ``record``'s values in its kind's column order, dicts as JSON text, when they were
    #: made with it (rows built column by column); neither changes after.
    values: tuple[Any, ...] | None = None
    #: The column names and cells ``original`` is made of when it is asked for (rows
    #: prepared column by column: most of them never get a report line that shows it).
    source: tuple[Sequence[str], Sequence[Any]] | None = None

    def reject(self, reason: str, column: str | None = None) -> PreparedRow:
        """Mark the row rejected."""
        self.status, self.reason, self.column = "rejected", reason, column
        return self

    def original_values(self) -> dict[str, Any]:
        """Return the row's cells by column name, as the file had them (JSON values)."""
        if self.source is not None and not self.original:
            names, cells = self.source
            self.original = dict(zip(names, cells, strict=True))
        return self.original


#: PreparedRow's fields in order, as _prepare_columns passes them by position.
_FAST_FIELDS = (
    "row_number", "status", "target", "reason", "column", "warnings", "lat", "lon", "geometry",
    "subdistrict_code", "district_code", "province_code", "quality", "approximate",
    "dedupe_key", "record_id", "fingerprint", "place_columns", "record", "original", "values",
    "source",
)
assert tuple(f.name for f in fields(PreparedRow)) == _FAST_FIELDS, "PreparedRow changed"


@dataclass
class _Context:
    """What the rows of one upload share: options, kind, plan, parsers, caches, fast columns."""

    options: ImportOptions
    kind: Kind
    plan: ColumnPlan
    categories: CategoryMatcher
    severity_words: Any
    geocode_province: str | None
    zone_hint: int | None
    layer: str
    limits: ReadLimits
    today: date
    geocoder: Callable[..., Any]
    datum_notes: set[str] = field(default_factory=set)
    geocode_cache: dict[str, Any] = field(default_factory=dict)
    value_cache: dict[Any, Any] = field(default_factory=dict)
    field_columns: dict[str, str] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)
    #: Per row read so far (None: no row is read so): plain decimal coordinates, and those.
    fast_ok: list[bool] | None = None
    fast_lat: list[float] = field(default_factory=list)
    fast_lon: list[float] = field(default_factory=list)
    fast_place_columns: str | None = None
    #: The addresses are geocoded in one batch before the rows placed by them are prepared.
    batch_geocode: bool = False
    locality_point: Callable[[str], tuple[float, float] | None] | None = None
    date_utc: bool = False

    def __post_init__(self) -> None:
        self.field_columns = {f: self.plan.columns[i] for f, i in self.plan.fields.items()}
        self.shared = {
            "categories": self.categories,
            "severity_words": self.severity_words,
            "layer": self.layer,
            "today": self.today,
            "cache": self.value_cache,
            "date_utc": self.date_utc,
        }


_ADDRESS_PREFIXES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("village", "บ้าน", ("บ้าน", "บ.", "หมู่บ้าน")),
    ("moo", "หมู่ ", ("หมู่", "ม.")),
    ("subdistrict", "ต.", ("ต.", "ตำบล", "แขวง")),
    ("district", "อ.", ("อ.", "อำเภอ", "เขต", "กิ่งอ")),
    ("province", "จ.", ("จ.", "จังหวัด")),
    ("postcode", "", ()),
)


def _address(get: Callable[[str], Any]) -> str | None:
    """Return the address: the address column plus village/หมู่/ตำบล/อำเภอ/จังหวัด columns.

    Thai parts get their usual abbreviations (ต. อ. จ.) unless already written; romanised
    parts are joined with commas, the way English addresses are written.
    """
    base = get("address")
    text = clean_text(str(json_safe(base))) if base is not None else ""
    pieces: list[tuple[str, str, tuple[str, ...]]] = []
    for name, prefix, written in _ADDRESS_PREFIXES:
        value = get(name)
        if value is None:
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        piece = clean_text(str(json_safe(value)))
        if piece and piece not in text:
            pieces.append((piece, prefix, written))
    if not pieces:
        return text or None
    if all(p.isascii() for p, _, _ in pieces) and (not text or text.isascii()):
        return ", ".join(([text] if text else []) + [p for p, _, _ in pieces])
    parts = [text] if text else []
    for piece, prefix, written in pieces:
        parts.append(piece if not prefix or piece.startswith(written) else f"{prefix}{piece}")
    return " ".join(parts)


def _finish_geometry(geom: Any, limits: ReadLimits, warnings: list[str]) -> Any:
    """Validate a line/polygon: finite, in range, not too large, repaired when invalid."""
    geom = shapely.force_2d(geom)
    n = shapely.get_num_coordinates(geom)
    if n > limits.max_vertices:
        raise RowRejected(f"geometry has {n:,} vertices; at most {limits.max_vertices:,} accepted",
                          "geometry")
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise RowRejected("geometry has NaN or infinite coordinates", "geometry")
    if len(coords) and (np.abs(coords[:, 0]).max() > 180 or np.abs(coords[:, 1]).max() > 90):
        raise RowRejected("geometry coordinates are outside -180..180 / -90..90 degrees",
                          "geometry")
    if geom.is_empty:
        raise RowRejected("geometry is empty", "geometry")
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        geom = shapely.make_valid(geom)
        warnings.append(f"geometry repaired ({reason})")
    return geom


def _prepare_row(table: SourceTable, index: int, ctx: _Context) -> PreparedRow:
    """Place one row and build its record; a row that cannot be is returned rejected."""
    plan = ctx.plan
    values = table.rows[index]
    number = table.row_numbers[index]
    cells = list(map(cell_json, values))
    original = dict(zip(plan.columns, cells, strict=False))
    row = PreparedRow(row_number=number, status="pending", original=original)
    get = _field_getter(values, plan)
    geom = table.geometries[index] if table.geometries is not None else None
    geometry_errors = table.details.get("geometry_errors") or {}
    row.fingerprint = _fingerprint(cells, plan.fields.get("row_id"), geom)
    extra = {plan.columns[i]: original[plan.columns[i]] for i in plan.unknown
             if original[plan.columns[i]] is not None}
    address = None
    quality = "coordinates"
    score: float | None = None
    try:
        if number in geometry_errors:
            raise RowRejected(geometry_errors[number], "geometry")
        geom = _row_geometry(geom, get, plan)
        if geom is not None and geom.geom_type == "Point":
            row.place_columns = "geometry"
            _place_point(row, ctx, lat=geom.y, lon=geom.x, column="geometry")
        elif geom is not None:
            _place_geometry(row, geom, ctx)
        elif ctx.fast_ok is not None and ctx.fast_ok[index]:
            # Plain decimal latitude and longitude inside the box around Thailand, read for
            # the whole column at once (see _fast_coordinates).
            row.place_columns = ctx.fast_place_columns
            row.lat, row.lon, row.quality = ctx.fast_lat[index], ctx.fast_lon[index], "coordinates"
        elif not _place_by_coordinates(row, values, get, ctx):
            address, score = _place_by_address(row, get, ctx)
            quality = row.quality or "subdistrict"
        if ctx.kind.geometry == "layer" and row.target == "main":
            # A layer upload keeps points too, as point features of the layer.
            row.geometry = shapely.Point(row.lon, row.lat)
            row.target = "layer"
            row.quality = "layer"
        layer_row = row.target == "layer"
        builder = build_layer_feature if layer_row else ctx.kind.build
        built = builder(
            RowValues(
                fields={f: values[i] for f, i in plan.fields.items()},
                columns=ctx.field_columns,
                extra=extra,
                address=address,
                quality=quality,
                geocode_score=score,
                warnings=row.warnings,
                context=ctx.shared,
                original=original,
                geometry_hex=shapely.to_wkb(row.geometry, hex=True) if layer_row else None,
            )
        )
        row.record = built.values
        row.dedupe_key = built.dedupe_key
    except RowRejected as exc:
        row.reject(exc.reason, exc.column)
    return row


def _field_getter(values: Sequence[Any], plan: ColumnPlan) -> Callable[[str], Any]:
    """Return ``get(field)``: the row's cell of a field, None when absent or blank."""

    def get(name: str) -> Any:
        i = plan.fields.get(name)
        if i is None:
            return None
        value = values[i]
        return None if is_blank_cell(value) else value

    return get


def _fingerprint(cells: list[object], row_id: int | None, geom: Any) -> Hashable:
    """Return what makes two rows of the file identical: every cell but the row id, geometry.

    Compared only within this file ("identical to row n"): the values themselves do.
    """
    fp_values = cells if row_id is None else cells[:row_id] + cells[row_id + 1:]
    if geom is not None:
        fp_values = [*fp_values, shapely.to_wkb(geom)]
    try:
        return hash(tuple(fp_values))
    except TypeError:  # a cell that is not hashable
        return json.dumps(fp_values, ensure_ascii=False, default=str)


def _row_geometry(geom: Any, get: Callable[[str], Any], plan: ColumnPlan) -> Any:
    """Return the row's geometry (the file's, else its WKT cell), a lone multipoint as a point.

    Raises
    ------
    RowRejected
        When the WKT cannot be read or is empty.
    """
    if geom is None and get("wkt") is not None:
        try:
            geom = shapely.from_wkt(str(get("wkt")))
        except shapely.errors.GEOSException as exc:
            raise RowRejected(f"WKT cannot be read ({exc})", plan.name("wkt")) from exc
        if geom is None or geom.is_empty:
            raise RowRejected("WKT geometry is empty", plan.name("wkt"))
    if geom is not None and geom.geom_type == "MultiPoint" and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    return geom


def _place_geometry(row: PreparedRow, geom: Any, ctx: _Context) -> None:
    """Place a line or polygon row: it goes to the context layer, located at a surface point.

    Raises
    ------
    RowRejected
        When the kind takes only points, or the geometry is unusable.
    """
    kind = ctx.kind
    if kind.geometry != "layer" and kind.name != "risk_points":
        raise RowRejected(f"{kind.name} must be points, not {geom.geom_type}", "geometry")
    row.place_columns = "geometry"
    row.geometry = _finish_geometry(geom, ctx.limits, row.warnings)
    row.target = "layer"
    rep = row.geometry.representative_point()
    row.lat, row.lon = rep.y, rep.x
    row.quality = "layer"
    if ctx.options.datum != "wgs84":
        row.warnings.append("datum setting not applied to lines and polygons")


def _place_by_coordinates(
    row: PreparedRow, values: Sequence[Any], get: Callable[[str], Any], ctx: _Context
) -> bool:
    """Place the row by its coordinate cells; return False when it has none.

    Raises
    ------
    RowRejected
        When a coordinate is NaN/Infinity or cannot be read.
    """
    plan = ctx.plan
    coord_cells = {f: get(f) for f in (*COORD_FIELDS, "zone")}
    for f in COORD_FIELDS:
        # Checked on the raw cell: "NaN" would otherwise pass for an empty cell.
        if f in plan.fields and is_non_finite(values[plan.fields[f]]):
            raise RowRejected(
                f"coordinate {json_safe(values[plan.fields[f]])!r} is not a finite "
                "number (NaN/Infinity)", plan.name(f))
    used = [f for f in COORD_FIELDS if coord_cells[f] is not None]
    if not used:
        return False
    row.place_columns = ", ".join(plan.name(f) for f in used)
    _place_point(row, ctx, column=row.place_columns, **coord_cells)
    return True


def _place_column_names(plan: ColumnPlan) -> str | None:
    """Return the file's coordinate and address columns, as a report's column (None: none)."""
    names = [plan.name(f) for f in (*COORD_FIELDS, "zone", *ADDRESS_FIELDS) if f in plan.fields]
    return ", ".join(dict.fromkeys(names)) or None


def _place_by_address(
    row: PreparedRow, get: Callable[[str], Any], ctx: _Context
) -> tuple[str, float | None]:
    """Place the row by its address (geocoded once per upload); return it and the match score.

    Raises
    ------
    RowRejected
        When there is no address, the kind needs coordinates, or no subdistrict matches.
    """
    kind = ctx.kind
    address = _address(get)
    address_cols = [ctx.plan.name(f) for f in ADDRESS_FIELDS if get(f) is not None]
    row.place_columns = ", ".join(address_cols) or None
    if address is None:
        # Name the (empty) place columns the file has, so the uploader knows where to look.
        raise RowRejected("no coordinates and no address", _place_column_names(ctx.plan))
    if not kind.allow_address:
        raise RowRejected(
            f"{kind.name} need coordinates; an address places them only "
            "approximately", row.place_columns)
    result = ctx.geocode_cache.get(address)
    if result is None:
        result = ctx.geocoder(address, province_code=ctx.geocode_province)
        ctx.geocode_cache[address] = result
    _place_address(row, result, address)
    return address, float(result.score) if result.score is not None else None


def _fast_coordinates(table: SourceTable, ctx: _Context) -> None:
    """Read latitude/longitude columns at once, for the rows not read so yet, where plain.

    The commonest upload has decimal degrees in latitude, longitude order inside the box
    around Thailand. Those rows are read with numpy for the whole column (about 100x faster
    than parsing cell by cell); every other row (swapped, DMS, Thai digits, UTM, links,
    another datum, NaN) still goes through :func:`com.geo.coords.parse_coordinate`. A table
    still being read (an upload) is read so in parts: each call takes the rows added since.
    """
    fields = ctx.plan.fields
    if ctx.fast_ok is None:
        if (table.geometries is not None or ctx.options.datum != "wgs84"
                or "lat" not in fields or "lon" not in fields
                or any(f in fields for f in ("location", "easting", "northing", "mgrs", "wkt"))):
            return
        ctx.fast_ok = []
        ctx.fast_place_columns = f"{ctx.plan.name('lat')}, {ctx.plan.name('lon')}"
    start = len(ctx.fast_ok)
    if start >= len(table.rows):
        return
    rows = table.rows[start:] if start else table.rows
    lat = decimal_column([r[fields["lat"]] for r in rows])
    lon = decimal_column([r[fields["lon"]] for r in rows])
    south, west, north, east = THAILAND_BBOX
    with np.errstate(invalid="ignore"):
        ok = (lat >= south) & (lat <= north) & (lon >= west) & (lon <= east)
    ctx.fast_ok += ok.tolist()
    ctx.fast_lat += lat.tolist()
    ctx.fast_lon += lon.tolist()


def _geocode_addresses(table: SourceTable, ctx: _Context) -> None:
    """Geocode, in one batch, the addresses of the rows that have nothing else to place them.

    Those are the rows without a geometry and without any coordinate cell: they are placed
    by their address (:func:`_place_by_address`), which then finds the answer in the upload's
    geocoding cache. :func:`com.ingest.geocode.geocode_many` answers each distinct address
    once and parses a chunk's addresses together; asking :func:`com.ingest.geocode.geocode`
    address by address repeated that work for every distinct address.
    """
    plan = ctx.plan
    if (table.geometries is not None or "wkt" in plan.fields or not ctx.kind.allow_address
            or not any(f in plan.fields for f in ADDRESS_FIELDS)):
        return
    coordinate_columns = [plan.fields[f] for f in COORD_FIELDS if f in plan.fields]
    addresses: list[str] = []
    for index, values in enumerate(table.rows):
        if ctx.fast_ok is not None and ctx.fast_ok[index]:
            continue
        if any(not is_blank_cell(values[i]) for i in coordinate_columns):
            continue
        address = _address(_field_getter(values, plan))
        if address is not None and address not in ctx.geocode_cache:
            addresses.append(address)
    distinct = list(dict.fromkeys(addresses))
    if distinct:
        results = geocode_many(distinct, province_code=ctx.geocode_province)
        ctx.geocode_cache.update(zip(distinct, results, strict=True))


def _place_point(row: PreparedRow, ctx: _Context, *, column: str | None, **cells: Any) -> None:
    """Place the row at its coordinate cells (any form the parser reads) in WGS 84.

    Raises
    ------
    RowRejected
        When a coordinate is NaN/Infinity, out of range or cannot be read.
    """
    fast = fast_decimal(cells, ctx.options.datum)
    if fast is not None:
        row.lat, row.lon = fast
        row.quality = "coordinates"
        return
    cells = {k: v for k, v in cells.items() if k != "zone" or v is not None}
    zone = cells.pop("zone", None)
    location = cells.pop("location", None)
    for value in (location, *cells.values()):
        if is_non_finite(value):
            raise RowRejected(
                f"coordinate {json_safe(value)!r} is not a finite number (NaN/Infinity)", column)
    for name in ("lat", "lon", "easting", "northing"):
        if cells.get(name) is not None:
            cells[name] = number_cell(cells[name], column)
    if location is not None and cells.get("lat") is None and cells.get("lon") is None:
        pair = number_pair(location, column)
        if pair is not None:  # "1.49e1, 103.5": read as two numbers, order checked as usual
            location = None
            cells["lat"], cells["lon"] = pair
    try:
        coord = parse_coordinate(
            location,
            lat=cells.get("lat"),
            lon=cells.get("lon"),
            easting=cells.get("easting"),
            northing=cells.get("northing"),
            zone=zone,
            mgrs=cells.get("mgrs"),
            datum=ctx.options.datum,
            transformation=ctx.options.transformation,
            locality_point=ctx.locality_point,
            # The header's or the province's zone, used only when the cell and the zone
            # column give none: a zone written in the data always wins.
            zone_hint=ctx.zone_hint,
        )
    except ParseError as exc:
        raise RowRejected(str(exc), column) from exc
    if not (math.isfinite(coord.lat) and math.isfinite(coord.lon)):
        raise RowRejected("coordinate is not a finite number (NaN/Infinity)", column)
    row.lat, row.lon = coord.lat, coord.lon
    row.quality = "coordinates"
    row.warnings.extend(coord.warnings)
    if coord.zone_from_hint and not ctx.plan.zone_hint:  # a header's zone is no guess
        row.warnings.append(f"no UTM zone given; zone {ctx.zone_hint} of the province used")
    if coord.transformation or coord.source_crs != "EPSG:4326":
        ctx.datum_notes.add(coord.datum_note)


def _place_address(row: PreparedRow, result: Any, address: str) -> None:
    """Place the row by a geocoding result: coordinates, or a confident subdistrict.

    Raises
    ------
    RowRejected
        When the address fits no subdistrict, or several equally, or only a district.
    """
    if result.quality == "coordinates" and result.lat is not None and result.lon is not None:
        row.lat, row.lon, row.quality = result.lat, result.lon, "coordinates"
        row.warnings.append("the address cell held coordinates")
        return
    if result.quality == "subdistrict" and not result.ambiguous and result.tambon_code:
        row.subdistrict_code = str(result.tambon_code)
        row.quality = "subdistrict"
        row.approximate = True
        row.warnings.append(
            f"placed approximately at the centre of subdistrict {row.subdistrict_code} "
            f"(address match score {result.score})"
        )
        return
    candidates = "; ".join(
        f"{c.tambon_code} {c.name} ({c.score:.0f})" for c in (result.candidates or ())[:5]
    )
    if result.ambiguous:
        why = "the address fits more than one subdistrict equally"
    elif result.quality in ("district", "province"):
        why = f"the address only identifies a {result.quality}, not a subdistrict"
    else:
        why = "the address matches no subdistrict well enough"
    message = getattr(result, "message", "")
    reason = f"{why}: {address!r}"
    if message:
        reason += f" ({message})"
    if candidates:
        reason += f"; candidates: {candidates}"
    raise RowRejected(reason, row.place_columns)


def prepare_rows(
    table: SourceTable,
    *,
    options: ImportOptions,
    settings: Settings | None = None,
    zone_hint: int | None = None,
    limits: ReadLimits | None = None,
    geocoder: Callable[..., Any] | None = None,
    today: date | None = None,
    locality_point: Callable[[str], tuple[float, float] | None] | None = None,
) -> tuple[list[PreparedRow], ColumnPlan, set[str]]:
    """Parse every row of a table (no database): place, category, severity, date, record.

    Parameters
    ----------
    table : SourceTable
        From :func:`com.ingest.readers.read_table`.
    options : ImportOptions
        Kind, province, mapping, datum.
    settings : Settings, optional
        For ``default_province`` (geocoding context) and ``severity_config``.
    zone_hint : int, optional
        UTM zone used for eastings/northings without a zone (the province's zone).
    limits : ReadLimits, optional
        Geometry vertex cap.
    geocoder : callable, optional
        ``geocoder(address, province_code=...)``; default :func:`com.ingest.geocode.geocode`.
    today : date, optional
        For future-date warnings.
    locality_point : callable, optional
        ``locality_point(place_text) -> (lat, lon) or None``: the reference point of the
        place written after a short Plus Code (empty text: the upload's province).

    Returns
    -------
    tuple
        The prepared rows (pending or rejected), the column plan and the datum notes.

    Raises
    ------
    com.errors.ValidationError
        Unknown kind.
    com.errors.UploadError
        See :func:`com.ingest.columns.plan_columns`.
    """
    preparation = start_preparing(
        table, options=options, settings=settings, zone_hint=zone_hint, limits=limits,
        geocoder=geocoder, today=today, locality_point=locality_point,
    )
    built = preparation.prepare_fast(preparation.fast_indices())
    return preparation.rows(built), preparation.plan, preparation.datum_notes


@dataclass
class Preparation:
    """One table's rows being prepared: the column plan and what the rows share.

    :func:`prepare_rows` prepares them all at once; an upload that stores its commonest rows
    while it prepares the next ones (:mod:`com.ingest.uploads`) takes them in parts: the rows
    with plain decimal coordinates (:meth:`fast_indices`) column by column, in slices
    (:meth:`prepare_fast`, no database), then every other row (:meth:`rows`).
    """

    table: SourceTable
    ctx: _Context

    @property
    def plan(self) -> ColumnPlan:
        """The column plan."""
        return self.ctx.plan

    @property
    def datum_notes(self) -> set[str]:
        """The coordinate conversions made so far (complete after :meth:`rows`)."""
        return self.ctx.datum_notes

    @property
    def column_wise(self) -> bool:
        """Whether rows with plain decimal coordinates are prepared column by column.

        Settled when the preparing starts (:func:`start_preparing`), whatever rows follow.
        """
        return _column_wise(self.table, self.ctx)

    def fast_indices(self, start: int = 0) -> list[int]:
        """Return the indices, from ``start`` on, of the rows prepared column by column.

        A table still being read may have more rows at each call (:mod:`com.ingest.uploads`).
        """
        _fast_coordinates(self.table, self.ctx)
        return _fast_indices(self.table, self.ctx, start)

    def fast_coordinates(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Return the latitudes and longitudes of some of :meth:`fast_indices`, as arrays.

        They are the rows' ``lat`` and ``lon`` once prepared: an upload computes what
        depends on them alone (H3 cells, subdistricts, crowded rows) beside the preparing.
        """
        ctx = self.ctx
        return (np.fromiter(map(ctx.fast_lat.__getitem__, indices), float, len(indices)),
                np.fromiter(map(ctx.fast_lon.__getitem__, indices), float, len(indices)))

    def prepare_fast(self, indices: Sequence[int]) -> dict[int, PreparedRow]:
        """Prepare some of :meth:`fast_indices` (in any slices); return them by index."""
        return _prepare_columns(self.table, self.ctx, indices) if indices else {}

    def rows(self, built: dict[int, PreparedRow]) -> list[PreparedRow]:
        """Every row in file order: those in ``built`` as they are, the others prepared now.

        The table is whole by now: the addresses of the rows placed by them are geocoded
        first, in one batch (:func:`_geocode_addresses`).
        """
        table, ctx = self.table, self.ctx
        _fast_coordinates(table, ctx)
        if ctx.batch_geocode:
            ctx.batch_geocode = False
            _geocode_addresses(table, ctx)
        return [built.get(i) or _prepare_row(table, i, ctx) for i in range(len(table.rows))]


def start_preparing(
    table: SourceTable,
    *,
    options: ImportOptions,
    settings: Settings | None = None,
    zone_hint: int | None = None,
    limits: ReadLimits | None = None,
    geocoder: Callable[..., Any] | None = None,
    today: date | None = None,
    locality_point: Callable[[str], tuple[float, float] | None] | None = None,
) -> Preparation:
    """Plan the columns and read what is read for whole columns (see :func:`prepare_rows`).

    Raises
    ------
    com.errors.ValidationError
        Unknown kind.
    com.errors.UploadError
        See :func:`com.ingest.columns.plan_columns`.
    """
    kind = lookup_kind(options.kind)
    plan = plan_columns(table, mapping=options.mapping, kind=kind)
    severity_path = getattr(settings, "severity_config", None) if settings else None
    # Uploads correct category typos (fuzzy) and report each correction as a row warning.
    matcher = CategoryMatcher.from_model(load_severity_model(severity_path), fuzzy=True)
    ctx = _Context(
        options=options,
        kind=kind,
        plan=plan,
        categories=matcher,
        severity_words=load_severity_words(severity_path),
        geocode_province=options.province_code
        or (getattr(settings, "default_province", None) if settings else None),
        zone_hint=plan.zone_hint or zone_hint,
        layer=options.layer or "uploaded",
        limits=limits or ReadLimits(),
        today=today or date.today(),
        geocoder=geocoder if geocoder is not None else geocode,
        locality_point=locality_point,
        batch_geocode=geocoder is None,
        date_utc=("date" in plan.fields and plan.columns[plan.fields["date"]]
                  == table.details.get("submission_time_column")),
    )
    _fast_coordinates(table, ctx)
    return Preparation(table, ctx)


_TEXT_CELLS = {str, type(None)}
_NO_EXTRA: dict[str, Any] = {}


def _column_wise(table: SourceTable, ctx: _Context) -> bool:
    """Whether :func:`_prepare_columns` takes this table's rows with plain coordinates."""
    return (ctx.fast_ok is not None and table.geometries is None
            and ctx.kind.build is build_risk_point and ctx.kind.geometry != "layer"
            and not table.details.get("geometry_errors"))


def _fast_indices(table: SourceTable, ctx: _Context, start: int = 0) -> list[int]:
    """Return the indices from ``start`` of the rows :func:`_prepare_columns` takes.

    Those are risk points placed by plain decimal coordinates (:func:`_fast_coordinates`) in
    a table whose rows have one cell per column (ragged rows: all row by row).
    """
    if not _column_wise(table, ctx):
        return []
    fast_ok = ctx.fast_ok
    assert fast_ok is not None
    indices = list(compress(range(start, len(fast_ok)), fast_ok[start:]))
    width = len(ctx.plan.columns)
    if any(len(table.rows[i]) != width for i in indices):
        return []  # ragged rows: left to _prepare_row
    return indices


def _prepare_columns(
    table: SourceTable, ctx: _Context, indices: Sequence[int]
) -> dict[int, PreparedRow]:
    """Prepare rows of :func:`_fast_indices` column by column; return them by index.

    Their record is built by :func:`com.ingest.records.build_risk_points`, which reads each
    distinct category, severity, date and count once for the whole column with the same
    parts as :func:`com.ingest.records.build_risk_point` (row by row this took about 30 us a
    row, most of the upload's Python). Every other row goes through :func:`_prepare_row`.
    """
    plan = ctx.plan
    source = [table.rows[i] for i in indices]
    width = len(plan.columns)
    # Every row has one cell per column (_fast_indices): transposed in C.
    by_column: list[Sequence[Any]] = list(zip(*source, strict=True)) if source else [
        () for _ in range(width)]
    # Text and empty cells (every delimited file) are their own JSON value: no copy per row.
    as_is = all(set(map(type, cells)) <= _TEXT_CELLS for cells in by_column)
    columns = {f: by_column[c] for f, c in plan.fields.items()}
    row_id = plan.fields.get("row_id")
    names = plan.columns
    unknown = [(names[c], c) for c in plan.unknown]
    extras: list[dict[str, Any]] = []
    originals: list[Sequence[Any]] = []
    fingerprints: list[Hashable] = []
    if as_is:
        # Text cells hash as they are: each row's fingerprint (_fingerprint's hash of its
        # cells but the row id) is made from the columns in C.
        originals.extend(source)  # made into a dict only for a report line (original_values)
        fingerprints = list(map(hash, zip(*(cells for c, cells in enumerate(by_column)
                                             if c != row_id), strict=True)))
        if unknown:
            extras = [{name: cells[c] for name, c in unknown if cells[c] is not None}
                      for cells in source]
        else:
            extras = [_NO_EXTRA] * len(source)
    else:
        for values in source:
            cells = list(map(cell_json, values))
            originals.append(cells)
            fingerprints.append(_fingerprint(cells, row_id, None))
            extras.append({name: cells[c] for name, c in unknown
                           if cells[c] is not None} if unknown else _NO_EXTRA)
    records, warnings, stored = zip(*built, strict=True) if (built := build_risk_points(
        columns, len(source), extras, ctx.shared)) else ((), (), ())
    # The rows made by one map in C (positional: the field order is checked at import,
    # _FAST_FIELDS); a call with keywords per row cost 0.05 s more per 100,000.
    rows = map(
        PreparedRow, map(table.row_numbers.__getitem__, indices), repeat("pending"),
        repeat("main"), repeat(None), repeat(None), warnings,
        map(ctx.fast_lat.__getitem__, indices), map(ctx.fast_lon.__getitem__, indices),
        repeat(None), repeat(None), repeat(None), repeat(None), repeat("coordinates"),
        repeat(False), map(itemgetter("category"), records), repeat(None), fingerprints,
        repeat(ctx.fast_place_columns), records, iter(dict, None), stored,
        zip(repeat(names), originals, strict=False),  # repeat() never ends
    )
    return dict(zip(indices, rows, strict=True))
