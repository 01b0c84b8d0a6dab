"""Known column names: recognising which field a column holds from its header cells.

Names are compared after :func:`header_key` (case, spaces, punctuation and Thai digits do not
matter), then by near-miss spelling, then as phrases (:func:`headers.guess_field`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from com.ingest.readers.cells import is_numberish
from com.ingest.readers.headers import NOT_A_FIELD_WORDS, UNIT_WORDS, guess_field, header_words
from com.text.thai import clean_text

__all__ = ["FIELD_ALIASES", "MAX_HEADER_CHARS", "header_key", "recognise_column"]


#: Recognised column names per field, Thai first. Names are compared after
#: :func:`header_key` (case, spaces, punctuation and Thai digits do not matter).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "row_id": ("ลำดับ", "ลำดับที่", "ที่", "no", "no.", "number", "id", "fid", "objectid", "seq",
               "index", "item"),
    "name": ("ชื่อจุด", "ชื่อจุดเสี่ยง", "ชื่อ", "ชื่อสถานที่", "สถานที่", "จุดเสี่ยง", "ชื่อพื้นที่",
             "ชื่อกล้อง", "name", "title", "place", "place name", "label", "point name"),
    "category": ("ประเภท", "ประเภทปัญหา", "ประเด็น", "ประเด็นปัญหา", "ปัญหา", "ลักษณะปัญหา",
                 "ประเภทความเสี่ยง", "ประเภทจุดเสี่ยง", "ประเภทเหตุ", "ประเภทคดี", "หมวด",
                 "หมวดหมู่", "issue", "category", "type", "risk type", "problem", "class"),
    "severity": ("ระดับ", "ระดับความรุนแรง", "ความรุนแรง", "ระดับความเสี่ยง", "ระดับปัญหา",
                 "severity", "level", "risk level", "priority"),
    "lat": ("ละติจูด", "ลติจูด", "ละติจูต", "ละติจูท", "lat", "latitude", "y", "พิกัด y"),
    "lon": ("ลองจิจูด", "ลองติจูด", "ลองกิจูด", "ลองจิจูต", "ลองจิจูท", "lon", "lng", "long",
            "longitude", "x", "พิกัด x"),
    "location": ("พิกัด", "ตำแหน่ง", "ตำแหน่งพิกัด", "พิกัดภูมิศาสตร์", "พิกัดจุด", "ค่าพิกัด",
                 "location", "coordinates", "coordinate", "coord", "coords", "lat,lon",
                 "lat long", "latlng", "lat/lng", "ละติจูด ลองจิจูด", "gps", "พิกัด gps",
                 "google maps", "google map", "map link", "link", "url", "ลิงก์", "ลิ้งค์",
                 "plus code", "pluscode", "open location code", "รหัสพลัส",
                 "ลิงค์", "แผนที่", "utm", "พิกัด utm", "พิกัดกริด", "grid", "position", "point"),
    "easting": ("utm e", "easting", "east", "e", "utm x", "พิกัด e", "ค่า e", "ค่าพิกัด e"),
    "northing": ("utm n", "northing", "north", "n", "utm y", "พิกัด n", "ค่า n", "ค่าพิกัด n"),
    "zone": ("โซน", "zone", "utm zone", "โซน utm", "กริดโซน", "grid zone"),
    "mgrs": ("mgrs", "พิกัด mgrs", "usng", "military grid"),
    "address": ("ที่อยู่", "ที่ตั้ง", "สถานที่ตั้ง", "ที่อยู่จุด", "address", "addr", "full address"),
    "village": ("หมู่บ้าน", "บ้าน", "ชุมชน", "village", "ban", "muban"),
    "moo": ("หมู่", "หมู่ที่", "ม", "moo", "village no"),
    "subdistrict": ("ตำบล", "ต", "ตำบล/แขวง", "แขวง", "tambon", "subdistrict", "sub-district"),
    "district": ("อำเภอ", "อ", "อำเภอ/เขต", "เขต", "amphoe", "amphur", "district"),
    "province": ("จังหวัด", "จ", "changwat", "province"),
    "postcode": ("รหัสไปรษณีย์", "รหัส ปณ", "postcode", "post code", "postal code", "zip",
                 "zipcode"),
    "date": ("วันที่", "วันที่รายงาน", "วันที่เกิดเหตุ", "วันเกิดเหตุ", "วันที่บันทึก", "วันเดือนปี",
             "ว/ด/ป", "date", "report date", "reported", "reported on", "date reported"),
    "note": ("หมายเหตุ", "รายละเอียด", "note", "notes", "remark", "remarks", "description",
             "comment", "comments", "details"),
    "count": ("จำนวน", "จำนวนครั้ง", "จำนวนเหตุ", "จำนวนคดี", "count", "incidents",
              "incident count"),
    "wkt": ("wkt", "geometry", "geom", "the_geom", "shape"),
}

_KEEP = re.compile(r"[^0-9a-z\u0e01-\u0e3a\u0e40-\u0e4e]+")
_BRACKETS = re.compile(r"[(\[{（](.*?)[)\]}）]")
#: Header cells longer than this (titles, notes) are never taken for a column name.
MAX_HEADER_CHARS = 60


def header_key(text: object) -> str:
    """Return the comparison key of a column name.

    Lower case, Thai digits as Arabic digits, and only Thai letters, Latin letters and digits.

    Examples
    --------
    >>> header_key(" UTM  E ")
    'utme'
    """
    return _KEEP.sub("", clean_text(str(text)).lower())


def _alias_index(extra: Mapping[str, Sequence[str]] | None) -> dict[str, str]:
    index: dict[str, str] = {}
    for fld, names in list(FIELD_ALIASES.items()) + list((extra or {}).items()):
        for name in names:
            key = header_key(name)
            if key:
                index.setdefault(key, fld)
    return index


def _name_candidates(text: str) -> list[str]:
    """Keys to try for one header cell: whole, without brackets, bracket contents, '/' parts."""
    cleaned = clean_text(text)
    out = [header_key(cleaned)]
    outer = _BRACKETS.sub(" ", cleaned)
    out.append(header_key(outer))
    # Bracket contents name the field ("ประเภท (Type)") unless they are a unit ("(ม.)" is
    # metres, not หมู่ "ม.").
    out += [header_key(m) for m in _BRACKETS.findall(cleaned)
            if not set(header_words(m)) <= UNIT_WORDS]
    if "/" in outer:
        out += [header_key(p) for p in outer.split("/")]
    return [k for k in dict.fromkeys(out) if k]


def recognise_column(
    parts: Sequence[str], extra: Mapping[str, Sequence[str]] | None = None
) -> str | None:
    """Return the field a column holds, judged by its header cell(s), or None.

    Parameters
    ----------
    parts : sequence of str
        The header cells of the column, most specific first (for a two-row header, the lower
        cell, then both joined, then the upper cell).
    extra : mapping, optional
        Additional ``field -> names`` (kinds such as cameras add ``radius_m``).

    Returns
    -------
    str or None
        A key of ``FIELD_ALIASES`` (or of ``extra``).
    """
    from rapidfuzz import fuzz, process  # deferred: only fuzzy header matching needs it

    index = _alias_index_cached(extra)
    for part in parts:
        if not part or len(part) > MAX_HEADER_CHARS:
            continue
        if part.strip() == "#":
            return "row_id"
        if NOT_A_FIELD_WORDS.intersection(header_words(part)):
            continue  # "Altitude (m)", "ความสูง (ม.)": measured, not a place field
        # "X (UTM)", "X (m)": UTM or metres turn the axis letter into an easting or northing.
        guess = guess_field(part)
        if guess is not None and guess.utm:
            return guess.field
        keys = _name_candidates(part)
        exact = _exact_field(part, keys, index)
        if exact is not None:
            return exact
        # Near-misses of longer names ("ลองจิจุด", "latitute"); short keys must match exactly.
        # A key that holds a whole name plus more ("ycoord", "pointy") is a phrase, not a typo:
        # its words decide below.
        for key in keys:
            if len(key) >= 5:
                hit = process.extractOne(
                    key, [k for k in index if len(k) >= 5], scorer=fuzz.ratio, score_cutoff=85
                )
                if hit is not None and not (hit[0] != key and hit[0] in key):
                    return index[hit[0]]
    # Phrases ("ที่อยู่จุดเกิดเหตุ", "X (UTM)"): the words of the header, scored.
    for part in parts:
        if part and len(part) <= MAX_HEADER_CHARS and not is_numberish(part):
            guess = guess_field(part)
            if guess is not None:
                return guess.field
    return None


def _phrase_field(text: str) -> str | None:
    guess = guess_field(text) if text.strip() else None
    return guess.field if guess is not None else None


_AXIS_FIELDS = ("lat", "lon", "easting", "northing")
_ADDRESS_LEVELS = ("village", "moo", "subdistrict", "district", "province", "postcode")


def _exact_field(part: str, keys: list[str], index: Mapping[str, str]) -> str | None:
    """Return the field named exactly by a header cell's whole, outer, bracketed or '/' parts.

    The whole and the outer name decide first, except that a bracket naming one axis beats a
    generic "พิกัด" outside it ("พิกัด(ละติจูด)", "GPS (N)"); '/' parts naming latitude and
    longitude make a one-cell location ("พิกัดละติจูด/ลองจิจูด") and two address levels an
    address ("ตำบล/อำเภอ").
    """
    hits = [index[k] for k in keys if k in index]
    if not hits:
        return None
    outer = _BRACKETS.sub(" ", clean_text(part))
    if "/" in outer:
        sides = {index.get(header_key(p)) or _phrase_field(p) for p in outer.split("/")} - {None}
        if {"lat", "lon"} <= sides:
            return "location"
        if len(sides & set(_ADDRESS_LEVELS)) >= 2:
            return "address"
    if hits[0] == "location":
        return next((h for h in hits if h in _AXIS_FIELDS), "location")
    return hits[0]


_INDEX_CACHE: dict[tuple, dict[str, str]] = {}


def _alias_index_cached(extra: Mapping[str, Sequence[str]] | None) -> dict[str, str]:
    key = tuple(sorted((k, tuple(v)) for k, v in (extra or {}).items()))
    if key not in _INDEX_CACHE:
        _INDEX_CACHE[key] = _alias_index(extra)
    return _INDEX_CACHE[key]
