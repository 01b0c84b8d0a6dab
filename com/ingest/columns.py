"""Which column holds which field: by header, by values, or by the uploader's mapping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from com.errors import UploadError
from com.ingest.kinds import Kind
from com.ingest.readers import FIELD_ALIASES, SourceTable, header_key, recognise_column
from com.ingest.readers.headers import ValueProfile, guess_field, profile_values, value_support
from com.text.thai import clean_text

__all__ = ["ADDRESS_FIELDS", "COORD_FIELDS", "ColumnPlan", "ColumnsNotRecognised", "plan_columns"]

#: Fields that hold a point's coordinates, in the order a row's cells are read.
COORD_FIELDS = ("location", "lat", "lon", "easting", "northing", "mgrs")
#: Fields that make up an address.
ADDRESS_FIELDS = ("address", "village", "moo", "subdistrict", "district", "province", "postcode")


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
    fields, ignored, mapped = _mapped_fields(table, mapping or {}, set(FIELD_ALIASES) | set(extra))
    profiles = [profile_values([r[i] for r in table.rows[:200] if i < len(r)])
                for i in range(len(table.columns))]
    notes: list[str] = []
    zone_hint = _recognise_headers(table, extra, fields, mapped, profiles, notes)
    if not any(f in fields for f in (*COORD_FIELDS, "wkt", *ADDRESS_FIELDS)) and (
        table.geometries is None
    ):
        _fields_from_values(fields, set(mapped), table.columns, profiles, notes)
    _hint_fields(table, fields, mapped, notes)
    _settle_coordinate_fields(table, fields)
    if not _has_place(table, fields):
        raise _not_recognised(table, fields, profiles)
    used = set(fields.values()) | set(ignored)
    return ColumnPlan(
        fields=fields,
        columns=list(table.columns),
        unknown=[i for i in range(len(table.columns)) if i not in used],
        ignored=ignored,
        notes=notes,
        zone_hint=zone_hint,
    )


def _mapped_fields(
    table: SourceTable, mapping: Mapping[str, str], known_fields: set[str]
) -> tuple[dict[str, int], list[int], set[int]]:
    """Apply the uploader's mapping: the fields it names, the columns it drops, all it names.

    Raises
    ------
    com.errors.UploadError
        When the mapping names an unknown column or field.
    """
    fields: dict[str, int] = {}
    ignored: list[int] = []
    mapped: set[int] = set()
    for column, fld in mapping.items():
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
    return fields, ignored, mapped


def _recognise_headers(
    table: SourceTable, extra: Mapping[str, tuple[str, ...]], fields: dict[str, int],
    mapped: set[int], profiles: Sequence[ValueProfile], notes: list[str],
) -> int | None:
    """Add the fields the headers of the unmapped columns name; return a UTM zone they give.

    Of several columns naming one field, the one whose values fit best is taken (a note says
    which).
    """
    all_parts = table.header_parts or [(c,) for c in table.columns]
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
    return zone_hint


def _settle_coordinate_fields(table: SourceTable, fields: dict[str, int]) -> None:
    """Tell degrees from UTM metres by value, and read a lone lat or lon column as one cell."""
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


def _has_place(table: SourceTable, fields: Mapping[str, int]) -> bool:
    """Whether the fields give a place: geometries, coordinates or an address below province."""
    return (
        table.geometries is not None
        or any(f in fields for f in ("location", "mgrs", "wkt"))
        or ("lat" in fields and "lon" in fields)
        or ("easting" in fields and "northing" in fields)
        or any(f in fields for f in ADDRESS_FIELDS if f not in ("province", "postcode"))
    )


def _not_recognised(
    table: SourceTable, fields: Mapping[str, int], profiles: Sequence[ValueProfile]
) -> ColumnsNotRecognised:
    """Return the error for a table without a place: its columns and what each looked like."""
    found_columns = ", ".join(repr(c) for c in table.columns) or "(none)"
    details = [
        {"column": c, "field": next((f for f, i in fields.items() if i == n), None),
         "looks_like_th": p.describe()[0], "looks_like_en": p.describe()[1]}
        for n, (c, p) in enumerate(zip(table.columns, profiles, strict=True))
    ]
    looked = "; ".join(f"{d['column']!r}: {d['looks_like_en']} / {d['looks_like_th']}"
                       for d in details)
    return ColumnsNotRecognised(
        "no coordinate or address column found (ไม่พบคอลัมน์พิกัดหรือที่อยู่). Columns in "
        f"the file: {found_columns}. Expected one of: ละติจูด/latitude + "
        "ลองจิจูด/longitude, พิกัด/location (one cell or a Google Maps link), UTM E/N + "
        "โซน/zone, MGRS, ที่อยู่/address or ตำบล/อำเภอ/จังหวัด; or name the columns with "
        f"a mapping (--map 'column=lat'). What each column looked like: {looked}",
        details,
    )


def _hint_fields(table: SourceTable, fields: dict[str, int], mapped: set[int],
                 notes: list[str]) -> None:
    """Fields a file's structure gives when no column names them.

    A KML/KMZ folder (a Google My Maps layer) is the category when no column is one; it
    goes through the category rule like any category text. A form export's submission
    time is the report date when the form asked none.
    """
    columns = table.columns
    if table.format == "gpx" and table.details.get("note"):
        notes.append(str(table.details["note"]))
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
    # An empty column never wins over one with values (a GPX <desc> left blank beside <cmt>).
    support = {i: 0.0 if profiles[i].kind == "empty" else value_support(fld, profiles[i])
               for i in indexes}
    # Equal fit: the column with more values (KML fields that only some placemarks carry).
    best = max(indexes, key=lambda i: (support[i], profiles[i].filled, -i))
    others = [i for i in indexes if i != best]
    rivals = ", ".join(f"{columns[i]!r} ({support[i]:.0%})" for i in others)
    if support[best] > max(support[i] for i in others):
        why_en = f"its values fit better ({support[best]:.0%} vs {rivals})"
        why_th = f"ค่าในคอลัมน์เข้ากันกว่า ({support[best]:.0%} เทียบกับ {rivals})"
    elif profiles[best].filled > max(profiles[i].filled for i in others):
        why_en = f"it has more values ({profiles[best].filled} filled; also: {rivals})"
        why_th = f"มีค่ามากกว่า (กรอก {profiles[best].filled} ค่า; อีกคอลัมน์: {rivals})"
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
