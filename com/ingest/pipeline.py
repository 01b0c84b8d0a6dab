"""Uploads: read a file, place every row, store it in one transaction, report each row.

How an upload runs (:func:`import_upload`)
-----------------------------------------
1. The bytes are hashed; the same bytes with the same options (kind, province, sheet,
   mapping, layer, datum) return the earlier upload with ``already_uploaded=True`` and store
   nothing. An ``idempotency_key`` names a request: the same key with other data is refused.
2. :func:`com.ingest.readers.read_table` checks the type, the zip limits and the caps and returns
   the table; columns are recognised by name (Thai or English) or by an explicit mapping.
3. Each row is prepared in Python (:func:`prepare_rows`): coordinates through
   :func:`com.geo.coords.parse_coordinate` (decimal, DMS, UTM, MGRS, Google links, swapped
   order, Indian 1975 datum), else the address through :func:`com.ingest.geocode.geocode` (only a
   confident subdistrict is accepted, placed at its representative point and flagged
   approximate), then the kind's row builder (category, severity, date ... for risk points).
4. The places of the rows are COPYed into a narrow temporary table and checked set-based in
   PostGIS (``com/db/sql/ingest_*.sql``): subdistrict of every point, outside Thailand,
   outside the province, and duplicates against stored records (``ST_DWithin`` on geography
   with the GiST index). Duplicates within the file (same key within
   ``duplicate_distance_m``, or an identical row) are found with a KD-tree in memory.
5. The stored rows are COPYed straight into the target table (their ids read back by
   upload) and every row into ``upload_rows``; an audit row is written. Nothing commits
   here: the caller owns the transaction, so a failure half-way leaves nothing behind.

Kinds
-----
``KINDS`` maps an upload kind to a :class:`Kind`: the target table, the record columns a
row builder fills, extra column names to recognise, whether address-only rows are allowed and
which column makes two nearby records duplicates. Built in: ``risk_points``, ``cameras`` and
``layer`` (lines and polygons into ``context_layers``; lines and polygons in a risk-point
file go there too). A later kind (``projects``, ``sites``) needs only its table, with an
identity ``id`` and the columns ``geom``, ``subdistrict_code``, ``province_code``,
``source_upload_id`` and ``source_row`` (and ``district_code`` if ``has_district``), and a
registration::

    register_kind(Kind(name="sites", table="candidate_sites", columns=("name", "attributes"),
                       build=build_site, extra_fields={"capacity": ("ความจุ", "capacity")}))

where ``build_site(row: RowValues) -> BuiltRecord`` returns the record values keyed by
column (dicts and lists are stored as JSON) and the duplicate key, or raises
:class:`RowRejected`.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TextIO, cast

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from com.config.settings import Settings
from com.config.severity import (
    CategoryMatcher,
    SeverityModel,
    cached_severity_model,
    load_severity_model,
    sensitive_categories,
)
from com.db import tables_ingest  # noqa: F401 - registers upload_keys on the metadata
from com.db.engine import load_sql, sql, transaction
from com.db.tables import Upload
from com.errors import (
    ConflictError,
    NotFoundError,
    ParseError,
    PermissionDenied,
    UploadError,
    ValidationError,
)
from com.ingest.readers import (
    FIELD_ALIASES,
    ReadLimits,
    SourceTable,
    header_key,
    json_safe,
    read_table,
    recognise_column,
    upload_name,
    with_file_name,
)
from com.ingest.readers.headers import ValueProfile, guess_field, profile_values, value_support
from com.ingest.reasons import RowReason, describe
from com.io.escape import escape_formula
from com.security import audit
from com.security.access import CLI, Principal
from com.text.thai import clean_text, is_blank

__all__ = [
    "KINDS",
    "BuiltRecord",
    "ImportOptions",
    "Kind",
    "PreparedRow",
    "RowRejected",
    "RowValues",
    "UploadSummary",
    "coarsen_report_rows",
    "export_risk_points",
    "get_upload",
    "import_path",
    "import_upload",
    "list_uploads",
    "plan_columns",
    "prepare_rows",
    "register_kind",
    "tidy_text",
    "write_report_csv",
]

#: A point outside every subdistrict polygon but within this distance of one is taken as
#: inside it (the simplified boundaries leave slivers); same rule as com.geodata.where.
BOUNDARY_TOLERANCE_M = 1000.0
#: Degree pre-filter at least as wide as BOUNDARY_TOLERANCE_M anywhere in Thailand.
_TOLERANCE_DEG = 0.0105
#: UTM zones: 47 west of 102 E, 48 east of it.
_ZONE_SPLIT_LON = 102.0
_COORD_FIELDS = ("location", "lat", "lon", "easting", "northing", "mgrs")
_ADDRESS_FIELDS = ("address", "village", "moo", "subdistrict", "district", "province", "postcode")
_NON_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
_MAX_SUMMARY_WARNINGS = 50
_DEFAULT_SEVERITY = 3


# --------------------------------------------------------------------------- options / results


@dataclass(frozen=True)
class ImportOptions:
    """What the uploader said about a file.

    Attributes
    ----------
    kind : str
        A key of ``KINDS``: ``risk_points`` (default), ``cameras`` or ``layer``.
    province_code : str, optional
        The upload's province ("32" or a Thai/English name): address context and a check
        that every point lies in it. Default: ``settings.default_province``.
    sheet : str, optional
        Worksheet (XLSX/XLS), layer (GeoPackage) or shapefile in a zip; default the first.
    mapping : mapping of str to str
        Column name -> field (``{"พิกัดจุด": "location", "Remark": "note"}``); the field
        ``ignore`` drops a column. Overrides recognition by name.
    layer : str, optional
        Context layer name for ``kind="layer"`` and for lines/polygons in other uploads.
    datum : str
        ``wgs84`` (default) or ``indian1975`` for legacy coordinates.
    transformation : str, optional
        Indian 1975 -> WGS 84 operation (``EPSG:1812`` default, or ``EPSG:1304``).
    idempotency_key : str, optional
        A client's retry key: the same key returns the same upload; with other data it is
        refused.
    """

    kind: str = "risk_points"
    province_code: str | None = None
    sheet: str | None = None
    mapping: Mapping[str, str] = field(default_factory=dict)
    layer: str | None = None
    datum: str = "wgs84"
    transformation: str | None = None
    idempotency_key: str | None = None

    def request_key(self, sha256: str) -> str:
        """Hash of the bytes and every option that changes the outcome."""
        payload = json.dumps(
            {
                "sha256": sha256,
                "kind": self.kind,
                "province": self.province_code,
                "sheet": self.sheet,
                "mapping": sorted(dict(self.mapping).items()),
                "layer": self.layer,
                "datum": self.datum,
                "transformation": self.transformation,
            },
            ensure_ascii=False,
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class UploadSummary:
    """The outcome of an upload (what ``com import`` prints)."""

    upload_id: int
    rows: int
    stored: int
    rejected: int
    duplicates: int
    warnings: list[str]
    already_uploaded: bool = False
    kind: str = "risk_points"
    filename: str = ""
    province_code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON summary."""
        return {
            "upload_id": self.upload_id,
            "rows": self.rows,
            "stored": self.stored,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "warnings": self.warnings,
            "already_uploaded": self.already_uploaded,
            "kind": self.kind,
            "filename": self.filename,
            "province_code": self.province_code,
        }


class RowRejected(Exception):  # noqa: N818 - a row outcome, not a program error
    """Raised by row builders: the row cannot be stored (column and reason reported)."""

    def __init__(self, reason: str, column: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.column = column

    @property
    def described(self) -> RowReason:
        """The reason's code and its Thai and English texts (``reasons.describe``)."""
        described = describe(self.reason)
        assert described is not None
        return described


_WHITESPACE = re.compile(r"\s+")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def tidy_text(text: str) -> str:
    """Return text as the uploader wrote it, tidied.

    NFC, no invisible characters, single spaces. Unlike :func:`com.text.thai.clean_text` it keeps
    Thai digits: names and notes are shown back as written.
    """
    # Most cells are already tidy: printable (no tabs, newlines, invisible or odd spaces),
    # single-spaced, trimmed and NFC. Checking that is far cheaper than rebuilding them.
    if (text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " "
            and unicodedata.is_normalized("NFC", text)):
        return text
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text).translate(_INVISIBLE)).strip()


def _blank(value: object) -> bool:
    """Return :func:`com.text.thai.is_blank` of a cell, faster.

    Text starting with a letter or digit other than n/N is never blank (the blank words all
    start with n), so it is not cleaned first.
    """
    if value is None:
        return True
    if type(value) is str:
        head = value[:1]  # a leading space is not alphanumeric: such text is cleaned below
        if head.isalnum() and head not in "nN":
            return False
    return is_blank(value)


@dataclass
class RowValues:
    """One row as a kind's builder sees it.

    Attributes
    ----------
    fields : dict
        Raw cell value of each recognised field (``category``, ``severity``, ...).
    columns : dict
        Field -> column name, for messages.
    extra : dict
        Unrecognised columns (name -> JSON value), kept as attributes.
    address : str or None
        The address used (combined from the address columns), cleaned.
    quality : str
        ``coordinates`` or ``subdistrict`` (address-only, approximate).
    geocode_score : float or None
        Score of the address match for approximate rows.
    warnings : list of str
        Builders append what the uploader should know.
    context : dict
        Upload-wide helpers shared by all rows (``categories``, ``severity_words``,
        ``layer``, ``today``, ``cache``).
    original : dict
        Every cell of the row by column name (JSON values).
    geometry_hex : str or None
        WKB of a line/polygon row (layers).
    """

    fields: dict[str, Any]
    columns: dict[str, str]
    extra: dict[str, Any]
    address: str | None
    quality: str
    geocode_score: float | None
    warnings: list[str]
    context: dict[str, Any]
    original: dict[str, Any] = field(default_factory=dict)
    geometry_hex: str | None = None

    def get(self, name: str) -> Any:
        """Return the raw value of a field, None when absent or blank."""
        value = self.fields.get(name)
        if value is None:
            return None
        return None if _blank(value) else value

    def text(self, name: str) -> str | None:
        """Return a field as tidy text (as written, Thai digits kept), None when blank."""
        value = self.get(name)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return tidy_text(value if type(value) is str else str(json_safe(value))) or None


@dataclass
class BuiltRecord:
    """What a builder returns: the record's column values and the duplicate key."""

    values: dict[str, Any]
    dedupe_key: str | None = ""


@dataclass(frozen=True)
class Kind:
    """An upload kind: where its rows go and how a row becomes a record.

    Attributes
    ----------
    name : str
        The kind's key (``risk_points``).
    table : str
        Target table with an identity ``id`` and ``geom``, ``subdistrict_code``,
        ``province_code``, ``source_upload_id`` and ``source_row`` columns.
    columns : tuple of str
        Record columns the builder fills (COPYed in this order).
    build : callable
        ``build(RowValues) -> BuiltRecord``; raises :class:`RowRejected`.
    extra_fields : mapping
        More ``field -> column names`` to recognise (``radius_m`` for cameras).
    allow_address : bool
        Accept address-only rows (placed approximately).
    dedupe_column : str or None
        Column compared with the duplicate key (``category``); None: any record nearby.
    has_district : bool
        The table has ``district_code``.
    has_approximate : bool
        The table has ``approximate``, ``name`` and ``address`` (address-row duplicates).
    geometry : str
        ``point`` (rows are points; lines and polygons go to context layers) or ``layer``.
    """

    name: str
    table: str
    columns: tuple[str, ...]
    build: Callable[[RowValues], BuiltRecord]
    extra_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    allow_address: bool = True
    dedupe_column: str | None = None
    has_district: bool = False
    has_approximate: bool = False
    geometry: str = "point"


