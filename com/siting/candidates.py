"""Candidate CCTV sites: a grid over an area, the ``--candidates`` spec, site and cost files."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import shapely

from com.errors import ValidationError
from com.geo.projection import transformer, utm_crs_for
from com.ingest.kinds import KINDS, BuiltRecord, Kind, RowValues, register_kind
from com.ingest.options import ImportOptions
from com.ingest.prepare import prepare_rows
from com.ingest.readers import header_key, read_table
from com.text.thai import clean_text, to_arabic_digits

MAX_GRID_CANDIDATES = 2_000_000


def grid_sites(
    area: shapely.Geometry,
    spacing_m: float,
    *,
    crs: str | None = None,
    max_sites: int = MAX_GRID_CANDIDATES,
    limit_note: str = "",
) -> pd.DataFrame:
    """Return a regular grid of candidate sites ``spacing_m`` apart inside ``area`` (WGS84).

    The grid is laid out in UTM metres (cell centres on multiples of the spacing plus a half),
    so the same area and spacing always give the same sites. More than ``max_sites`` sites
    (``limit_note`` says whose limit that is) is a ValidationError, raised before the grid is
    built when its bounding box alone holds twice as many.
    """
    if not math.isfinite(spacing_m) or spacing_m < 10:
        raise ValidationError(f"grid spacing must be at least 10 m, not {spacing_m}")
    if area is None or area.is_empty:
        raise ValidationError("the area for the grid is empty")
    crs = crs or utm_crs_for(shapely.get_coordinates(area)[:, 0])
    forward = transformer(crs)
    area_m = shapely.transform(
        area, lambda c: np.column_stack(forward.transform(c[:, 0], c[:, 1]))
    )
    minx, miny, maxx, maxy = area_m.bounds
    xs = np.arange(math.floor(minx / spacing_m) * spacing_m + spacing_m / 2, maxx, spacing_m)
    ys = np.arange(math.floor(miny / spacing_m) * spacing_m + spacing_m / 2, maxy, spacing_m)
    if xs.size * ys.size > max_sites * 2:
        raise ValidationError(
            f"a {spacing_m:g} m grid over this area has about {xs.size * ys.size:,} sites, "
            f"more than {max_sites:,}{limit_note}; choose a wider spacing or a district"
        )
    mesh_x, mesh_y = np.meshgrid(xs, ys)
    gx, gy = mesh_x.ravel(), mesh_y.ravel()
    shapely.prepare(area_m)
    inside = shapely.contains_xy(area_m, gx, gy)
    gx, gy = gx[inside], gy[inside]
    if gx.size > max_sites:
        raise ValidationError(
            f"a {spacing_m:g} m grid gives {gx.size:,} sites, more than {max_sites:,}"
            f"{limit_note}; choose a wider spacing"
        )
    lon, lat = transformer(crs, inverse=True).transform(gx, gy)
    return pd.DataFrame(
        {
            "site_id": [f"grid-{int(x)}-{int(y)}" for x, y in zip(gx, gy, strict=True)],
            "lon": np.asarray(lon),
            "lat": np.asarray(lat),
        }
    )


def parse_candidates(spec: str) -> tuple[str, Any]:
    """Parse a ``--candidates`` value.

    ``points`` (the risk points themselves), ``grid:SPACING_M`` (a regular grid inside the
    area), ``sites`` (uploaded candidate sites of the area), ``sites:UPLOAD_ID`` (those of
    one upload) or a file path.

    Examples
    --------
    >>> parse_candidates("grid:250")
    ('grid', 250.0)
    >>> parse_candidates("points")
    ('points', None)
    >>> parse_candidates("sites:12")
    ('sites', 12)
    """
    text = str(spec).strip()
    lower = text.lower()
    if lower in ("points", "risk_points", ""):
        return "points", None
    if lower.startswith("grid") and not Path(text).suffix:
        _, _, value = text.partition(":")
        try:
            spacing = float(value) if value else 250.0
        except ValueError as exc:
            raise ValidationError(
                f"candidates {spec!r}: write grid:SPACING in metres, e.g. grid:250"
            ) from exc
        return "grid", spacing
    if lower == "sites" or (lower.startswith("sites:") and not Path(text).suffix):
        _, _, value = text.partition(":")
        if not value:
            return "sites", None
        if not value.strip().isdigit():
            raise ValidationError(f"candidates {spec!r}: write sites:UPLOAD_ID, e.g. sites:12")
        return "sites", int(value)
    return "file", Path(text)


#: Names of a cost column (Thai first); the upload kind "sites" recognises the same names.
COST_NAMES = ("ราคา", "ค่าใช้จ่าย", "ค่าติดตั้ง", "งบประมาณ", "ต้นทุน", "ราคาติดตั้ง", "cost",
              "price", "install cost", "budget")
_SITE_ID_NAMES = ("site_id", "site", "รหัสจุด", "รหัส", "id", "ชื่อจุด", "ชื่อ", "name")


def build_site(row: RowValues) -> BuiltRecord:
    """Build a candidate site record for the upload kind ``sites``: name, cost, attributes.

    A cost that is not an amount >= 0 ("12,000 บาท" and Thai digits are read) is left empty
    with a warning: the site stays usable with ``k`` cameras.
    """
    attributes = dict(row.extra)
    note = row.text("note")
    if note:
        attributes["note"] = note
    cost = None
    raw = row.get("cost")
    if raw is not None:
        cost = read_cost(raw)
        if cost is None:
            row.warnings.append(f"cost {raw!r} is not an amount >= 0; left empty")
            attributes["cost_raw"] = str(raw)
    return BuiltRecord(
        values={"name": row.text("name"), "cost": cost, "attributes": attributes},
        dedupe_key="",
    )


def read_cost(raw: Any) -> float | None:
    """Read an amount such as ``12000``, ``"12,000 บาท"`` or ``"๑๒,๐๐๐"``; None if invalid.

    Examples
    --------
    >>> read_cost("12,000 บาท"), read_cost("๕๐๐"), read_cost("-3"), read_cost("ฟรี")
    (12000.0, 500.0, None, None)
    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        text = to_arabic_digits(clean_text(str(raw))).lower()
        for unit in ("บาท", "baht", "thb", "฿"):
            text = text.replace(unit, "")
        try:
            value = float(text.replace(",", "").strip())
        except ValueError:
            return None
    return value if math.isfinite(value) and value >= 0 else None


