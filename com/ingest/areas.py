"""Importing area layers (issue 16): villages and named custom polygon layers.

``com import FILE --kind areas --layer villages`` (or ``--layer NAME``) reads a table (CSV,
XLSX with code, names, lat/lon or WKT) or a vector file (KML, GeoJSON, GPKG, zipped SHP) with
the readers of every upload, checks each row and upserts the accepted ones by (layer, code):
importing the same file again changes nothing. A village's code is the DOPA 8-digit code,
its subdistrict's 6 digits and the 2-digit หมู่ที่; the subdistrict its point (or its polygon's
inner point) falls in must be that subdistrict, else the row is rejected. Villages given as
points get catchments (:mod:`com.ingest.catchments`), marked ``catchment_derived``.

Kept apart from the point-upload pipeline (:mod:`com.ingest.uploads`): areas are upserted by
code and their catchments depend on the other villages of the subdistrict, which the
row-by-row COPY of point uploads does not model.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.db.tables_areas import PLAN_STATUSES
from com.errors import ValidationError
from com.ingest.catchments import voronoi_catchments
from com.ingest.readers import ReadLimits, json_safe, read_table
from com.text.thai import parse_date, to_arabic_digits

__all__ = ["VILLAGES", "AreaImport", "import_areas", "import_areas_path", "layer_name",
           "plan_status_of"]

#: The layer of villages (level ``village``); any other name is a custom layer (``layer:NAME``).
VILLAGES = "villages"

#: Field -> header names recognised (compared lower-cased, spaces and underscores removed).
AREA_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("code", "รหัส", "villagecode", "vill_code", "รหัสหมู่บ้าน", "areacode", "id"),
    "name_th": ("name_th", "ชื่อ", "ชื่อหมู่บ้าน", "name", "ชื่อไทย", "namet"),
    "name_en": ("name_en", "ชื่ออังกฤษ", "namee", "english"),
    "lat": ("lat", "latitude", "ละติจูด"),
    "lon": ("lon", "lng", "long", "longitude", "ลองจิจูด"),
    "wkt": ("wkt", "geometry", "geom", "รูปร่าง"),
    "status": ("status", "สถานะ", "plan_status", "สถานะแผน"),
    "due": ("due", "due_date", "plan_due", "กำหนดเสร็จ", "วันครบกำหนด"),
}

_STATUS_WORDS = {
    "planned": "planned", "plan": "planned", "วางแผน": "planned", "แผน": "planned",
    "ยังไม่เริ่ม": "planned", "in_progress": "in_progress", "inprogress": "in_progress",
    "in progress": "in_progress", "กำลังดำเนินการ": "in_progress", "ดำเนินการ": "in_progress",
    "done": "done", "เสร็จ": "done", "เสร็จสิ้น": "done", "แล้วเสร็จ": "done",
    "ดำเนินการแล้ว": "done", "completed": "done",
}


def plan_status_of(text: object) -> str | None:
    """Return the plan status a cell names (Thai or English), None when blank.

    Raises
    ------
    com.errors.ValidationError
        A word that is not a status, in English and Thai.

    Examples
    --------
    >>> plan_status_of("กำลังดำเนินการ"), plan_status_of("Done"), plan_status_of("")
    ('in_progress', 'done', None)
    """
    value = str(text or "").strip()
    if not value:
        return None
    status = _STATUS_WORDS.get(value.lower().replace("-", "_"))
    if status is None:
        raise ValidationError(
            f"status {value!r} is not one of {', '.join(PLAN_STATUSES)} / "
            f"สถานะ {value!r} ไม่ใช่ วางแผน, กำลังดำเนินการ หรือ เสร็จ"
        )
    return status


class RowProblem(Exception):
    """A rejected row: the column and the reason in English and Thai."""

    def __init__(self, column: str | None, en: str, th: str) -> None:
        super().__init__(en)
        self.column, self.en, self.th = column, en, th


@dataclass
class AreaImport:
    """What an import did: every row stored or rejected with its reason."""

    layer: str
    filename: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    catchments: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return the counts and the rows (rejected rows with row, column and reasons)."""
        stored = [r for r in self.rows if r["status"] == "stored"]
        return {
            "layer": self.layer, "file": self.filename, "rows": len(self.rows),
            "stored": len(stored), "rejected": len(self.rows) - len(stored),
            "catchments_derived": self.catchments, "row_reports": self.rows,
        }