KINDS: dict[str, Kind] = {}
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def register_kind(kind: Kind) -> None:
    """Add (or replace) an upload kind in ``KINDS``.

    Raises
    ------
    com.errors.ConfigError
        When a table or column name is not a plain SQL identifier.
    """
    from com.errors import ConfigError

    for ident in (kind.table, *kind.columns, *(filter(None, [kind.dedupe_column]))):
        if not _IDENT.match(ident):
            raise ConfigError(f"kind {kind.name}: {ident!r} is not a plain SQL identifier")
    KINDS[kind.name] = kind


# --------------------------------------------------------------------------- builders


def _cached(ctx: dict[str, Any], kind: str, value: Any, parse: Callable[[Any], Any]) -> Any:
    """Parse a value once per upload: dates and severity words repeat from row to row."""
    cache = ctx.setdefault("cache", {})
    key = (kind, type(value).__name__, value)
    try:
        hit = cache[key]
    except (KeyError, TypeError):
        try:
            hit = parse(value)
        except ParseError as exc:
            hit = exc
        with contextlib.suppress(TypeError):  # an unhashable cell value is not cached
            cache[key] = hit
    if isinstance(hit, ParseError):
        raise hit
    return hit


def _parse_count(row: RowValues) -> int:
    raw = row.get("count")
    if raw is None:
        return 1
    try:
        number = float(clean_text(str(raw)).replace(",", ""))
    except ValueError:
        number = float("nan")
    if not math.isfinite(number) or number < 1 or not number.is_integer():
        row.warnings.append(f"count {json_safe(raw)!r} is not a whole number of 1 or more; 1 used")
        return 1
    return int(number)


#: An ISO timestamp with its time (and zone): KoboToolbox, ODK, GPX and phone exports.
_ISO_TIMESTAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(Z|[+-]\d{2}(?::?\d{2})?)?"
)
#: A time of day beside a date: "14.30 น.", "14:30 น.", "เวลา 09.15 น.", "2:30 PM", "GMT+7".
#: A dotted time counts only with น./นาฬิกา or เวลา (14.03 alone may be a day and month).
_TIME_OF_DAY = re.compile(
    r"(?:เวลา\s*)?\d{1,2}[.:]\d{2}(?:[.:]\d{2})?\s*(?:น\.?|นาฬิกา)"
    r"|เวลา\s*\d{1,2}[.:]\d{2}(?:[.:]\d{2})?"
    r"|\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?"
    r"|\b(?:GMT|UTC|ICT)\s*(?:[+-]\s*\d{1,2}(?::?\d{2})?)?|\bเวลา\b"
)
_BANGKOK_OFFSET_H = 7


def parse_report_date(value: object, *, naive_utc: bool = False) -> date | None:
    """Read a report date, its time of day (Thai or English) set aside.

    A timestamp with a zone ("2024-03-14T20:00:00Z", "+07:00") is the day in Thailand
    (UTC+7); ``naive_utc`` reads one without a zone as UTC (KoboToolbox's
    ``_submission_time``). Otherwise :func:`com.text.thai.parse_date` reads the text, first as
    written, then with the time of day left out ("14.30 น. 14/03/2567", "เวลา 09.15 น.").

    Raises
    ------
    com.errors.ParseError
        When no date can be read.

    Examples
    --------
    >>> parse_report_date("2024-03-14T20:00:00Z")
    datetime.date(2024, 3, 15)
    >>> parse_report_date("เวลา 09.15 น. ๑๔/๐๓/๒๕๖๗")
    datetime.date(2024, 3, 14)
    """
    from datetime import datetime, timedelta

    from com.text.thai import parse_date

    if isinstance(value, str):
        text = clean_text(value)
        m = _ISO_TIMESTAMP.fullmatch(text.strip())
        if m is not None and (m.group(3) or naive_utc):
            zone = m.group(3) or "Z"
            stamp = f"{m.group(1)}T{m.group(2)}{'+00:00' if zone == 'Z' else zone}"
            if len(zone) == 3:  # "+07"
                stamp += ":00"
            try:
                moment = datetime.fromisoformat(stamp)
            except ValueError:
                moment = None
            if moment is not None and moment.utcoffset() is not None:
                offset = moment.utcoffset() or timedelta(0)
                local = moment - offset + timedelta(hours=_BANGKOK_OFFSET_H)
                return parse_date(local.date())
        try:
            return parse_date(value)
        except ParseError:
            rest = " ".join(_TIME_OF_DAY.sub(" ", text).split())
            if not rest or rest == text:
                raise
            return parse_date(rest)
    return parse_date(value)


def build_risk_point(row: RowValues) -> BuiltRecord:
    """Build a risk point: category, severity 1-5, date, count, name, address, attributes."""
    from com.text.thai import parse_severity

    ctx = row.context
    attributes = dict(row.extra)
    category, warning = ctx["categories"].match(row.get("category"))
    if warning:
        row.warnings.append(warning)
    raw_severity = row.get("severity")
    if raw_severity is None:
        severity = _DEFAULT_SEVERITY
        row.warnings.append(f"no severity given; {_DEFAULT_SEVERITY} (ปานกลาง) used")
    else:
        try:
            severity = _cached(ctx, "severity", raw_severity, lambda v: parse_severity(
                v, words=ctx.get("severity_words")))
        except ParseError as exc:
            severity = _DEFAULT_SEVERITY
            attributes["severity_raw"] = json_safe(raw_severity)
            row.warnings.append(f"{exc}; {_DEFAULT_SEVERITY} (ปานกลาง) used")
    raw_date = row.get("date")
    reported_on: date | None = None
    if raw_date is not None:
        try:
            naive_utc = bool(ctx.get("date_utc"))
            reported_on = _cached(ctx, "date", raw_date,
                                  lambda v: parse_report_date(v, naive_utc=naive_utc))
        except ParseError as exc:
            attributes["date_raw"] = json_safe(raw_date)
            row.warnings.append(f"{exc}; the date is left empty")
        if reported_on is not None and reported_on > ctx["today"]:
            row.warnings.append(f"date {reported_on.isoformat()} is in the future")
    note = row.text("note")
    if note:
        attributes["note"] = note
    return BuiltRecord(
        values={
            "name": row.text("name"),
            "category": category,
            "category_raw": row.text("category"),
            "severity": severity,
            "incident_count": _parse_count(row),
            "reported_on": reported_on.isoformat() if reported_on else None,
            "address": row.address,
            "geocode_quality": row.quality,
            "geocode_score": row.geocode_score,
            "approximate": row.quality != "coordinates",
            "attributes": attributes,
        },
        dedupe_key=category,
    )


def build_camera(row: RowValues) -> BuiltRecord:
    """Build a CCTV camera: name, coverage radius in metres (รัศมี), attributes."""
    attributes = dict(row.extra)
    note = row.text("note")
    if note:
        attributes["note"] = note
    radius = None
    raw = row.get("radius_m")
    if raw is not None:
        try:
            radius = float(clean_text(str(raw)).lower().replace(",", "").removesuffix("m")
                           .removesuffix("เมตร").removesuffix("ม.").strip())
        except ValueError:
            radius = None
        if radius is None or not math.isfinite(radius) or not 0 < radius <= 5000:
            row.warnings.append(
                f"radius {json_safe(raw)!r} is not a distance of 1-5000 m; left empty"
            )
            attributes["radius_raw"] = json_safe(raw)
            radius = None
    return BuiltRecord(
        values={"name": row.text("name"), "radius_m": radius, "attributes": attributes},
        dedupe_key="",
    )


def build_layer_feature(row: RowValues) -> BuiltRecord:
    """Build a context-layer feature: its layer, name and all original values as properties."""
    props = {k: v for k, v in row.original.items() if v is not None}
    name = row.text("name")
    key_source = json.dumps([name, row.geometry_hex], ensure_ascii=False)
    return BuiltRecord(
        values={
            "layer": row.context["layer"],
            "name": name,
            "properties": props,
            "feature_key": hashlib.sha1(key_source.encode()).hexdigest()[:20],
        },
        dedupe_key=None,
    )


register_kind(
    Kind(
        name="risk_points",
        table="risk_points",
        columns=("name", "category", "category_raw", "severity", "incident_count",
                 "reported_on", "address", "geocode_quality", "geocode_score", "approximate",
                 "attributes"),
        build=build_risk_point,
        dedupe_column="category",
        has_district=True,
        has_approximate=True,
    )
)
register_kind(
    Kind(
        name="cameras",
        table="cameras",
        columns=("name", "radius_m", "attributes"),
        build=build_camera,
        extra_fields={"radius_m": ("รัศมี", "รัศมี (ม.)", "รัศมีครอบคลุม", "ระยะครอบคลุม",
                                   "radius", "radius m", "coverage", "range")},
        allow_address=False,
    )
)
register_kind(
    Kind(
        name="layer",
        table="context_layers",
        columns=("layer", "feature_key", "name", "properties"),
        build=build_layer_feature,
        allow_address=False,
        geometry="layer",
    )
)


def build_project(row: RowValues) -> BuiltRecord:
    """Build a project (issue 4): name and fiscal year (:func:`com.analysis.kpi.build_project`)."""
    from com.analysis.kpi import build_project as build

    return build(row)


register_kind(
    Kind(
        name="projects",
        table="projects",
        columns=("name", "fiscal_year_be", "attributes"),
        build=build_project,
        extra_fields={"fiscal_year_be": ("ปีงบประมาณ", "ปีงบ", "ปีงบประมาณ พ.ศ.", "fiscal year",
                                         "fiscal_year", "fiscal_year_be", "fy")},
        dedupe_column="project_key",  # generated: name | fiscal year (com/db/tables_risk.py)
        has_district=True,
    )
)


def build_site(row: RowValues) -> BuiltRecord:
    """Build a candidate CCTV site (issue 5); see :func:`com.siting.build_site`."""
    from com.siting.candidates import build_site as build

    return build(row)


def _site_cost_names() -> tuple[str, ...]:
    from com.siting.candidates import COST_NAMES

    return COST_NAMES


register_kind(
    Kind(
        name="sites",
        table="candidate_sites",
        columns=("name", "cost", "attributes"),
        build=build_site,
        extra_fields={"cost": _site_cost_names()},
        allow_address=False,
        has_district=True,
    )
)


# --------------------------------------------------------------------------- columns


@dataclass
class ColumnPlan:
    """Which column holds which field.

    ``notes`` say, in Thai and English, which column was chosen when two competed and which
    were recognised by their values; ``zone_hint`` is a UTM zone written in a header.
    """

    fields: dict[str, int]
    columns: list[str]
    unknown: list[int]
    ignored: list[int]
    notes: list[str] = field(default_factory=list)
    zone_hint: int | None = None

    def name(self, field_name: str) -> str:
        """Return the column name of a field."""
        return self.columns[self.fields[field_name]]

    def as_dict(self) -> dict[str, str]:
        """Return column -> field, for the upload options."""
        return {self.columns[i]: f for f, i in sorted(self.fields.items(), key=lambda x: x[1])}


def _numbers(table: SourceTable, index: int, limit: int = 50) -> list[float]:
    out = []
    for row in table.rows[:limit]:
        value = row[index]
        try:
            out.append(abs(float(clean_text(str(value)).replace(",", ""))))
        except (TypeError, ValueError):
            continue
    return out