#: The upload kind ``sites``: candidate sites with their cost, never placed by address alone.
#: :mod:`com.ingest.kinds` names this module as its provider (imported on first lookup).
SITES = Kind(
    name="sites",
    table="candidate_sites",
    columns=("name", "cost", "attributes"),
    build=build_site,
    extra_fields={"cost": COST_NAMES},
    allow_address=False,
    has_district=True,
)
register_kind(SITES)


def read_points_file(
    path: Path | str,
    *,
    kind: Literal["sites", "cameras"] = "sites",
    settings: Any = None,
    zone_hint: int | None = None,
) -> pd.DataFrame:
    """Read candidate sites or cameras from any file the import machinery reads.

    CSV (any encoding), XLSX/XLS, KML/KMZ, GeoJSON, GeoPackage or zipped Shapefile, with
    coordinates in any supported form (decimal, DMS, UTM 47/48, MGRS, Google Maps links);
    nothing is stored. Returns ``site_id``, ``name``, ``lon``, ``lat`` and ``cost`` (sites)
    or ``radius_m`` (cameras).

    Raises
    ------
    ValidationError
        Naming the first row that cannot be placed (row number, column and reason).
    """
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"{kind} file {path} does not exist")
    table = read_table(path.read_bytes(), path.name, extra_fields=KINDS[kind].extra_fields)
    rows, _, _ = prepare_rows(
        table, options=ImportOptions(kind=kind), settings=settings, zone_hint=zone_hint,
        geocoder=_no_geocoder,
    )
    rejected = [r for r in rows if r.status == "rejected"]
    if rejected:
        first = rejected[0]
        column = f" ({first.column})" if first.column else ""
        more = f"; {len(rejected) - 1} more rows rejected" if len(rejected) > 1 else ""
        raise ValidationError(f"{path.name} row {first.row_number}{column}: {first.reason}{more}")
    placed = [r for r in rows if r.target == "main" and r.lon is not None and r.lat is not None]
    if not placed:
        raise ValidationError(f"{path.name}: no {kind} with coordinates")
    names = [r.record.get("name") for r in placed]
    ids = [str(n) if n else f"{path.stem}-{r.row_number}" for n, r in zip(names, placed,
                                                                             strict=True)]
    counts = pd.Series(ids).value_counts()
    ids = [f"{i}#{r.row_number}" if counts[i] > 1 else i for i, r in zip(ids, placed,
                                                                          strict=True)]
    out = pd.DataFrame(
        {
            "site_id": ids,
            "name": names,
            "lon": [float(r.lon) for r in placed],  # type: ignore[arg-type]
            "lat": [float(r.lat) for r in placed],  # type: ignore[arg-type]
        }
    )
    extra = "cost" if kind == "sites" else "radius_m"
    out[extra] = pd.to_numeric(
        pd.Series([r.record.get(extra) for r in placed], dtype=object), errors="coerce"
    )
    return out