def layer_name(value: str | None) -> str:
    """Return a layer's name: ``villages`` or a custom name (letters, digits, ``_``, ``-``).

    Raises
    ------
    com.errors.ValidationError
        A missing name or one with other characters.
    """
    text = (value or "").strip()
    if text.lower() in ("village", VILLAGES):
        return VILLAGES
    if text.startswith("layer:"):
        text = text[len("layer:"):]
    if not re.fullmatch(r"[0-9A-Za-z\u0e00-\u0e7f_-]{1,60}", text):
        raise ValidationError(
            f"layer name {value!r}: use 'villages' or a name of letters, digits, '_' or '-' "
            "(at most 60) / ชื่อชั้นข้อมูลต้องเป็น villages หรือตัวอักษร ตัวเลข _ หรือ -"
        )
    return text.lower()  # level names are read lower-cased (``layer:NAME``)


def _field_columns(columns: Sequence[str]) -> dict[str, int]:
    def key(text: str) -> str:
        return re.sub(r"[\s_]+", "", str(text).strip().lower())

    wanted = {key(alias): name for name, aliases in AREA_FIELDS.items() for alias in aliases}
    found: dict[str, int] = {}
    for i, column in enumerate(columns):
        name = wanted.get(key(column))
        if name and name not in found:
            found[name] = i
    return found


def _cell(row: Sequence[Any], index: int | None) -> str | None:
    if index is None:
        return None
    value = json_safe(row[index])
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = to_arabic_digits(str(value)).strip()
    return text or None


def _geometry(row: Sequence[Any], cols: dict[str, int], given: Any, columns: list[str]) -> Any:
    """Return the row's geometry: the vector feature's, else WKT, else lat/lon."""
    if given is not None:
        return given
    wkt = _cell(row, cols.get("wkt"))
    if wkt:
        try:
            return shapely.from_wkt(wkt)
        except shapely.errors.GEOSException:
            raise RowProblem(columns[cols["wkt"]], f"WKT {wkt[:40]!r} is not a geometry",
                             f"WKT {wkt[:40]!r} ไม่ใช่รูปร่างที่อ่านได้") from None
    lat, lon = _cell(row, cols.get("lat")), _cell(row, cols.get("lon"))
    if lat is None or lon is None:
        raise RowProblem(None, "no geometry: give lat and lon, WKT or a vector feature",
                         "ไม่มีตำแหน่ง: ใส่ละติจูดและลองจิจูด หรือ WKT")
    try:
        x, y = float(lon), float(lat)
    except ValueError:
        raise RowProblem(columns[cols["lat"]], f"lat/lon {lat!r}, {lon!r} are not numbers",
                         f"ละติจูด/ลองจิจูด {lat!r}, {lon!r} ไม่ใช่ตัวเลข") from None
    if not (-90 <= y <= 90 and -180 <= x <= 180):
        raise RowProblem(columns[cols["lat"]], f"lat/lon {lat}, {lon} out of range",
                         f"ละติจูด/ลองจิจูด {lat}, {lon} เกินช่วงที่เป็นไปได้")
    return shapely.Point(x, y)


def _plan(row: Sequence[Any], cols: dict[str, int], columns: list[str]
          ) -> tuple[str | None, dt.date | None]:
    status_text = _cell(row, cols.get("status"))
    try:
        status = plan_status_of(status_text)
    except ValidationError:
        raise RowProblem(
                columns[cols["status"]],
                f"status {status_text!r} is not one of {', '.join(PLAN_STATUSES)}",
                f"สถานะ {status_text!r} ไม่ใช่ วางแผน, กำลังดำเนินการ หรือ เสร็จ",
            ) from None
    due_text = _cell(row, cols.get("due"))
    due = None
    if due_text:
        try:
            due = parse_date(due_text)
        except Exception:  # noqa: BLE001 - any parse failure is the user's date
            due = None
        if due is None:
            raise RowProblem(columns[cols["due"]], f"due date {due_text!r} is not a date",
                             f"วันครบกำหนด {due_text!r} ไม่ใช่วันที่")
    return status, due