def plan_columns(
    table: SourceTable,
    *,
    mapping: Mapping[str, str] | None = None,
    kind: Kind | None = None,
) -> ColumnPlan:
    """Recognise the columns of a table, apply the mapping and check a place can be read.

    A place is coordinates, an address or geometries.

    Parameters
    ----------
    table : SourceTable
        The file's table.
    mapping : mapping of str to str, optional
        Column name -> field, overriding recognition; the field ``ignore`` drops a column.
    kind : Kind, optional
        Adds the kind's extra field names (``radius_m`` for cameras).

    Returns
    -------
    ColumnPlan
        Field -> column index, and the unrecognised columns (kept as attributes).

    Raises
    ------
    com.errors.UploadError
        When the mapping names an unknown column or field, or no coordinate, address or
        geometry source exists (the message lists the columns found and the fields expected).
    """
    extra = dict(kind.extra_fields) if kind else {}
    known_fields = set(FIELD_ALIASES) | set(extra)
    fields: dict[str, int] = {}
    ignored: list[int] = []
    mapped: set[int] = set()
    for column, fld in (mapping or {}).items():
        target = str(fld).strip()
        if target not in known_fields and target != "ignore":
            raise UploadError(
                f"mapping {column}={fld}: unknown field {fld!r}; fields are "
                f"{', '.join(sorted(known_fields))} or ignore"
            )
        idx = next((i for i, c in enumerate(table.columns) if c == column), None)
        if idx is None:
            idx = next(
                (i for i, c in enumerate(table.columns) if header_key(c) == header_key(column)),
                None,
            )
        if idx is None:
            raise UploadError(
                f"mapping {column}={fld}: the file has no column {column!r}; columns: "
                f"{', '.join(table.columns)}"
            )
        mapped.add(idx)
        if target == "ignore":
            ignored.append(idx)
        else:
            fields[target] = idx
    all_parts = table.header_parts or [(c,) for c in table.columns]
    profiles = [profile_values([r[i] for r in table.rows[:200] if i < len(r)])
                for i in range(len(table.columns))]
    notes: list[str] = []
    zone_hint: int | None = None
    contenders: dict[str, list[int]] = {}
    for i, parts in enumerate(all_parts):
        if i in mapped:
            continue
        found = recognise_column(parts, extra)
        if found is not None and found not in fields:
            contenders.setdefault(found, []).append(i)
        for part in parts:
            guess = guess_field(part) if part else None
            if guess is not None and guess.zone and zone_hint is None:
                zone_hint = guess.zone
    for fld, indexes in contenders.items():
        fields[fld] = _choose_column(fld, indexes, table.columns, profiles, notes)
    if not any(f in fields for f in (*_COORD_FIELDS, "wkt", *_ADDRESS_FIELDS)) and (
        table.geometries is None
    ):
        _fields_from_values(fields, set(mapped), table.columns, profiles, notes)
    _hint_fields(table, fields, mapped, notes)
    # "X"/"Y" (and "E"/"N") are longitude/latitude in degrees or UTM metres: tell by value.
    if "lat" in fields and "lon" in fields and "easting" not in fields:
        values = _numbers(table, fields["lat"]) + _numbers(table, fields["lon"])
        if values and sorted(values)[len(values) // 2] > 1000:
            fields["northing"] = fields.pop("lat")
            fields["easting"] = fields.pop("lon")
    if "easting" in fields and "northing" in fields and "lat" not in fields:
        values = _numbers(table, fields["easting"]) + _numbers(table, fields["northing"])
        if values and sorted(values)[len(values) // 2] <= 180:
            fields["lat"] = fields.pop("northing")
            fields["lon"] = fields.pop("easting")
    # A lone latitude or longitude column may hold "lat, lon" pairs: read it as one cell.
    for lone, other in (("lat", "lon"), ("lon", "lat")):
        if lone in fields and other not in fields and "location" not in fields:
            fields["location"] = fields.pop(lone)
    has_place = (
        table.geometries is not None
        or any(f in fields for f in ("location", "mgrs", "wkt"))
        or ("lat" in fields and "lon" in fields)
        or ("easting" in fields and "northing" in fields)
        or any(f in fields for f in _ADDRESS_FIELDS if f not in ("province", "postcode"))
    )
    if not has_place:
        found_columns = ", ".join(repr(c) for c in table.columns) or "(none)"
        details = [
            {"column": c, "field": next((f for f, i in fields.items() if i == n), None),
             "looks_like_th": p.describe()[0], "looks_like_en": p.describe()[1]}
            for n, (c, p) in enumerate(zip(table.columns, profiles, strict=True))
        ]
        looked = "; ".join(f"{d['column']!r}: {d['looks_like_en']} / {d['looks_like_th']}"
                           for d in details)
        raise ColumnsNotRecognised(
            "no coordinate or address column found (ไม่พบคอลัมน์พิกัดหรือที่อยู่). Columns in "
            f"the file: {found_columns}. Expected one of: ละติจูด/latitude + "
            "ลองจิจูด/longitude, พิกัด/location (one cell or a Google Maps link), UTM E/N + "
            "โซน/zone, MGRS, ที่อยู่/address or ตำบล/อำเภอ/จังหวัด; or name the columns with "
            f"a mapping (--map 'column=lat'). What each column looked like: {looked}",
            details,
        )
    used = set(fields.values()) | set(ignored)
    return ColumnPlan(
        fields=fields,
        columns=list(table.columns),
        unknown=[i for i in range(len(table.columns)) if i not in used],
        ignored=ignored,
        notes=notes,
        zone_hint=zone_hint,
    )


def _hint_fields(table: SourceTable, fields: dict[str, int], mapped: set[int],
                 notes: list[str]) -> None:
    """Fields a file's structure gives when no column names them.

    A KML/KMZ folder (a Google My Maps layer) is the category when no column is one; it
    goes through the category rule like any category text. A form export's submission
    time is the report date when the form asked none.
    """
    columns = table.columns
    if ("category" not in fields and table.format in ("kml", "kmz")
            and "folder" in columns and columns.index("folder") not in mapped):
        fields["category"] = columns.index("folder")
        notes.append("the folder (map layer) of each placemark read as its category / "
                     "ชื่อโฟลเดอร์ (เลเยอร์ของแผนที่) ใช้เป็นประเภทของแต่ละจุด")
    submitted = table.details.get("submission_time_column")
    if "date" not in fields and submitted in columns and columns.index(submitted) not in mapped:
        fields["date"] = columns.index(submitted)
        notes.append(f"column {submitted!r} (submission time, UTC) read as the report date / "
                     f"คอลัมน์ {submitted!r} (เวลาส่งแบบฟอร์ม) ใช้เป็นวันที่รายงาน")


class ColumnsNotRecognised(UploadError):
    """No column gives a place; ``columns`` describes each column (for the mapping form).

    Each item has ``column``, ``field`` (what its header was taken for, or None) and
    ``looks_like_th`` / ``looks_like_en`` (what its values looked like).
    """

    def __init__(self, message: str, columns: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.columns = columns
        self.problem_extra = {"columns": [c["column"] for c in columns],
                              "column_details": columns}


def _choose_column(fld: str, indexes: list[int], columns: Sequence[str],
                   profiles: Sequence[ValueProfile], notes: list[str]) -> int:
    """Pick one of several columns whose headers name the same field, by their values."""
    if len(indexes) == 1:
        return indexes[0]
    support = {i: value_support(fld, profiles[i]) for i in indexes}
    best = max(indexes, key=lambda i: (support[i], -i))
    others = [i for i in indexes if i != best]
    rivals = ", ".join(f"{columns[i]!r} ({support[i]:.0%})" for i in others)
    if support[best] > max(support[i] for i in others):
        why_en = f"its values fit better ({support[best]:.0%} vs {rivals})"
        why_th = f"ค่าในคอลัมน์เข้ากันกว่า ({support[best]:.0%} เทียบกับ {rivals})"
    else:
        why_en, why_th = f"it comes first (also: {rivals})", f"อยู่ก่อน (อีกคอลัมน์: {rivals})"
    notes.append(f"column {columns[best]!r} used for {fld}: {why_en} / "
                 f"ใช้คอลัมน์ {columns[best]!r} เป็น {fld}: {why_th}")
    return best


def _fields_from_values(fields: dict[str, int], taken: set[int], columns: Sequence[str],
                        profiles: Sequence[ValueProfile], notes: list[str]) -> None:
    """No header names a place: take latitude/longitude, a location or an address by value."""
    free = [i for i in range(len(columns)) if i not in taken and i not in fields.values()]

    def first(kind: str, share: float = 0.9) -> int | None:
        return next((i for i in free if profiles[i].shares.get(kind, 0.0) >= share
                     and i not in fields.values()), None)

    lat = first("lat")
    lon = first("lon")
    chosen: dict[str, int] = {}
    if lat is not None and lon is not None and lat != lon:
        chosen = {"lat": lat, "lon": lon}
    elif (loc := first("location")) is not None:
        chosen = {"location": loc}
    elif (addr := first("address", 0.5)) is not None:
        chosen = {"address": addr}
    for fld, i in chosen.items():
        fields[fld] = i
        th, en = profiles[i].describe()
        notes.append(f"column {columns[i]!r} read as {fld} from its values ({en}) / "
                     f"คอลัมน์ {columns[i]!r} อ่านเป็น {fld} จากค่าในคอลัมน์ ({th})")


# --------------------------------------------------------------------------- row preparation


@dataclass
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

    def reject(self, reason: str, column: str | None = None) -> PreparedRow:
        """Mark the row rejected."""
        self.status, self.reason, self.column = "rejected", reason, column
        return self


@dataclass
class _Context:
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
    fast_ok: list[bool] | None = None
    fast_lat: list[float] = field(default_factory=list)
    fast_lon: list[float] = field(default_factory=list)
    fast_place_columns: str | None = None
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


def _non_finite(value: object) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, str):
        head = value.lstrip()[:1]
        if not head or head not in "+-nNiI":  # fast path: numbers, DMS, links, UTM text
            return False
        return clean_text(value).lower().replace(" ", "") in _NON_FINITE
    return False


def _cell(value: object) -> object:
    """Return a cell as JSON (text as it is: the common case, checked first)."""
    return value if type(value) is str else json_safe(value)


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
    plan, kind = ctx.plan, ctx.kind
    values = table.rows[index]
    number = table.row_numbers[index]
    cells = list(map(_cell, values))
    original = dict(zip(plan.columns, cells, strict=False))
    row = PreparedRow(row_number=number, status="pending", original=original)
    row_id = plan.fields.get("row_id")
    fp_values = cells if row_id is None else cells[:row_id] + cells[row_id + 1:]

    def get(name: str) -> Any:
        i = plan.fields.get(name)
        if i is None:
            return None
        value = values[i]
        return None if _blank(value) else value

    geom = table.geometries[index] if table.geometries is not None else None
    geometry_errors = table.details.get("geometry_errors") or {}
    if geom is not None:
        fp_values = [*fp_values, shapely.to_wkb(geom)]
    # Compared only within this file ("identical to row n"): the values themselves do.
    try:
        row.fingerprint = hash(tuple(fp_values))
    except TypeError:  # a cell that is not hashable
        row.fingerprint = json.dumps(fp_values, ensure_ascii=False, default=str)

    extra = {plan.columns[i]: original[plan.columns[i]] for i in plan.unknown
             if original[plan.columns[i]] is not None}
    address = None
    quality = "coordinates"
    score: float | None = None
    try:
        if number in geometry_errors:
            raise RowRejected(geometry_errors[number], "geometry")
        if geom is None and get("wkt") is not None:
            try:
                geom = shapely.from_wkt(str(get("wkt")))
            except shapely.errors.GEOSException as exc:
                raise RowRejected(f"WKT cannot be read ({exc})", plan.name("wkt")) from exc
            if geom is None or geom.is_empty:
                raise RowRejected("WKT geometry is empty", plan.name("wkt"))
        if geom is not None and geom.geom_type == "MultiPoint" and len(geom.geoms) == 1:
            geom = geom.geoms[0]
        if geom is not None and geom.geom_type == "Point":
            row.place_columns = "geometry"
            _place_point(row, ctx, lat=geom.y, lon=geom.x, column="geometry")
        elif geom is not None:
            if kind.geometry != "layer" and kind.name != "risk_points":
                raise RowRejected(f"{kind.name} must be points, not {geom.geom_type}",
                                  "geometry")
            row.place_columns = "geometry"
            row.geometry = _finish_geometry(geom, ctx.limits, row.warnings)
            row.target = "layer"
            rep = row.geometry.representative_point()
            row.lat, row.lon = rep.y, rep.x
            row.quality = "layer"
            if ctx.options.datum != "wgs84":
                row.warnings.append("datum setting not applied to lines and polygons")
        elif ctx.fast_ok is not None and ctx.fast_ok[index]:
            # Plain decimal latitude and longitude inside the box around Thailand, read for
            # the whole column at once (see _fast_coordinates).
            row.place_columns = ctx.fast_place_columns
            row.lat, row.lon, row.quality = ctx.fast_lat[index], ctx.fast_lon[index], "coordinates"
        else:
            coord_cells = {f: get(f) for f in (*_COORD_FIELDS, "zone")}
            for f in _COORD_FIELDS:
                # Checked on the raw cell: "NaN" would otherwise pass for an empty cell.
                if f in plan.fields and _non_finite(values[plan.fields[f]]):
                    raise RowRejected(
                        f"coordinate {json_safe(values[plan.fields[f]])!r} is not a finite "
                        "number (NaN/Infinity)", plan.name(f))
            used = [f for f in _COORD_FIELDS if coord_cells[f] is not None]
            if used:
                row.place_columns = ", ".join(plan.name(f) for f in used)
                _place_point(row, ctx, column=row.place_columns, **coord_cells)
            else:
                address = _address(get)
                address_cols = [plan.name(f) for f in _ADDRESS_FIELDS if get(f) is not None]
                row.place_columns = ", ".join(address_cols) or None
                if address is None:
                    raise RowRejected("no coordinates and no address", None)
                if not kind.allow_address:
                    raise RowRejected(
                        f"{kind.name} need coordinates; an address places them only "
                        "approximately", row.place_columns)
                result = ctx.geocode_cache.get(address)
                if result is None:
                    result = ctx.geocoder(address, province_code=ctx.geocode_province)
                    ctx.geocode_cache[address] = result
                _place_address(row, result, address)
                quality = row.quality or "subdistrict"
                score = float(result.score) if result.score is not None else None
        if kind.geometry == "layer" and row.target == "main":
            # A layer upload keeps points too, as point features of the layer.
            row.geometry = shapely.Point(row.lon, row.lat)
            row.target = "layer"
            row.quality = "layer"
        layer_row = row.target == "layer"
        builder = build_layer_feature if layer_row else kind.build
        geometry_hex = shapely.to_wkb(row.geometry, hex=True) if layer_row else None
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
                geometry_hex=geometry_hex,
            )
        )
        row.record = built.values
        row.dedupe_key = built.dedupe_key
    except RowRejected as exc:
        row.reject(exc.reason, exc.column)
    return row