def _no_geocoder(address: str, **_: Any) -> Any:
    # Sites and cameras need coordinates (their kinds refuse address-only rows before any
    # geocoding); this keeps prepare_rows from loading the gazetteer for nothing.
    raise ValidationError("sites and cameras need coordinates")


def read_costs(path: Path | str) -> dict[str, float]:
    """Read a cost file: a site id column (site_id/รหัส/ชื่อ) and a cost column (cost/ราคา).

    Raises
    ------
    ValidationError
        When a column is missing or a cost is not an amount >= 0 (naming the row).
    """
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"cost file {path} does not exist")
    table = read_table(path.read_bytes(), path.name)
    keys = [header_key(c) for c in table.columns]

    def column(names: Sequence[str]) -> int | None:
        for name in names:
            if header_key(name) in keys:
                return keys.index(header_key(name))
        return None

    id_col, cost_col = column(_SITE_ID_NAMES), column(COST_NAMES)
    if id_col is None or cost_col is None:
        raise ValidationError(
            f"{path.name}: needs a site id column (site_id/รหัส/ชื่อ) and a cost column "
            f"(cost/ราคา/ค่าใช้จ่าย); found {', '.join(map(str, table.columns))}"
        )
    costs: dict[str, float] = {}
    for number, row in zip(table.row_numbers, table.rows, strict=True):
        cost = read_cost(row[cost_col]) if row[cost_col] not in (None, "") else None
        if cost is None:
            raise ValidationError(
                f"{path.name} row {number}: cost {row[cost_col]!r} is not an amount >= 0"
            )
        site = row[id_col]
        if isinstance(site, float) and site.is_integer():
            site = int(site)
        costs[str(site).strip()] = cost
    return costs


def apply_costs(
    candidates: pd.DataFrame, costs: Mapping[str, float] | None, default_cost: float | None
) -> pd.DataFrame:
    """Set the ``cost`` column of candidates from a site-id map and a default."""
    out = candidates.copy()
    if "cost" not in out.columns:
        out["cost"] = np.nan
    out["cost"] = pd.to_numeric(out["cost"], errors="coerce")
    if costs:
        mapped = out["site_id"].astype(str).map(costs)
        out["cost"] = mapped.where(mapped.notna(), out["cost"])
    if default_cost is not None:
        if not math.isfinite(default_cost) or default_cost < 0:
            raise ValidationError(f"the default cost must be >= 0, not {default_cost}")
        out["cost"] = out["cost"].fillna(float(default_cost))
    return out