def _check_row(layer: str, row: Sequence[Any], cols: dict[str, int], columns: list[str],
               given: Any) -> dict[str, Any]:
    code = _cell(row, cols.get("code"))
    code_column = columns[cols["code"]] if "code" in cols else "code"
    if not code:
        raise RowProblem(code_column, "the area code is empty", "ไม่มีรหัสพื้นที่")
    if layer == VILLAGES and not re.fullmatch(r"\d{8}", code):
        raise RowProblem(
            code_column,
            f"village code {code!r} must be 8 digits (subdistrict code + หมู่ที่)",
            f"รหัสหมู่บ้าน {code!r} ต้องเป็นตัวเลข 8 หลัก (รหัสตำบล 6 หลัก + หมู่ที่ 2 หลัก)",
        )
    geom = _geometry(row, cols, given, columns)
    kind = shapely.get_type_id(geom)
    if geom.is_empty or kind not in (0, 3, 6):
        raise RowProblem(None, f"a {geom.geom_type} is neither a point nor a polygon",
                         f"รูปร่าง {geom.geom_type} ไม่ใช่จุดหรือรูปหลายเหลี่ยม")
    if kind == 0 and layer != VILLAGES:
        raise RowProblem(None, "a custom layer's areas must be polygons, not points",
                         "พื้นที่ของชั้นข้อมูลกำหนดเองต้องเป็นรูปหลายเหลี่ยม ไม่ใช่จุด")
    if kind != 0 and not geom.is_valid:
        geom = shapely.make_valid(geom)
        geom = shapely.union_all([g for g in shapely.get_parts(geom)
                                  if shapely.get_type_id(g) in (3, 6)])
    status, due = _plan(row, cols, columns)
    extra = {c: json_safe(v) for c, v in zip(columns, row, strict=False)
             if c not in {columns[i] for i in cols.values()}}
    return {"code": code, "name_th": _cell(row, cols.get("name_th")),
            "name_en": _cell(row, cols.get("name_en")), "geom": geom,
            "plan_status": status, "plan_due": due, "attributes": extra}


def _subdistricts_at(conn: Connection, points: list[Any]) -> list[dict[str, Any] | None]:
    """Return the subdistrict (code, district, province) each point falls in, None outside."""
    if not points:
        return []
    rows = conn.execute(sa.text(
        "SELECT q.i, s.code, s.district_code, s.province_code "
        "FROM unnest(CAST(:wkb AS bytea[])) WITH ORDINALITY AS q(g, i) "
        "JOIN LATERAL (SELECT s.code, s.district_code, s.province_code FROM subdistricts s "
        "WHERE ST_Covers(s.geom, ST_GeomFromWKB(q.g, 4326)) ORDER BY s.code LIMIT 1) s ON true"
    ), {"wkb": [shapely.to_wkb(p) for p in points]}).all()
    found: list[dict[str, Any] | None] = [None] * len(points)
    for i, code, district, province in rows:
        found[int(i) - 1] = {"subdistrict_code": code, "district_code": district,
                             "province_code": province}
    return found


def _place(conn: Connection, layer: str, checked: list[dict[str, Any]],
           columns: list[str], cols: dict[str, int]) -> None:
    """Set each row's subdistrict; reject a village whose code disagrees with it."""
    inner = [r["geom"] if r["geom"].geom_type == "Point"
             else shapely.point_on_surface(r["geom"]) for r in checked]
    code_column = columns[cols["code"]] if "code" in cols else "code"
    for row, where in zip(checked, _subdistricts_at(conn, inner), strict=True):
        if where is None:
            if layer == VILLAGES:
                row["problem"] = RowProblem(
                    None, "the village lies in no subdistrict of the loaded boundaries",
                    "หมู่บ้านไม่อยู่ในตำบลใดของขอบเขตที่โหลดไว้")
            row.update(subdistrict_code=None, district_code=None, province_code=None)
            continue
        row.update(where)
        if layer == VILLAGES and row["code"][:6] != where["subdistrict_code"]:
            row["problem"] = RowProblem(
                code_column,
                f"village code {row['code']} says subdistrict {row['code'][:6]}, but its "
                f"location is in subdistrict {where['subdistrict_code']}",
                f"รหัสหมู่บ้าน {row['code']} ระบุตำบล {row['code'][:6]} แต่ตำแหน่งอยู่ในตำบล "
                f"{where['subdistrict_code']}",
            )