_PLAIN_DECIMAL = re.compile(r"-?[0-9]{1,3}(?:\.[0-9]{1,15})?")


def _plain_decimal(value: object) -> float | None:
    """Return a plain ASCII decimal (a float cell or text like ``14.8818``), else None."""
    if type(value) is float or type(value) is int:
        number = float(value)
        return number if math.isfinite(number) else None
    if type(value) is str and _PLAIN_DECIMAL.fullmatch(value):
        return float(value)
    return None


def _fast_decimal(cells: Mapping[str, Any], datum: str) -> tuple[float, float] | None:
    """Read the commonest row without the general parser, or return None.

    The commonest row holds two plain decimals already in latitude, longitude order inside
    the box around Thailand, in WGS 84. Anything else (swapped, DMS, Thai digits, UTM, links,
    other datum) goes to parse_coordinate, which returns the same values for these
    (tests/ingest/readers/test_readers.py checks it).
    """
    from com.geo.coords import in_thailand_bbox

    if (datum != "wgs84" or cells.get("location") is not None
            or cells.get("easting") is not None or cells.get("mgrs") is not None):
        return None
    lat, lon = _plain_decimal(cells.get("lat")), _plain_decimal(cells.get("lon"))
    if lat is None or lon is None or not in_thailand_bbox(lat, lon):
        return None
    return lat, lon


#: A number written with an exponent ("1.49e1", "1e309"); Thai digits are made Arabic first.
_EXPONENT_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+")
_NEGATIVE_ZERO = re.compile(r"-0*\.?0*")
_PAIR_SPLIT = re.compile(r"\s*[,;]\s*|\s+")


def _number_cell(value: Any, column: str | None) -> Any:
    """Return a coordinate cell ready for the parser: exponent notation as a float.

    The coordinate parser reads decimals, DMS, UTM and MGRS text; "1e309" would be split
    into "1" and "e309" and refused for holding two values. A number with an exponent is a
    number: it is read here, and one too large for a float (infinite) is refused as such.
    A negative zero becomes 0 so the outside-Thailand reason does not print "-0.000000".

    Raises
    ------
    RowRejected
        For a number beyond the range of floating point (``1e309``) or NaN/Infinity.
    """
    if type(value) is not str:
        if isinstance(value, float) and not math.isfinite(value):
            raise RowRejected(
                f"coordinate {json_safe(value)!r} is not a finite number (NaN/Infinity)", column)
        return value
    text = clean_text(value).replace(" ", "")
    if _NEGATIVE_ZERO.fullmatch(text) and any(ch == "0" for ch in text):
        return 0.0
    if not _EXPONENT_NUMBER.fullmatch(text):
        return value
    number = float(text)
    if not math.isfinite(number):
        raise RowRejected(
            f"coordinate {value!r} is not a finite number: {text} is out of range (too large "
            "for any coordinate)", column)
    return number + 0.0  # -0.0 -> 0.0


def _number_pair(value: Any, column: str | None) -> tuple[float, float] | None:
    """Read a one-cell "lat, lon" of two numbers when one of them has an exponent, else None.

    Raises
    ------
    RowRejected
        When a part is NaN/Infinity or a number out of range.
    """
    if type(value) is not str:
        return None
    parts = _PAIR_SPLIT.split(clean_text(value).strip())
    if len(parts) != 2:
        return None
    if any(p.lower().lstrip("+-") in _NON_FINITE for p in parts) and all(
        _EXPONENT_NUMBER.fullmatch(p) or _PLAIN_NUMBER.fullmatch(p)
        or p.lower().lstrip("+-") in _NON_FINITE for p in parts
    ):
        raise RowRejected(f"coordinate {value!r} is not a finite number (NaN/Infinity)", column)
    if not any(_EXPONENT_NUMBER.fullmatch(p) for p in parts) or not all(
        _EXPONENT_NUMBER.fullmatch(p) or _PLAIN_NUMBER.fullmatch(p) for p in parts
    ):
        return None
    first, second = (_number_cell(p, column) for p in parts)
    return float(first), float(second)


_PLAIN_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")


def _decimal_column(values: Sequence[Any]) -> np.ndarray:
    """Read a column of cells as floats at once (pandas, in C); NaN for anything else.

    Besides plain decimals this reads exponents ("1.49e1") and numeric cells; every value it
    gives is the value the coordinate parser gives for the cell (test_readers.py checks it).
    Thai digits, DMS, UTM and the like are NaN here and go to the parser.
    """
    import pandas as pd

    series = pd.Series(values, dtype=object)
    bools = series.map(type).isin((bool, np.bool_))  # True/False are not coordinates
    numbers = pd.to_numeric(series.mask(bools), errors="coerce")
    return numbers.to_numpy(dtype=float, na_value=np.nan)


def _fast_coordinates(table: SourceTable, ctx: _Context) -> None:
    """Read latitude/longitude columns for all rows at once where they are plain numbers.

    The commonest upload has decimal degrees in latitude, longitude order inside the box
    around Thailand. Those rows are read with numpy for the whole column (about 100x faster
    than parsing cell by cell); every other row (swapped, DMS, Thai digits, UTM, links,
    another datum, NaN) still goes through :func:`com.geo.coords.parse_coordinate`.
    """
    from com.geo.coords import THAILAND_BBOX

    fields = ctx.plan.fields
    if (table.geometries is not None or ctx.options.datum != "wgs84" or not table.rows
            or "lat" not in fields or "lon" not in fields
            or any(f in fields for f in ("location", "easting", "northing", "mgrs", "wkt"))):
        return
    lat = _decimal_column([r[fields["lat"]] for r in table.rows])
    lon = _decimal_column([r[fields["lon"]] for r in table.rows])
    south, west, north, east = THAILAND_BBOX
    with np.errstate(invalid="ignore"):
        ok = (lat >= south) & (lat <= north) & (lon >= west) & (lon <= east)
    ctx.fast_ok = ok.tolist()
    ctx.fast_lat, ctx.fast_lon = lat.tolist(), lon.tolist()
    ctx.fast_place_columns = f"{ctx.plan.name('lat')}, {ctx.plan.name('lon')}"


def _place_point(row: PreparedRow, ctx: _Context, *, column: str | None, **cells: Any) -> None:
    from com.geo.coords import parse_coordinate

    fast = _fast_decimal(cells, ctx.options.datum)
    if fast is not None:
        row.lat, row.lon = fast
        row.quality = "coordinates"
        return
    cells = {k: v for k, v in cells.items() if k != "zone" or v is not None}
    zone = cells.pop("zone", None)
    location = cells.pop("location", None)
    for value in (location, *cells.values()):
        if _non_finite(value):
            raise RowRejected(
                f"coordinate {json_safe(value)!r} is not a finite number (NaN/Infinity)", column)
    for name in ("lat", "lon", "easting", "northing"):
        if cells.get(name) is not None:
            cells[name] = _number_cell(cells[name], column)
    if location is not None and cells.get("lat") is None and cells.get("lon") is None:
        pair = _number_pair(location, column)
        if pair is not None:  # "1.49e1, 103.5": read as two numbers, order checked as usual
            location = None
            cells["lat"], cells["lon"] = pair
    hinted = False
    if zone is None and ctx.zone_hint and (
        cells.get("easting") is not None or location is not None
    ):
        zone, hinted = ctx.zone_hint, True
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
        )
    except ParseError as exc:
        raise RowRejected(str(exc), column) from exc
    if not (math.isfinite(coord.lat) and math.isfinite(coord.lon)):
        raise RowRejected("coordinate is not a finite number (NaN/Infinity)", column)
    row.lat, row.lon = coord.lat, coord.lon
    row.quality = "coordinates"
    row.warnings.extend(coord.warnings)
    if hinted and coord.method == "utm":
        row.warnings.append(f"no UTM zone given; zone {zone} of the province used")
    if coord.transformation or coord.source_crs != "EPSG:4326":
        ctx.datum_notes.add(coord.datum_note)


