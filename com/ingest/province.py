"""The upload's province: its code from a name, its UTM zone, the places after short Plus Codes."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.errors import ValidationError
from com.ingest.geocode import geocode
from com.text.thai import clean_text

__all__ = ["locality_points", "resolve_province", "zone_hint"]

#: UTM zones: 47 west of 102 E, 48 east of it.
_ZONE_SPLIT_LON = 102.0


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


def zone_hint(conn: Connection, province_code: str | None) -> int | None:
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


def locality_points(
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