_UPSERT = sa.text(
    "INSERT INTO area_features (layer, code, name_th, name_en, geom, point, rep_point, "
    "area_km2, catchment_derived, subdistrict_code, district_code, province_code, plan_status, "
    "plan_due, synthetic, attributes, source_file, source_row, updated_at) "
    "SELECT :layer, :code, :name_th, :name_en, ST_Multi(g.geom), :point_geom, "
    "ST_PointOnSurface(g.geom), ST_Area(CAST(g.geom AS geography)) / 1e6, :derived, "
    ":subdistrict_code, :district_code, :province_code, :plan_status, :plan_due, :synthetic, "
    "CAST(:attributes AS jsonb), :source_file, :source_row, now() "
    "FROM (SELECT ST_GeomFromWKB(:geom, 4326) AS geom) AS g "
    "ON CONFLICT (layer, code) DO UPDATE SET name_th = EXCLUDED.name_th, "
    "name_en = EXCLUDED.name_en, geom = EXCLUDED.geom, point = EXCLUDED.point, "
    "rep_point = EXCLUDED.rep_point, area_km2 = EXCLUDED.area_km2, "
    "catchment_derived = EXCLUDED.catchment_derived, "
    "subdistrict_code = EXCLUDED.subdistrict_code, district_code = EXCLUDED.district_code, "
    "province_code = EXCLUDED.province_code, plan_status = EXCLUDED.plan_status, "
    "plan_due = EXCLUDED.plan_due, synthetic = EXCLUDED.synthetic, "
    "attributes = EXCLUDED.attributes, source_file = EXCLUDED.source_file, "
    "source_row = EXCLUDED.source_row, updated_at = now()"
)


def _upsert(conn: Connection, layer: str, rows: list[dict[str, Any]], *, filename: str,
            synthetic: bool) -> None:
    for row in rows:
        geom = row["geom"]
        is_point = geom.geom_type == "Point"
        # A point's polygon is a placeholder until its catchment is cut (same transaction).
        conn.execute(_UPSERT, {
            "layer": layer, "code": row["code"], "name_th": row["name_th"],
            "name_en": row["name_en"],
            "geom": shapely.to_wkb(geom.buffer(1e-5) if is_point else geom),
            "point_geom": f"SRID=4326;{geom.wkt}" if is_point else None,
            "derived": is_point, "subdistrict_code": row["subdistrict_code"],
            "district_code": row["district_code"], "province_code": row["province_code"],
            "plan_status": row["plan_status"], "plan_due": row["plan_due"],
            "synthetic": synthetic,
            "attributes": json.dumps(row["attributes"], ensure_ascii=False, default=str),
            "source_file": filename, "source_row": row["row"],
        })


def derive_catchments(conn: Connection, subdistricts: Sequence[str]) -> int:
    """Recut the catchments of the point villages of these subdistricts; return how many."""
    count = 0
    for code in sorted(set(subdistricts)):
        sub = conn.execute(sa.text(
            "SELECT ST_AsBinary(geom) FROM subdistricts WHERE code = :c"), {"c": code}
        ).scalar_one()
        villages = conn.execute(sa.text(
            "SELECT code, ST_AsBinary(point) AS point, catchment_derived, "
            "ST_AsBinary(geom) AS geom FROM area_features "
            "WHERE layer = :layer AND subdistrict_code = :c ORDER BY code"
        ), {"layer": VILLAGES, "c": code}).all()
        derived = [v for v in villages if v.catchment_derived and v.point is not None]
        given = [shapely.from_wkb(bytes(v.geom)) for v in villages if not v.catchment_derived]
        taken = shapely.union_all(given) if given else None
        cells = voronoi_catchments([shapely.from_wkb(bytes(v.point)) for v in derived],
                                   shapely.from_wkb(bytes(sub)), taken=taken)
        for village, cell in zip(derived, cells, strict=True):
            polys = [g for g in shapely.get_parts(cell) if shapely.get_type_id(g) == 3]
            if not polys:
                continue
            conn.execute(sa.text(
                "UPDATE area_features SET geom = ST_Multi(ST_GeomFromWKB(:g, 4326)), "
                "rep_point = point, area_km2 = ST_Area(CAST(ST_GeomFromWKB(:g, 4326) "
                "AS geography)) / 1e6 WHERE layer = :layer AND code = :code"
            ), {"g": shapely.to_wkb(shapely.multipolygons(polys)), "layer": VILLAGES,
                "code": village.code})
            count += 1
    return count