def _place_address(row: PreparedRow, result: Any, address: str) -> None:
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
        See :func:`plan_columns`.
    """
    if options.kind not in KINDS:
        raise ValidationError(
            f"unknown upload kind {options.kind!r}; kinds: {', '.join(sorted(KINDS))}"
        )
    kind = KINDS[options.kind]
    plan = plan_columns(table, mapping=options.mapping, kind=kind)
    if geocoder is None:
        from com.ingest.geocode import geocode

        geocoder = geocode
    from com.text.thai import load_severity_words

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
        geocoder=geocoder,
        locality_point=locality_point,
        date_utc=("date" in plan.fields and plan.columns[plan.fields["date"]]
                  == table.details.get("submission_time_column")),
    )
    _fast_coordinates(table, ctx)
    rows = [_prepare_row(table, i, ctx) for i in range(len(table.rows))]
    return rows, plan, ctx.datum_notes


# --------------------------------------------------------------------------- storing


_STAGE_COLUMNS = (
    "row_number", "status", "target", "lat", "lon", "geom", "subdistrict_code", "quality",
    "approximate", "dedupe_key", "place_columns", "name", "address", "record",
)


#: EWKB of a point with SRID 4326, little endian: byte order 1, type 0x20000001 (point with
#: an SRID), SRID 4326; the x and y doubles follow.
_POINT_EWKB_HEAD = np.frombuffer(bytes.fromhex("0101000020E6100000"), dtype=np.uint8)


def _geometry_hex(rows: Sequence[PreparedRow]) -> list[str | None]:
    """EWKB hex (SRID 4326) of every row's point or geometry.

    Points, nearly all rows, are written straight into one byte array with numpy (25 bytes
    each): building shapely points, setting their SRID and writing WKB took 5x longer.
    """
    out: list[str | None] = [None] * len(rows)
    point_idx = [i for i, r in enumerate(rows) if r.geometry is None and r.lat is not None]
    if point_idx:
        xy = np.array([(rows[i].lon, rows[i].lat) for i in point_idx], dtype="<f8")
        ewkb = np.empty((len(point_idx), 25), dtype=np.uint8)
        ewkb[:, :9] = _POINT_EWKB_HEAD
        ewkb[:, 9:] = xy.view(np.uint8).reshape(len(point_idx), 16)
        text = ewkb.tobytes().hex().upper()
        for k, i in enumerate(point_idx):
            out[i] = text[50 * k:50 * k + 50]
    other = [i for i, r in enumerate(rows) if r.geometry is not None]
    if other:
        geoms = shapely.set_srid(np.array([rows[i].geometry for i in other], dtype=object), 4326)
        for i, wkb in zip(other, shapely.to_wkb(geoms, hex=True, include_srid=True),
                          strict=True):
            out[i] = wkb
    return out


def _copy(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """COPY rows into a table (psycopg 3), inside the caller's transaction."""
    raw = conn.connection.driver_connection
    assert raw is not None, "COPY needs the psycopg connection under SQLAlchemy"
    from psycopg.copy import QueuedLibpqWriter

    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"  # names from constants
    # A writer thread sends the data while Python formats the next rows: the server's work
    # (indexes, constraints) overlaps with ours instead of following it.
    with raw.cursor() as cur, cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy:
        for row in rows:
            copy.write_row(row)


def _copy_stage(conn: Connection, rows: Sequence[PreparedRow]) -> None:
    """Stage the place of every row still pending (rejected rows stay in Python)."""
    conn.execute(sa.text("DROP TABLE IF EXISTS pg_temp.ingest_stage"))
    conn.execute(sql("ingest_stage"))
    pending = [r for r in rows if r.status == "pending"]
    hexes = _geometry_hex(pending)
    _copy(conn, "ingest_stage", _STAGE_COLUMNS, (
        (r.row_number, r.status, r.target, r.lat, r.lon, ewkb, r.subdistrict_code, r.quality,
         r.approximate, r.dedupe_key, r.place_columns, r.record.get("name"),
         r.record.get("address"),
         json.dumps(r.record, ensure_ascii=False, default=str) if r.target == "layer" else None)
        for r, ewkb in zip(pending, hexes, strict=True)
    ))
    # Built after the COPY (a bulk build is quicker than growing it row by row): the
    # subdistrict join (ingest_place.sql) searches the staged points part by part.
    conn.execute(sa.text("CREATE INDEX ON ingest_stage USING gist (geom)"))
    conn.execute(sa.text(
        "ANALYZE ingest_stage (row_number, status, target, quality, approximate, dedupe_key, "
        "subdistrict_code, geom)"
    ))


def _check_places(conn: Connection, rows: Sequence[PreparedRow], province: str | None) -> None:
    """Run the set-based place checks on the stage and copy their outcome to the rows."""
    conn.execute(sql("ingest_place"), {"max_m": BOUNDARY_TOLERANCE_M, "max_deg": _TOLERANCE_DEG})
    conn.execute(sql("ingest_reject_outside"), {"max_m": BOUNDARY_TOLERANCE_M})
    conn.execute(sql("ingest_reject_unknown_code"))
    conn.execute(sql("ingest_place_addresses"))
    if province is not None:
        conn.execute(sql("ingest_reject_province"), {"province": province})
    conn.execute(sql("ingest_reject_layer_outside"), {"max_deg": _TOLERANCE_DEG})
    by_number = {r.row_number: r for r in rows}
    result = conn.execute(sa.text(
        "SELECT row_number, status, reason, column_name, lat, lon, subdistrict_code, "
        "district_code, province_code, nearest_m FROM ingest_stage"
    ))
    for number, status, reason, column, lat, lon, code, district, province_code, nearest_m in (
        result.tuples()
    ):
        row = by_number[number]
        row.status, row.lat, row.lon = status, lat, lon
        row.subdistrict_code, row.district_code, row.province_code = code, district, province_code
        if status == "rejected":
            row.reason, row.column = reason, column
        elif nearest_m is not None:
            row.warnings.append(
                "outside the simplified boundaries; placed in the nearest subdistrict "
                f"{code} ({nearest_m:.0f} m away)"
            )


def _ensure_statistics(conn: Connection) -> None:
    """Analyse reference tables that never were analysed (a fresh boundary load).

    Without statistics the planner takes a 7,000-row table for a tiny one and picks nested
    loops.
    """
    never = conn.execute(sa.text(
        "SELECT relname FROM pg_class WHERE relname IN "
        "('subdistricts', 'subdistrict_parts', 'provinces') AND relkind = 'r' "
        "AND relnamespace = 'public'::regnamespace AND reltuples < 0"
    )).scalars().all()
    for table in never:  # names from the fixed list above
        conn.execute(sa.text(f"ANALYZE {table}"))


def _kind_sql(name: str, kind: Kind, **extra: str) -> sa.TextClause:
    """Return a registry-templated statement; identifiers come from KINDS, never input."""
    text = load_sql(name).format(table=kind.table, **extra)
    return sa.text(text)


def _near_pairs(points: Sequence[PreparedRow], distance_m: float) -> dict[int, list[int]]:
    """Earlier rows of the file within ``distance_m`` metres with the same duplicate key.

    Set-based in memory: a KD-tree on unit-sphere coordinates finds candidate pairs for all
    points at once, and each candidate is confirmed with the geodesic distance on the WGS 84
    ellipsoid (what PostGIS geography measures).
    """
    if len(points) < 2:
        return {}
    from pyproj import Geod
    from scipy.spatial import cKDTree

    lat = np.radians(np.array([p.lat for p in points], dtype=float))
    lon = np.radians(np.array([p.lon for p in points], dtype=float))
    xyz = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    # Chord on a 6,356 km sphere (the polar radius): never shorter than the true distance.
    radius = 2 * math.sin(distance_m * 1.01 / 6_356_752.0 / 2)
    pairs = cKDTree(xyz).query_pairs(radius, output_type="ndarray")
    if not len(pairs):
        return {}
    same = np.array([points[i].dedupe_key == points[j].dedupe_key for i, j in pairs],
                    dtype=bool)
    pairs = pairs[same]
    if not len(pairs):
        return {}
    lat_d, lon_d = np.degrees(lat), np.degrees(lon)
    _, _, metres = Geod(ellps="WGS84").inv(
        lon_d[pairs[:, 0]], lat_d[pairs[:, 0]], lon_d[pairs[:, 1]], lat_d[pairs[:, 1]]
    )
    near: dict[int, list[int]] = {}
    for (i, j), d in zip(pairs, np.atleast_1d(metres), strict=True):
        if d <= distance_m:
            a, b = sorted((points[i].row_number, points[j].row_number))
            near.setdefault(b, []).append(a)
    return {k: sorted(v) for k, v in near.items()}


def _lock_duplicate_scope(conn: Connection, rows: Sequence[PreparedRow], kind: Kind) -> None:
    """Hold, until commit, a lock per province the file's pending rows fall in (issue 11).

    Duplicates are looked for among stored records of the same table and province, so two
    uploads into one province check and store one after the other: the second one's check
    (a new snapshot under READ COMMITTED) sees the first one's committed rows and reports
    them as duplicates instead of storing them twice. Uploads into other provinces go on in
    parallel. Locks are taken in code order, so two multi-province files cannot deadlock;
    the reading, geocoding and place checks before this stay parallel.
    """
    provinces = sorted({r.province_code or "" for r in rows
                        if r.status == "pending" and r.target == "main"})
    for code in provinces:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 2))"),
                     {"k": f"{kind.table}:{code}"})


def _resolve_duplicates(
    conn: Connection, rows: Sequence[PreparedRow], kind: Kind, distance_m: float
) -> None:
    """Decide duplicates in row order.

    A row is a duplicate when it is identical to an earlier row, near a stored record, near
    an earlier stored row of the file, or (address rows) has the same subdistrict, name and
    address as one of those.
    """
    pending = [r for r in rows if r.status == "pending"]
    if not pending:
        return
    key_clause = f"AND t.{kind.dedupe_column} = s.dedupe_key" if kind.dedupe_column else ""
    existing: dict[int, Any] = {}
    if kind.geometry == "point":
        existing = {
            r.row_number: r
            for r in conn.execute(
                _kind_sql("ingest_duplicates_existing", kind, key_clause=key_clause),
                {"dist_m": distance_m},
            )
        }
        if kind.has_approximate:
            existing.update({
                r.row_number: r
                for r in conn.execute(
                    _kind_sql("ingest_duplicates_approximate", kind, key_clause=key_clause)
                )
            })
    near = _near_pairs(
        [p for p in pending if p.target == "main" and not p.approximate], distance_m
    )
    stored: set[int] = set()
    first_by_fingerprint: dict[Hashable, int] = {}
    first_by_place: dict[tuple, int] = {}
    for p in pending:
        reason = None
        twin = first_by_fingerprint.get(p.fingerprint)
        place_key = (p.target, p.dedupe_key, p.subdistrict_code, p.record.get("name"),
                     p.record.get("address"))
        if twin is not None:
            reason = f"identical to row {twin}"
        elif p.row_number in existing:
            hit = existing[p.row_number]
            source = (f" (upload {hit.source_upload_id}, row {hit.source_row})"
                      if hit.source_upload_id else "")
            what = f"same {kind.dedupe_column} and place" if kind.dedupe_column else "same place"
            reason = (f"{what} within {distance_m:g} m as stored record {hit.id}{source}"
                      if not p.approximate else
                      f"same subdistrict, name and address as stored record {hit.id}{source}")
        elif any(e in stored for e in near.get(p.row_number, ())):
            earlier = next(e for e in near[p.row_number] if e in stored)
            what = f"same {kind.dedupe_column} " if kind.dedupe_column else "same place "
            reason = f"{what}within {distance_m:g} m of row {earlier}"
        elif p.approximate and place_key in first_by_place:
            reason = f"same subdistrict, name and address as row {first_by_place[place_key]}"
        if reason is None:
            stored.add(p.row_number)
            first_by_fingerprint.setdefault(p.fingerprint, p.row_number)
            if p.approximate:
                first_by_place.setdefault(place_key, p.row_number)
        else:
            p.status, p.reason = "duplicate", reason


#: One encoder for the per-row JSON (json.dumps with options builds a new one per call).
_to_json = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _json_column(value: Any) -> Any:
    if isinstance(value, dict | list):
        return _to_json(value)
    return value


