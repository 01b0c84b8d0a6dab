"""The built-in upload kinds and their row builders: risk points, cameras, layer features."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from com.errors import ParseError
from com.ingest.cells import all_tidy_text, is_blank_cell, json_column, tidy_text
from com.ingest.kinds import BuiltRecord, Kind, RowValues, register_kind
from com.ingest.readers import json_safe
from com.text.thai import clean_text, parse_date, parse_severity

__all__ = [
    "CAMERAS",
    "LAYER",
    "RISK_POINTS",
    "build_camera",
    "build_layer_feature",
    "build_risk_point",
    "build_risk_points",
    "parse_report_date",
]

_DEFAULT_SEVERITY = 3


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
    count, warning = count_of(row.get("count"))
    if warning:
        row.warnings.append(warning)
    return count


def count_of(raw: Any) -> tuple[int, str | None]:
    """Return the incident count of a (non-blank or None) cell and a warning when 1 is used."""
    if raw is None:
        return 1, None
    try:
        number = float(clean_text(str(raw)).replace(",", ""))
    except ValueError:
        number = float("nan")
    if not math.isfinite(number) or number < 1 or not number.is_integer():
        return 1, f"count {json_safe(raw)!r} is not a whole number of 1 or more; 1 used"
    return int(number), None


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


def severity_of(raw: Any, ctx: dict[str, Any]) -> tuple[int, str | None, Any]:
    """Return the severity of a (non-blank or None) cell, a warning, and the raw value kept.

    The raw value (JSON) is kept in the attributes only when it could not be read.
    """
    if raw is None:
        return _DEFAULT_SEVERITY, f"no severity given; {_DEFAULT_SEVERITY} (ปานกลาง) used", None
    try:
        severity = _cached(ctx, "severity", raw, lambda v: parse_severity(
            v, words=ctx.get("severity_words")))
    except ParseError as exc:
        return (_DEFAULT_SEVERITY, f"{exc}; {_DEFAULT_SEVERITY} (ปานกลาง) used",
                json_safe(raw))
    return severity, None, None


def date_of(raw: Any, ctx: dict[str, Any]) -> tuple[date | None, list[str], Any]:
    """Return the report date of a (non-blank or None) cell, warnings, and the raw value kept.

    The raw value (JSON) is kept in the attributes only when no date could be read; a date
    after ``ctx["today"]`` is kept with a warning.
    """
    if raw is None:
        return None, [], None
    try:
        naive_utc = bool(ctx.get("date_utc"))
        reported_on = _cached(ctx, "date", raw,
                              lambda v: parse_report_date(v, naive_utc=naive_utc))
    except ParseError as exc:
        return None, [f"{exc}; the date is left empty"], json_safe(raw)
    if reported_on is not None and reported_on > ctx["today"]:
        return reported_on, [f"date {reported_on.isoformat()} is in the future"], None
    return reported_on, [], None


def build_risk_point(row: RowValues) -> BuiltRecord:
    """Build a risk point: category, severity 1-5, date, count, name, address, attributes.

    :func:`build_risk_points` builds whole columns with the same parts (the same values and
    warnings, in the same order), each distinct cell once.
    """
    ctx = row.context
    attributes = dict(row.extra)
    category, warning = ctx["categories"].match(row.get("category"))
    if warning:
        row.warnings.append(warning)
    severity, warning, severity_raw = severity_of(row.get("severity"), ctx)
    if warning:
        row.warnings.append(warning)
    if severity_raw is not None:
        attributes["severity_raw"] = severity_raw
    reported_on, date_warnings, date_raw = date_of(row.get("date"), ctx)
    row.warnings.extend(date_warnings)
    if date_raw is not None:
        attributes["date_raw"] = date_raw
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


#: Cells whose equal values are of one type: keyed by the value alone (see _distinct_map).
_PLAIN_CELLS = {str, type(None)}


def _distinct_map(values: Sequence[Any], parse: Callable[[Any], Any],
                  memo: dict[Any, Any] | None = None) -> list[Any]:
    """Return ``parse`` of every value, computed once per distinct value (hashable ones).

    ``memo``: text cells parsed before (by the same ``parse``), kept across the slices of
    one upload's column and filled here: a date column of 100,000 rows holds a few
    thousand distinct dates, each in most slices.
    """
    if set(map(type, values)) <= _PLAIN_CELLS:
        # Text and empty cells (every delimited file): distinct values and the lookup of each
        # cell run in C, 5-10x faster than the loop below (a column of 10,000 cells in 0.5 ms).
        parsed = {} if memo is None else memo
        for value in dict.fromkeys(values):
            if value not in parsed:
                parsed[value] = parse(value)
        return list(map(parsed.__getitem__, values))
    # Other cells are keyed by type too: 1, 1.0 and True are equal keys but read differently.
    seen: dict[tuple[type, Any], Any] = {}
    out: list[Any] = []
    append = out.append
    for value in values:
        key = (type(value), value)
        try:
            hit = seen[key]
        except KeyError:
            hit = seen[key] = parse(value)
        except TypeError:  # an unhashable cell (a list or dict from JSON)
            hit = parse(value)
        append(hit)
    return out


def _blank_to_none(value: Any) -> Any:
    return None if is_blank_cell(value) else value


def _iso_date_of(value: Any, ctx: dict[str, Any]) -> tuple[str | None, list[str], Any]:
    day, warnings, raw = date_of(_blank_to_none(value), ctx)
    return (day.isoformat() if day else None), warnings, raw


def cell_text(value: Any) -> str | None:
    """Return a cell as tidy text, None when blank (what :meth:`RowValues.text` returns)."""
    if value is None or is_blank_cell(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return tidy_text(value if type(value) is str else str(json_safe(value))) or None


def build_risk_points(
    columns: Mapping[str, Sequence[Any]], n: int, extras: Sequence[dict[str, Any]],
    ctx: dict[str, Any],
) -> list[tuple[dict[str, Any], list[str], tuple[Any, ...]]]:
    """Build ``n`` risk points placed by their coordinates, column by column.

    ``columns`` holds the raw cells of each recognised field (absent fields are missing),
    ``extras`` the unrecognised columns of each row. Each distinct cell of a column is read
    once with the same parts as :func:`build_risk_point`, which gives, row by row, the same
    values and the same warnings in the same order. Returns ``(values, warnings, stored)``
    per row; ``stored`` holds the values in the order of ``RISK_POINTS.columns`` as they are
    stored (attributes as JSON text), for the COPY of com.ingest.store.
    """
    nones: list[Any] = [None] * n

    def column(name: str) -> Sequence[Any]:
        return columns.get(name, nones)

    matcher = ctx["categories"]
    # What each distinct text cell reads as, kept for the upload's next slice.
    memos: dict[str, dict[Any, Any]] = ctx.setdefault("distinct_cells", {})

    def read(name: str, parse: Callable[[Any], Any], field: str | None = None) -> list[Any]:
        return _distinct_map(column(field or name), parse, memos.setdefault(name, {}))

    category = read("category", lambda v: matcher.match(_blank_to_none(v)))
    category_raw = read("category_raw", cell_text, "category")
    severity = read("severity", lambda v: severity_of(_blank_to_none(v), ctx))
    reported = read("date", lambda v: _iso_date_of(v, ctx))
    count = read("count", lambda v: count_of(_blank_to_none(v)))
    note = read("note", cell_text)
    names = columns.get("name")
    # Names are nearly all distinct, and nearly always tidy already: checked for the column.
    name = (nones if names is None else list(names) if all_tidy_text(names)
            else [cell_text(v) for v in names])
    out: list[tuple[dict[str, Any], list[str], tuple[Any, ...]]] = []
    append = out.append
    for ((cat, cat_warning), (sev, sev_warning, sev_raw), (day, date_warnings, date_raw),
         (number, count_warning), extra, note_text, name_text, raw_category) in zip(
            category, severity, reported, count, extras, note, name, category_raw, strict=True):
        warnings = [w for w in (cat_warning, sev_warning) if w] if (
            cat_warning or sev_warning) else []
        if date_warnings:
            warnings += date_warnings
        if count_warning:
            warnings.append(count_warning)
        attributes = dict(extra) if extra else {}
        if sev_raw is not None:
            attributes["severity_raw"] = sev_raw
        if date_raw is not None:
            attributes["date_raw"] = date_raw
        if note_text:
            attributes["note"] = note_text
        append(({
            "name": name_text,
            "category": cat,
            "category_raw": raw_category,
            "severity": sev,
            "incident_count": number,
            "reported_on": day,
            "address": None,
            "geocode_quality": "coordinates",
            "geocode_score": None,
            "approximate": False,
            "attributes": attributes,
        }, warnings, (name_text, cat, raw_category, sev, number, day, None, "coordinates", None,
                      False, json_column(attributes))))
    return out


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


RISK_POINTS = Kind(
    name="risk_points",
    table="risk_points",
    # The order of the stored values build_risk_points makes.
    columns=("name", "category", "category_raw", "severity", "incident_count",
             "reported_on", "address", "geocode_quality", "geocode_score", "approximate",
             "attributes"),
    build=build_risk_point,
    dedupe_column="category",
    has_district=True,
    has_approximate=True,
    has_h3=True,
)
CAMERAS = Kind(
    name="cameras",
    table="cameras",
    columns=("name", "radius_m", "attributes"),
    build=build_camera,
    extra_fields={"radius_m": ("รัศมี", "รัศมี (ม.)", "รัศมีครอบคลุม", "ระยะครอบคลุม",
                               "radius", "radius m", "coverage", "range")},
    allow_address=False,
)
LAYER = Kind(
    name="layer",
    table="context_layers",
    columns=("layer", "feature_key", "name", "properties"),
    build=build_layer_feature,
    allow_address=False,
    geometry="layer",
)
register_kind(RISK_POINTS)
register_kind(CAMERAS)
register_kind(LAYER)