def import_areas(
    conn: Connection, data: bytes, filename: str, *, layer: str, sheet: str | None = None,
    limits: ReadLimits | None = None, synthetic: bool = False,
    provinces: Collection[str] | None = None,
) -> AreaImport:
    """Import an area layer file into ``area_features`` in the caller's transaction.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        Connection of the caller's transaction.
    data, filename : bytes, str
        The file and its name (the extension chooses the reader).
    layer : str
        ``villages`` or a custom layer's name.
    sheet : str, optional
        Worksheet or GeoPackage layer.
    limits : ReadLimits, optional
        Reading caps.
    synthetic : bool
        Mark the areas synthetic (the demo's).
    provinces : collection of str, optional
        The provinces the uploader may change (``Principal.allowed_provinces``; None: all).
        A row whose place lies in another province, or in none, is rejected with that reason.

    Returns
    -------
    AreaImport
        Every row stored or rejected with its row number, column and reasons (Thai, English).
    """
    name = layer_name(layer)
    table = read_table(data, filename, sheet=sheet, limits=limits,
                       extra_fields={k: list(v) for k, v in AREA_FIELDS.items()})
    cols = _field_columns(table.columns)
    report = AreaImport(layer=name, filename=Path(filename).name)
    checked: list[dict[str, Any]] = []
    for i, (number, row) in enumerate(zip(table.row_numbers, table.rows, strict=True)):
        given = table.geometries[i] if table.geometries is not None else None
        try:
            item = _check_row(name, row, cols, table.columns, given)
        except RowProblem as problem:
            report.rows.append(_rejected(number, _cell(row, cols.get("code")), problem))
            continue
        item["row"] = number
        checked.append(item)
    _place(conn, name, checked, table.columns, cols)
    if provinces is not None:
        _reject_outside(checked, frozenset(provinces))
    _reject_repeated(checked, table.columns, cols)
    good = [r for r in checked if "problem" not in r]
    _upsert(conn, name, good, filename=report.filename, synthetic=synthetic)
    if name == VILLAGES:
        report.catchments = derive_catchments(
            conn, [r["subdistrict_code"] for r in good if r["geom"].geom_type == "Point"])
    for item in checked:
        if "problem" in item:
            report.rows.append(_rejected(item["row"], item["code"], item["problem"]))
        else:
            report.rows.append({"row": item["row"], "code": item["code"], "status": "stored",
                                "subdistrict_code": item["subdistrict_code"],
                                "catchment_derived": item["geom"].geom_type == "Point"})
    report.rows.sort(key=lambda r: r["row"])
    return report


def _reject_repeated(checked: list[dict[str, Any]], columns: list[str],
                     cols: dict[str, int]) -> None:
    seen: dict[str, int] = {}
    column = columns[cols["code"]] if "code" in cols else "code"
    for row in checked:
        if "problem" in row:
            continue
        if row["code"] in seen:
            row["problem"] = RowProblem(
                column, f"code {row['code']} repeats row {seen[row['code']]}",
                f"รหัส {row['code']} ซ้ำกับแถว {seen[row['code']]}")
        else:
            seen[row["code"]] = row["row"]


def _reject_outside(checked: list[dict[str, Any]], provinces: frozenset[str]) -> None:
    """Reject the rows an uploader limited to ``provinces`` may not change."""
    allowed = ", ".join(sorted(provinces)) or "-"
    for row in checked:
        province = row.get("province_code")
        if "problem" in row or province in provinces:
            continue
        where_en = f"province {province}" if province else "no province"
        where_th = f"อยู่ในจังหวัด {province}" if province else "ไม่อยู่ในจังหวัดใด"
        row["problem"] = RowProblem(
            None, f"the area lies in {where_en}, outside the provinces you may change "
            f"({allowed})",
            f"พื้นที่{where_th} นอกจังหวัดที่ท่านมีสิทธิ์แก้ไข ({allowed})")


def _rejected(number: int, code: str | None, problem: RowProblem) -> dict[str, Any]:
    return {"row": number, "code": code, "status": "rejected", "column": problem.column,
            "reason_en": problem.en, "reason_th": problem.th}


def import_areas_path(engine: sa.engine.Engine, path: Path, *, layer: str,
                      sheet: str | None = None) -> AreaImport:
    """Import an area layer file from disk in one transaction (:func:`import_areas`)."""
    with engine.begin() as conn:
        return import_areas(conn, Path(path).read_bytes(), Path(path).name, layer=layer,
                            sheet=sheet)