def _store_records(
    conn: Connection, rows: Sequence[PreparedRow], kind: Kind, upload_id: int
) -> None:
    """COPY the stored rows into the kind's table and lines/polygons into context_layers.

    The ids the table gave are read back by upload for the per-row report.
    """
    main = [r for r in rows if r.status == "pending" and r.target == "main"]
    if main and kind.geometry == "point":
        place = ["subdistrict_code", *(["district_code"] if kind.has_district else []),
                 "province_code"]
        columns = [*kind.columns, "geom", *place, "source_upload_id", "source_row"]
        hexes = _geometry_hex(main)

        def values(r: PreparedRow) -> list[Any]:
            # Dicts and lists are stored as JSON (tested inline: a call per value is costly).
            return [v if (t := type(v)) is not dict and t is not list else _json_column(v)
                    for v in map(r.record.get, kind.columns)]

        with_district = kind.has_district
        _copy(conn, kind.table, columns, (
            (*values(r), ewkb, r.subdistrict_code,
             *((r.district_code,) if with_district else ()), r.province_code, upload_id,
             r.row_number)
            for r, ewkb in zip(main, hexes, strict=True)
        ))
        # The table's identity gave the ids; read them back by upload (one index scan):
        # drawing them first with nextval() took 5x longer.
        ids: dict[int, int] = dict(conn.execute(
            sa.text(f"SELECT source_row, id FROM {kind.table} WHERE source_upload_id = :u"),
            {"u": upload_id},
        ).tuples().all())
        for row in main:
            row.record_id = ids[row.row_number]
    layer = [r for r in rows if r.status == "pending" and r.target == "layer"]
    if layer:
        inserted: dict[int, int] = dict(conn.execute(
            sql("ingest_insert_layer"),
            {"upload_id": upload_id, "rows": [r.row_number for r in layer]},
        ).all())
        for r in layer:
            if r.row_number in inserted:
                r.record_id = inserted[r.row_number]
            else:
                r.status = "duplicate"
                r.reason = f"the same feature is already in layer {r.record.get('layer')}"


_REPORT_COLUMNS = (
    "upload_id", "row_number", "status", "reason", "column_name", "warnings", "lat", "lon",
    "subdistrict_code", "quality", "record_id", "original",
)


def _copy_report(conn: Connection, rows: Sequence[PreparedRow], upload_id: int) -> None:
    """COPY the per-row report (upload_rows): status, reason, place and original values."""
    _copy(conn, "upload_rows", _REPORT_COLUMNS, (
        (upload_id, r.row_number, "stored" if r.status == "pending" else r.status, r.reason,
         None if r.status == "pending" else r.column, "; ".join(r.warnings) or None,
         r.lat, r.lon, r.subdistrict_code, r.quality, r.record_id,
         _to_json(r.original))
        for r in rows
    ))


def _summary_warnings(rows: Sequence[PreparedRow], notes: Iterable[str]) -> list[str]:
    out = list(notes)
    warned = [r for r in rows if r.warnings]
    out += [f"row {r.row_number}: {'; '.join(r.warnings)}"
            for r in warned[:_MAX_SUMMARY_WARNINGS]]
    if len(warned) > _MAX_SUMMARY_WARNINGS:
        out.append(f"... and {len(warned) - _MAX_SUMMARY_WARNINGS} more rows with warnings "
                   "(see the upload report)")
    return out


def resolve_province(conn: Connection, value: str | None) -> str | None:
    """Return the province code for a code ("32"), Thai name or English name.

    Raises
    ------
    com.errors.ValidationError
        When no province matches.
    """
    if value is None or not str(value).strip():
        return None
    text = clean_text(str(value))
    if text.isdigit() and len(text) == 1:
        text = "0" + text
    row = conn.execute(
        sa.text(
            "SELECT code FROM provinces WHERE code = :v OR name_th = :v "
            "OR lower(name_en) = lower(:v) OR name_th = :th LIMIT 1"
        ),
        {"v": text, "th": text.removeprefix("จังหวัด").removeprefix("จ.").strip()},
    ).first()
    if row is None:
        raise ValidationError(f"unknown province {value!r}: give a code such as 32 or a name")
    return row.code


def _zone_hint(conn: Connection, province_code: str | None) -> int | None:
    """Return the UTM zone of a province lying wholly on one side of 102 E, else None."""
    if province_code is None:
        return None
    row = conn.execute(
        sa.text("SELECT ST_XMin(geom) AS xmin, ST_XMax(geom) AS xmax FROM provinces "
                "WHERE code = :c"),
        {"c": province_code},
    ).first()
    if row is None:
        return None
    if row.xmax < _ZONE_SPLIT_LON:
        return 47
    if row.xmin >= _ZONE_SPLIT_LON:
        return 48
    return None


_AREA_POINT = {
    # Names from this fixed map, never from input: the area's point on its surface.
    "subdistricts": sa.text("SELECT ST_Y(p), ST_X(p) FROM (SELECT ST_PointOnSurface(geom) AS p "
                            "FROM subdistricts WHERE code = :c) s"),
    "districts": sa.text("SELECT ST_Y(p), ST_X(p) FROM (SELECT ST_PointOnSurface(geom) AS p "
                         "FROM districts WHERE code = :c) s"),
    "provinces": sa.text("SELECT ST_Y(p), ST_X(p) FROM (SELECT ST_PointOnSurface(geom) AS p "
                         "FROM provinces WHERE code = :c) s"),
}


def _locality_points(
    conn: Connection, province: str | None
) -> Callable[[str], tuple[float, float] | None]:
    """Return the resolver of the place written after a short Plus Code.

    The place text is geocoded (subdistrict, else district, else province, in the upload's
    province context); its reference point is a point on the surface of that area in the
    loaded boundaries. An empty text gives the upload's province.
    """
    cache: dict[str, tuple[float, float] | None] = {}

    def resolve(text: str) -> tuple[float, float] | None:
        if text in cache:
            return cache[text]
        area: tuple[str, str] | None = None
        if not text:
            area = ("provinces", province) if province else None
        else:
            from com.ingest.geocode import geocode

            found = geocode(text, province_code=province)
            if found.quality == "subdistrict" and found.tambon_code:
                area = ("subdistricts", str(found.tambon_code))
            elif found.quality == "district" and found.amphoe_code:
                area = ("districts", str(found.amphoe_code))
            elif found.quality in ("district", "province") and found.province_code:
                area = ("provinces", str(found.province_code))
        point = None
        if area is not None:
            row = conn.execute(_AREA_POINT[area[0]], {"c": area[1]}).first()
            point = (float(row[0]), float(row[1])) if row is not None and row[0] is not None \
                else None
        cache[text] = point
        return point

    return resolve


def _existing_upload(conn: Connection, sha256: str, request_key: str) -> int | None:
    return conn.execute(
        sa.text("SELECT id FROM uploads WHERE sha256 = :h AND options->>'request_key' = :k "
                "ORDER BY id LIMIT 1"),
        {"h": sha256, "k": request_key},
    ).scalar()


def _summary_of(conn: Connection, upload_id: int, *, already: bool) -> UploadSummary:
    upload = cast(sa.Table, Upload.__table__)
    row = conn.execute(sa.select(upload).where(upload.c.id == upload_id)).mappings().one()
    return UploadSummary(
        upload_id=row["id"],
        rows=row["rows_total"],
        stored=row["rows_stored"],
        rejected=row["rows_rejected"],
        duplicates=row["rows_duplicate"],
        warnings=list((row["options"] or {}).get("warnings", [])),
        already_uploaded=already,
        kind=row["kind"],
        filename=row["filename"],
        province_code=row["province_code"],
    )


def import_upload(
    conn: Connection,
    data: bytes,
    filename: str,
    *,
    options: ImportOptions | None = None,
    settings: Settings | None = None,
    principal: Principal = CLI,
    content_type: str | None = None,
    client: str | None = None,
    limits: ReadLimits | None = None,
) -> UploadSummary:
    """Import one uploaded file in the caller's transaction.

    Parameters
    ----------
    conn : Connection
        A connection inside the transaction the caller commits (or rolls back).
    data : bytes
        The file's bytes (kept in ``uploads.content``).
    filename : str
        The file's name; its extension chooses the reader.
    options : ImportOptions, optional
        Kind, province, sheet, mapping, layer, datum, idempotency key.
    settings : Settings, optional
        ``duplicate_distance_m``, ``default_province`` (the province when none is given),
        ``severity_config`` and limits.
    principal : Principal
        Who uploads (audit trail, province restriction); default the CLI operator.
    content_type, client : str, optional
        Recorded with the upload and in the audit row.
    limits : ReadLimits, optional
        Default: from the settings.

    Returns
    -------
    UploadSummary
        Counts, warnings and ``already_uploaded`` (True when the same bytes and options
        were uploaded before; nothing new is stored then).

    Raises
    ------
    com.errors.UploadError
        The file cannot be read at all (wrong type, too large, hostile, no place column).
    com.errors.ConflictError
        An idempotency key reused with different data.
    com.errors.PermissionDenied
        A province-restricted principal uploading for another province.
    com.errors.ValidationError
        Unknown kind, datum or province.

    Examples
    --------
    >>> with transaction(engine) as conn:  # doctest: +SKIP
    ...     summary = import_upload(conn, Path("points.csv").read_bytes(), "points.csv",
    ...                             options=ImportOptions(province_code="32"))
    """
    settings = settings or Settings(_env_file=None)  # type: ignore[call-arg]
    options = options or ImportOptions()
    if options.kind not in KINDS:
        raise ValidationError(
            f"unknown upload kind {options.kind!r}; kinds: {', '.join(sorted(KINDS))}"
        )
    if options.datum not in ("wgs84", "indian1975"):
        raise ValidationError(f"unknown datum {options.datum!r}; use wgs84 or indian1975")
    kind = KINDS[options.kind]
    # No province given: the configured default province (COM_DEFAULT_PROVINCE) is the
    # upload's province, for the address context and the area check alike.
    province_source = "given" if options.province_code else None
    province = resolve_province(conn, options.province_code)
    if province is None and settings.default_province:
        province, province_source = resolve_province(conn, settings.default_province), "default"
    if principal.province_code:
        if province is None or province_source == "default":
            province, province_source = principal.province_code, "principal"
        principal.require_province(province)
    layer = options.layer
    given_layer = layer  # the request's identity: a file's name is not part of it (issue 8)
    if layer is None and options.kind == "layer":
        raise ValidationError("a layer upload needs a layer name (--layer NAME)")
    if layer is None:
        layer = re.sub(r"[^0-9a-zA-Z\u0e00-\u0e7f]+", "_", Path(filename).stem).strip("_").lower()
    options = ImportOptions(
        kind=options.kind, province_code=province, sheet=options.sheet,
        mapping=dict(options.mapping), layer=layer, datum=options.datum,
        transformation=options.transformation, idempotency_key=options.idempotency_key,
    )
    sha256 = hashlib.sha256(data).hexdigest()
    # The same bytes and options are the same upload whatever the file is called, so the
    # layer name derived from the file name is left out of the key.
    request_key = dataclasses.replace(options, layer=given_layer).request_key(sha256)
    # Serialise uploads of the same bytes and options (and of the same idempotency key), so
    # two concurrent retries cannot both store.
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                 {"k": request_key})
    if options.idempotency_key:
        # Keys belong to the principal that sent them (issue 8 review): another user's
        # identical key is another request, and never reveals the first one's upload.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 1))"),
                     {"k": _scoped_key(principal, options.idempotency_key)})
        prior = conn.execute(
            sa.text("SELECT upload_id, request_key FROM upload_keys WHERE principal_kind = :pk "
                    "AND principal_name = :pn AND key = :k"),
            {"pk": principal.kind, "pn": principal.name, "k": options.idempotency_key},
        ).first()
        if prior is not None:
            if prior.request_key != request_key:
                raise ConflictError(
                    f"idempotency key {options.idempotency_key!r} was used for upload "
                    f"{prior.upload_id} with different data or options"
                )
            return _repeat(conn, prior.upload_id, principal, client)
    existing = _existing_upload(conn, sha256, request_key)
    if existing is not None:
        _bind_key(conn, principal, options.idempotency_key, existing, request_key)
        return _repeat(conn, existing, principal, client)

    limits = limits or ReadLimits.from_settings(settings)
    table = read_table(data, filename, sheet=options.sheet, limits=limits,
                       extra_fields=kind.extra_fields)
    try:
        rows, plan, datum_notes = prepare_rows(
            table, options=options, settings=settings, zone_hint=_zone_hint(conn, province),
            limits=limits, locality_point=_locality_points(conn, province),
        )
    except UploadError as exc:
        with_file_name(exc, upload_name(filename))  # renames the error in place
        raise
    notes: list[str] = []
    if options.datum == "indian1975":
        from com.geo.coords import DEFAULT_INDIAN1975_TRANSFORMATION

        notes.append(
            "legacy datum: Indian 1975 -> WGS 84 with "
            f"{options.transformation or DEFAULT_INDIAN1975_TRANSFORMATION}"
        )
    notes += sorted(f"coordinates converted: {n}" for n in datum_notes)
    notes += plan.notes
    if table.details.get("converted"):
        notes.append(f"geometries converted: {table.details['converted']}")
    upload_table = cast(sa.Table, Upload.__table__)
    upload_id = conn.execute(
        sa.insert(upload_table)
        .values(
            kind=options.kind,
            filename=Path(filename.replace("\\", "/")).name,
            content_type=content_type,
            sha256=sha256,
            size_bytes=len(data),
            content=data,
            province_code=province,
            options={},
            uploaded_by=principal.name,
            # The column is unique across principals: keep the key with its owner.
            idempotency_key=(_scoped_key(principal, options.idempotency_key)
                             if options.idempotency_key else None),
        )
        .returning(upload_table.c.id)
    ).scalar_one()
    _bind_key(conn, principal, options.idempotency_key, upload_id, request_key)
    # The set-based statements look expensive to the planner but run fast on indexes; JIT
    # compiling them costs more (0.2-1 s each) than it saves. Local to this transaction.
    conn.execute(sa.text("SET LOCAL jit = off"))
    _ensure_statistics(conn)
    _copy_stage(conn, rows)
    _check_places(conn, rows, province)
    _lock_duplicate_scope(conn, rows, kind)
    _resolve_duplicates(conn, rows, kind, float(settings.duplicate_distance_m))
    _store_records(conn, rows, kind, upload_id)
    _copy_report(conn, rows, upload_id)
    conn.execute(sa.text("DROP TABLE IF EXISTS pg_temp.ingest_stage"))
    statuses = [r.status for r in rows]
    counts = {
        "rows": len(rows),
        "stored": statuses.count("pending"),
        "rejected": statuses.count("rejected"),
        "duplicates": statuses.count("duplicate"),
        "with_warnings": sum(1 for r in rows if r.warnings),
    }
    warnings = _summary_warnings(rows, notes)
    stored_options = {
        "request_key": request_key,
        "kind": options.kind,
        "sheet": options.sheet,
        "mapping": dict(options.mapping),
        "layer": options.layer,
        "datum": options.datum,
        "transformation": options.transformation,
        "datum_notes": notes,
        "format": table.format,
        "read": {k: json_safe(v) if not isinstance(v, list | dict) else v
                 for k, v in table.details.items() if k != "geometry_errors"},
        "columns": plan.columns,
        "fields": plan.as_dict(),
        "province_source": province_source,
        "duplicate_distance_m": settings.duplicate_distance_m,
        "warnings": warnings,
        "uploaded_by_kind": principal.kind,
    }
    conn.execute(
        sa.update(upload_table)
        .where(upload_table.c.id == upload_id)
        .values(
            options=json.loads(json.dumps(stored_options, ensure_ascii=False, default=str)),
            rows_total=counts["rows"],
            rows_stored=counts["stored"],
            rows_rejected=counts["rejected"],
            rows_duplicate=counts["duplicates"],
            rows_warning=counts["with_warnings"],
        )
    )
    audit.record(
        conn,
        principal=principal,
        action="upload.create",
        target=f"upload:{upload_id}",
        record_ids=[upload_id],
        details={
            "filename": Path(filename).name, "sha256": sha256, "kind": options.kind,
            "province": province, "rows": counts["rows"], "stored": counts["stored"],
            "rejected": counts["rejected"], "duplicates": counts["duplicates"],
        },
        client=client,
    )
    return UploadSummary(
        upload_id=upload_id,
        rows=counts["rows"],
        stored=counts["stored"],
        rejected=counts["rejected"],
        duplicates=counts["duplicates"],
        warnings=warnings,
        kind=options.kind,
        filename=Path(filename).name,
        province_code=province,
    )


def _scoped_key(principal: Principal, key: str) -> str:
    """Return the idempotency key with its owner (kind and name), as one text."""
    return json.dumps([principal.kind, principal.name, key], ensure_ascii=False)


def _bind_key(conn: Connection, principal: Principal, key: str | None, upload_id: int,
              request_key: str) -> None:
    if key:
        conn.execute(
            sa.text("INSERT INTO upload_keys (principal_kind, principal_name, key, upload_id, "
                    "request_key) VALUES (:pk, :pn, :k, :u, :r) "
                    "ON CONFLICT (principal_kind, principal_name, key) DO NOTHING"),
            {"pk": principal.kind, "pn": principal.name, "k": key, "u": upload_id,
             "r": request_key},
        )


def _repeat(conn: Connection, upload_id: int, principal: Principal, client: str | None
            ) -> UploadSummary:
    audit.record(conn, principal=principal, action="upload.repeat", target=f"upload:{upload_id}",
                 record_ids=[upload_id], details={"already_uploaded": True}, client=client)
    return _summary_of(conn, upload_id, already=True)


def import_path(
    engine: Engine,
    path: Path | str,
    *,
    options: ImportOptions | None = None,
    settings: Settings | None = None,
    principal: Principal = CLI,
) -> UploadSummary:
    """Import a file from disk in its own transaction (what ``com import`` runs).

    Raises
    ------
    com.errors.UploadError
        See :func:`import_upload`; also when the file is larger than ``max_upload_mb``.
    """
    path = Path(path)
    settings = settings or Settings(_env_file=None)  # type: ignore[call-arg]
    size = path.stat().st_size
    if size > settings.max_upload_mb * 1024 * 1024:
        from com.ingest.readers import FileTooLarge

        raise FileTooLarge(
            f"{path.name} is {size / 1048576:,.1f} MB; the limit is {settings.max_upload_mb} MB"
        )
    data = path.read_bytes()
    with transaction(engine) as conn:
        return import_upload(conn, data, path.name, options=options, settings=settings,
                             principal=principal)


# --------------------------------------------------------------------------- reports


def _upload_row(conn: Connection, upload_id: int, principal: Principal | None) -> Any:
    upload = cast(sa.Table, Upload.__table__)
    row = conn.execute(
        sa.select(
            upload.c.id, upload.c.kind, upload.c.filename, upload.c.sha256,
            upload.c.size_bytes, upload.c.province_code, upload.c.options,
            upload.c.uploaded_by, upload.c.uploaded_at, upload.c.status, upload.c.rows_total,
            upload.c.rows_stored, upload.c.rows_rejected, upload.c.rows_duplicate,
            upload.c.rows_warning,
        ).where(upload.c.id == upload_id)
    ).mappings().first()
    if row is None:
        raise NotFoundError(f"upload {upload_id} does not exist")
    if principal is not None:
        _check_read(conn, principal, row)
    return row


def _sent_it(conn: Connection, principal: Principal, row: Any) -> bool:
    """Whether the principal uploaded this file, or sent it again and was answered with it."""
    kind = (row["options"] or {}).get("uploaded_by_kind")
    if row["uploaded_by"] == principal.name and kind in (None, principal.kind):
        return True
    # A repeat (the same bytes, or a retry) is answered with the first upload; its sender
    # follows the report link too. The audit trail records who was answered with which.
    return conn.execute(
        sa.text("SELECT EXISTS (SELECT 1 FROM audit_log WHERE action = 'upload.repeat' "
                "AND target = :t AND actor = :a AND actor_kind = :k)"),
        {"t": f"upload:{row['id']}", "a": principal.name, "k": principal.kind},
    ).scalar_one()


def _check_read(conn: Connection, principal: Principal, row: Any) -> None:
    """Raise PermissionDenied unless the principal may read this upload's report.

    The report holds every original cell (exact places of sensitive points), so it goes to:
    whoever sent the file (the same user or API key); administrators and the CLI; staff
    and write-scoped API keys, within their province when they are restricted to one.
    Read-only principals (viewers, read keys) see only what they sent themselves.
    """
    if principal.kind == "cli" or principal.has_role("admin") or _sent_it(conn, principal, row):
        return
    if not (principal.has_role("staff") or principal.can_write()):
        raise PermissionDenied(
            f"{principal.name} may read only the uploads it sent; upload {row['id']} was sent "
            "by someone else"
        )
    if principal.kind == "api_key" and not principal.province_code:
        raise PermissionDenied(
            f"{principal.name} may read only the uploads it sent (the key is not limited to "
            "a province)"
        )
    principal.require_province(row["province_code"])


def _upload_dict(row: Any) -> dict[str, Any]:
    options = dict(row["options"] or {})
    return {
        "upload_id": row["id"],
        "kind": row["kind"],
        "filename": row["filename"],
        "sha256": row["sha256"],
        "size_bytes": row["size_bytes"],
        "province_code": row["province_code"],
        "uploaded_by": row["uploaded_by"],
        "uploaded_at": row["uploaded_at"].isoformat() if row["uploaded_at"] else None,
        "status": row["status"],
        "rows": row["rows_total"],
        "stored": row["rows_stored"],
        "rejected": row["rows_rejected"],
        "duplicates": row["rows_duplicate"],
        "rows_with_warnings": row["rows_warning"],
        "warnings": options.get("warnings", []),
        "columns": options.get("columns", []),
        "fields": options.get("fields", {}),
        "options": {k: options.get(k) for k in ("sheet", "mapping", "layer", "datum",
                                                 "transformation", "datum_notes", "format",
                                                 "read", "province_source")},
    }


def get_upload(
    conn: Connection,
    upload_id: int,
    *,
    principal: Principal | None = None,
    with_rows: bool = True,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Return an upload's summary and (optionally) its per-row report under ``report``.

    A call with a principal is a read of uploaded (possibly sensitive) data and writes an
    ``upload.read`` audit row. Rows of sensitive categories are coarsened (see
    :func:`coarsen_report_rows`) unless the principal sent the file or holds the
    ``sensitive`` right; such rows carry ``coarsened: true``.

    Parameters
    ----------
    conn : Connection
        Database connection.
    upload_id : int
        The upload.
    principal : Principal, optional
        Who reads (access check, audit, coarsening); None: a library caller, sees all.
    with_rows : bool
        Include the per-row report.
    settings : Settings, optional
        Its ``severity_config`` says which categories are sensitive.

    Returns
    -------
    dict
        The summary, and the rows under ``report``.

    Raises
    ------
    com.errors.NotFoundError
        No such upload.
    com.errors.PermissionDenied
        The principal did not send the upload and may not read others' (a viewer, a read
        key, a key or staff member limited to another province).
    """
    row = _upload_row(conn, upload_id, principal)
    out = _upload_dict(row)
    if principal is not None:
        audit.record(conn, principal=principal, action="upload.read",
                     target=f"upload:{upload_id}", record_ids=[upload_id],
                     details={"rows": with_rows})
    coarse = not _sees_rows_exactly(conn, principal, row)
    if with_rows or coarse:
        report = _report_rows(conn, upload_id)
        if coarse:
            hidden = coarsen_report_rows(conn, row, report, settings=settings)
            out["warnings"] = [w for w in out["warnings"]
                               if not ((m := re.match(r"row (\d+):", w))
                                       and int(m.group(1)) in hidden)]
        if with_rows:
            out["report"] = [_with_reason(r) for r in report]
    return out


def _with_reason(row: dict[str, Any]) -> dict[str, Any]:
    """Add the reason's code and its Thai and English texts to a report row.

    A coarsened row's reason is already the bilingual note (its details are hidden).
    """
    if row.get("coarsened"):
        row.update(reason_code="coarsened", reason_en=row["reason"], reason_th=row["reason"])
        return row
    described = describe(row.get("reason"))
    if described is None:
        row.update(reason_code=None, reason_en=None, reason_th=None)
    else:
        row.update(described.as_dict())
    return row


def _report_rows(conn: Connection, upload_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.text(
            "SELECT row_number AS row, status, reason, column_name AS column, warnings, lat, "
            "lon, subdistrict_code, quality, record_id, original FROM upload_rows "
            "WHERE upload_id = :u ORDER BY row_number"
        ),
        {"u": upload_id},
    ).mappings()
    return [dict(r) for r in rows]


def _sees_rows_exactly(conn: Connection, principal: Principal | None, row: Any) -> bool:
    """Return True when the reader sees sensitive rows exactly.

    That is its sender (whoever sent the same bytes again holds them too), a holder of the
    sensitive right, or a library caller without a principal.
    """
    return principal is None or principal.sees_sensitive or _sent_it(conn, principal, row)


#: Original cells a coarsened row keeps: they describe the issue, not where it is or who.
_UNPLACING_FIELDS = frozenset({"category", "severity", "date", "count"})

#: What a coarsened row says, in the report's reason (Thai and English, as the pages are).
COARSENED_NOTE = ("ตำแหน่งแสดงที่จุดตัวแทนของตำบล (ประเภทข้อมูลอ่อนไหว) / located at its "
                  "subdistrict's representative point (sensitive category)")
HIDDEN_PLACE_NOTE = "ตำแหน่งถูกซ่อน (ประเภทข้อมูลอ่อนไหว) / location hidden (sensitive category)"


def _severity_model(settings: Settings | None) -> SeverityModel:
    return cached_severity_model(getattr(settings, "severity_config", None))


def coarsen_report_rows(
    conn: Connection, upload: Mapping[str, Any], rows: list[dict[str, Any]], *,
    settings: Settings | None = None,
) -> set[int]:
    """Coarsen, in place, the report rows of sensitive categories; return their numbers.

    The README's rule for the map applied to upload reports (issue 11): a row whose category
    is sensitive (the stored record's category, else the file's category cell read as at
    import) is placed at its subdistrict's representative point (no place: no coordinates),
    keeps of its original cells only category, severity, date and count (names, addresses,
    coordinates and notes give the place away), loses its warnings and, when rejected, the
    reason's details (they quote cells). It gets ``coarsened: True``.

    Parameters
    ----------
    conn : Connection
        Database connection (stored categories, representative points).
    upload : mapping
        The upload's row (``kind``, ``options``).
    rows : list of dict
        Report rows with ``row``, ``status``, ``reason``, ``warnings``, ``lat``, ``lon``,
        ``subdistrict_code``, ``record_id`` and ``original``.
    settings : Settings, optional
        Its ``severity_config`` says which categories are sensitive.

    Returns
    -------
    set of int
        The numbers of the coarsened rows.
    """
    if upload["kind"] != "risk_points" or not rows:
        return set()
    model = _severity_model(settings)
    sensitive = sensitive_categories(model)
    if not sensitive:
        return set()
    fields: dict[str, str] = dict((upload["options"] or {}).get("fields") or {})
    category_columns = [c for c, f in fields.items() if f == "category"]
    stored: dict[int, str] = dict(conn.execute(
        sa.text("SELECT id, category FROM risk_points WHERE id = ANY(:ids)"),
        {"ids": [r["record_id"] for r in rows if r["record_id"] is not None]},
    ).tuples().all())
    matcher = CategoryMatcher.from_model(model) if category_columns else None
    hidden: list[dict[str, Any]] = []
    for r in rows:
        category = stored.get(r["record_id"])
        if category is None and matcher is not None:
            category = matcher.match((r["original"] or {}).get(category_columns[0]))[0]
        if category in sensitive:
            hidden.append(r)
    codes = sorted({r["subdistrict_code"] for r in hidden if r["subdistrict_code"]})
    reps = {code: (lat, lon) for code, lat, lon in conn.execute(
        sa.text("SELECT code, ST_Y(rep_point), ST_X(rep_point) FROM subdistricts "
                "WHERE code = ANY(:codes)"), {"codes": codes}).tuples()} if codes else {}
    for r in hidden:
        r["lat"], r["lon"] = reps.get(r["subdistrict_code"], (None, None))
        r["original"] = {c: v for c, v in (r["original"] or {}).items()
                         if fields.get(c) in _UNPLACING_FIELDS}
        r["warnings"] = None
        if r["status"] == "rejected":
            r["reason"] = "rejected; details hidden / ปฏิเสธ รายละเอียดถูกซ่อน"
        note = COARSENED_NOTE if r["lat"] is not None else HIDDEN_PLACE_NOTE
        r["reason"] = "; ".join(x for x in (r["reason"], note) if x)
        r["coarsened"] = True
    return {r["row"] for r in hidden}


def list_uploads(
    conn: Connection, *, principal: Principal | None = None, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """Return uploads, newest first (only the principal's province when it is restricted)."""
    upload = cast(sa.Table, Upload.__table__)
    query = (
        sa.select(
            upload.c.id, upload.c.kind, upload.c.filename, upload.c.sha256,
            upload.c.size_bytes, upload.c.province_code, upload.c.options,
            upload.c.uploaded_by, upload.c.uploaded_at, upload.c.status, upload.c.rows_total,
            upload.c.rows_stored, upload.c.rows_rejected, upload.c.rows_duplicate,
            upload.c.rows_warning,
        )
        .order_by(upload.c.id.desc())
        .limit(max(1, min(limit, 1000)))
        .offset(max(0, offset))
    )
    if principal is not None and principal.province_code:
        query = query.where(upload.c.province_code == principal.province_code)
    out = []
    for row in conn.execute(query).mappings():
        item = _upload_dict(row)
        item.pop("warnings")
        out.append(item)
    return out




def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    return escape_formula(value)


def write_report_csv(
    conn: Connection, upload_id: int, stream: TextIO, *, principal: Principal | None = None,
    settings: Settings | None = None,
) -> int:
    """Write the per-row report of an upload as CSV.

    Columns: row (1-based data row; for KML the placemark's order), status
    (stored/rejected/duplicate), reason (English), lat, lon, subdistrict_code, quality,
    reason_th (the reason in Thai) and reason_code (:func:`com.ingest.reasons.describe`), then the
    original values under their own column names (a name clashing with these gets
    " (original)"). Warnings of stored rows appear in ``reason`` prefixed with "warning:".
    Text cells are escaped against formula injection. Writes an ``upload.report`` audit row.
    Rows of sensitive categories are coarsened as in :func:`get_upload` unless the principal
    sent the file or holds the ``sensitive`` right (``settings``: the severity model).

    Returns
    -------
    int
        Number of rows written.

    Raises
    ------
    com.errors.NotFoundError
        No such upload.
    """
    upload_row = _upload_row(conn, upload_id, principal)
    upload = _upload_dict(upload_row)
    columns: list[str] = upload["columns"]
    fixed = ["row", "status", "reason", "lat", "lon", "subdistrict_code", "quality",
             "reason_th", "reason_code"]
    header = fixed + [c if c not in fixed else f"{c} (original)" for c in columns]
    writer = csv.writer(stream)
    writer.writerow([escape_formula(h) for h in header])
    count = 0
    rows = _report_rows(conn, upload_id)
    if not _sees_rows_exactly(conn, principal, upload_row):
        coarsen_report_rows(conn, upload_row, rows, settings=settings)
    for r in rows:
        reason = r["reason"] or (f"warning: {r['warnings']}" if r["warnings"] else None)
        lat = round(r["lat"], 7) if r["lat"] is not None else None
        lon = round(r["lon"], 7) if r["lon"] is not None else None
        original = r["original"] or {}
        _with_reason(r)
        reason_th = r["reason_th"]
        if reason_th is None and r["warnings"]:
            reason_th = f"คำเตือน: {r['warnings']}"
        writer.writerow(
            [_csv_value(v) for v in
             (r["row"], r["status"], reason, lat, lon, r["subdistrict_code"], r["quality"],
              reason_th, r["reason_code"])]
            + [_csv_value(original.get(c)) for c in columns]
        )
        count += 1
    audit.record(
        conn, principal=principal or CLI, action="upload.report", target=f"upload:{upload_id}",
        record_ids=[upload_id], details={"rows": count},
    )
    return count


_EXPORT_COLUMNS = (
    "id", "name", "category", "category_raw", "severity", "incident_count", "reported_on",
    "address", "subdistrict_code", "district_code", "province_code", "geocode_quality",
    "approximate", "source_file", "source_upload_id", "source_row", "lat", "lon",
)


def export_risk_points(
    conn: Connection,
    stream: TextIO,
    *,
    fmt: str = "geojson",
    province_code: str | None = None,
    principal: Principal = CLI,
) -> int:
    """Write stored risk points as GeoJSON or CSV, with the source file and row of each.

    Parameters
    ----------
    conn : Connection
        Database connection.
    stream : TextIO
        Where to write (a file opened with ``newline=""`` for CSV).
    fmt : {"geojson", "csv"}
        Output format; CSV text cells are escaped against formula injection.
    province_code : str, optional
        Only this province (forced to the principal's province when restricted).
    principal : Principal
        Who exports (audit trail).

    Returns
    -------
    int
        Number of points written.

    Raises
    ------
    com.errors.ValidationError
        Unknown format.
    """
    if fmt not in ("geojson", "csv"):
        raise ValidationError(f"unknown export format {fmt!r}; use geojson or csv")
    if principal.province_code:
        province_code = province_code or principal.province_code
        principal.require_province(province_code)
    query = sa.text(
        "SELECT r.id, r.name, r.category, r.category_raw, r.severity, r.incident_count, "
        "r.reported_on, r.address, r.subdistrict_code, r.district_code, r.province_code, "
        "r.geocode_quality, r.approximate, u.filename AS source_file, r.source_upload_id, "
        "r.source_row, ST_Y(r.geom) AS lat, ST_X(r.geom) AS lon "
        "FROM risk_points r LEFT JOIN uploads u ON u.id = r.source_upload_id "
        "WHERE (CAST(:p AS text) IS NULL OR r.province_code = :p) ORDER BY r.id"
    )
    # Options on the statement, not the connection: they must not leak to the audit insert.
    result = conn.execute(
        query.execution_options(stream_results=True, yield_per=5000), {"p": province_code}
    )
    ids: list[int] = []
    if fmt == "csv":
        writer = csv.writer(stream)
        writer.writerow(_EXPORT_COLUMNS)
        for r in result:
            ids.append(r.id)
            writer.writerow([_csv_value(json_safe(v)) for v in r])
    else:
        stream.write('{"type": "FeatureCollection", "features": [\n')
        for n, r in enumerate(result):
            ids.append(r.id)
            props = {k: json_safe(v) for k, v in r._mapping.items() if k not in ("lat", "lon")}
            feature = {
                "type": "Feature",
                "id": r.id,
                "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
                "properties": props,
            }
            stream.write((",\n" if n else "") + json.dumps(feature, ensure_ascii=False))
        stream.write("\n]}\n")
    audit.record(
        conn, principal=principal, action=f"export.{fmt}", target="collection:risk-points",
        record_ids=ids if len(ids) <= 10_000 else [],
        details={"count": len(ids), "province": province_code,
                 "ids_omitted": len(ids) > 10_000},
    )
    return len(ids)
