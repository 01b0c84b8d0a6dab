"""Column recognition from header phrases and from the values under them.

Staff write headers as phrases ("ที่อยู่จุดเกิดเหตุ", "พิกัดจุดเสี่ยง (ละติจูด, ลองจิจูด)",
"X (UTM)", "พิกัด UTM 48P", "ระดับความเสี่ยง (1-5)"). A header is cut into words (pythainlp
word segmentation for Thai, letters and digits for English), each word that is a cue for a
field adds its weight, and units and zone hints inside the header are read on the way. The
values then confirm or decide: numbers between 5.6 and 20.5 are latitudes, 97-106 longitudes
in Thailand, six-digit eastings are UTM, Thai text with ต./อ./จ. or a postcode is an address.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from com.errors import ParseError
from com.text.thai import clean_text, parse_date

__all__ = [
    "NOT_A_FIELD_WORDS",
    "UNIT_WORDS",
    "FieldGuess",
    "ValueProfile",
    "guess_field",
    "header_words",
    "profile_values",
    "value_support",
]

#: Cue words per field and their weight. Thai cues are also given to the word segmenter.
_CUES: dict[str, dict[str, float]] = {
    "lat": {"ละติจูด": 3, "ลติจูด": 3, "ละติจูต": 3, "lat": 3, "latitude": 3, "y": 1.5},
    "lon": {"ลองจิจูด": 3, "ลองติจูด": 3, "ลองกิจูด": 3, "lon": 3, "lng": 3, "long": 3,
            "longitude": 3, "x": 1.5},
    "location": {"พิกัด": 2, "ตำแหน่ง": 2, "gps": 2.5, "coordinates": 3, "coordinate": 3,
                 "coord": 3, "coords": 3, "location": 2.5, "position": 2, "latlng": 3,
                 "latlon": 3, "point": 1, "shape": 1, "map": 1.5, "maps": 1.5, "link": 1.5,
                 "url": 1.5, "ลิงก์": 1.5, "ลิงค์": 1.5, "แผนที่": 1.5, "google": 1.5},
    "easting": {"easting": 3, "east": 2, "e": 1.5, "ตะวันออก": 3},
    "northing": {"northing": 3, "north": 2, "n": 1.5, "เหนือ": 3},
    "zone": {"โซน": 3, "zone": 3},
    "mgrs": {"mgrs": 3.5, "usng": 3.5},
    "address": {"ที่อยู่": 3, "ที่ตั้ง": 3, "address": 3, "addr": 3},
    "subdistrict": {"ตำบล": 3, "แขวง": 3, "tambon": 3, "subdistrict": 3},
    "district": {"อำเภอ": 3, "เขต": 2, "amphoe": 3, "amphur": 3, "district": 2.5},
    "province": {"จังหวัด": 3, "changwat": 3, "province": 3},
    "postcode": {"ไปรษณีย์": 3, "รหัสไปรษณีย์": 3, "ปณ": 3, "postcode": 3, "postal": 3, "zip": 3,
                 "zipcode": 3},
    "village": {"หมู่บ้าน": 3, "ชุมชน": 2.5, "village": 3},
    "date": {"วันที่": 3, "วัน": 2, "เดือน": 1, "ปี": 1, "date": 3, "day": 1.5, "when": 1,
             "reported": 1.5},
    "severity": {"ระดับ": 2, "ความรุนแรง": 3, "รุนแรง": 3, "severity": 3, "level": 2,
                 "priority": 2, "ความเสี่ยง": 1, "risk": 0.5},
    "category": {"ประเภท": 3, "หมวด": 2.5, "หมวดหมู่": 3, "ปัญหา": 1.5, "ประเด็น": 2,
                 "ลักษณะ": 2.5, "ภัย": 2, "type": 3, "category": 3, "issue": 2, "class": 2,
                 "hazard": 2},
    "name": {"ชื่อ": 3, "name": 3, "title": 2, "label": 2},
    "note": {"หมายเหตุ": 3, "รายละเอียด": 3, "note": 3, "notes": 3, "remark": 3, "remarks": 3,
             "description": 3, "comment": 3, "details": 3},
    "count": {"จำนวน": 3, "count": 3, "incidents": 2},
    "row_id": {"ลำดับ": 3, "id": 2, "no": 2, "seq": 2},
}
_AXES = {"x": "lon", "y": "lat", "e": "easting", "n": "northing"}
_MIN_SCORE = 2.0  # a lone weak cue ("x", "e") is not enough on its own
_ZONE_HINT = re.compile(r"(?<!\d)(4[78])\s*[nNpPqQ]?(?!\d)")
UNIT_WORDS = {"องศา", "degree", "degrees", "deg", "m", "ม", "เมตร", "metre", "metres", "meter",
               "meters", "wgs84", "wgs", "84", "dd", "utm", "ทศนิยม", "decimal", "km", "กม"}
_METRES = frozenset({"m", "ม", "เมตร", "metre", "metres", "meter", "meters"})
#: Words that say a column measures something else about a point (height, GPS accuracy): such
#: a header is never a place field, however close it is to one ("Altitude" ~ "Latitude").
NOT_A_FIELD_WORDS = frozenset({
    "altitude", "elevation", "ele", "height", "accuracy", "precision", "ความสูง", "ความแม่นยำ",
    "ความคลาดเคลื่อน", "ระดับน้ำทะเล",
    # An e-mail or web address is not a place ("Email Address" of a Google Forms export).
    "email", "mail", "อีเมล", "อีเมล์", "website", "เว็บไซต์",
})
#: Field words that only qualify another field: "Subdistrict name", "ชื่อหมู่บ้าน" name a
#: subdistrict and a village, not the point's name.
_QUALIFIED_BY_PLACE = ("village", "subdistrict", "district", "province", "moo")


_THAI_CUES = frozenset(w for cues in _CUES.values() for w in cues if not w.isascii())
_ASCII_CUES = frozenset(w for cues in _CUES.values() for w in cues if w.isascii())


@lru_cache(maxsize=1)
def _segmenter():  # type: ignore[no-untyped-def]
    # Deferred on purpose: the Thai dictionary takes a moment to load.
    from pythainlp.corpus.common import thai_words
    from pythainlp.tokenize import Trie

    words = set(thai_words())
    words |= {w for cues in _CUES.values() for w in cues if not w.isascii()}
    return Trie(words)


@lru_cache(maxsize=4096)
def header_words(text: str) -> tuple[str, ...]:
    """Cut a header into lower-case words: Thai by pythainlp, others at non-letters.

    Examples
    --------
    >>> header_words("พิกัด UTM 48P")
    ('พิกัด', 'utm', '48p')
    """
    from pythainlp.tokenize import word_tokenize

    # camelCase is two words ("decimalLatitude", Darwin Core and survey apps).
    # An acronym before a word too ("GPSLatitude").
    cleaned = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", clean_text(text))
    cleaned = cleaned.lower()
    words: list[str] = []
    for chunk in re.findall(r"[\u0e01-\u0e4e]+|[a-z0-9]+", cleaned):
        if chunk.isascii():
            words += _axis_glued(chunk)
            continue
        cut = [w for w in word_tokenize(chunk, custom_dict=_segmenter(), keep_whitespace=False)
               if w.strip()]
        if not any(w in _THAI_CUES for w in cut):
            # The dictionary may join a cue with its neighbour ("ประเภทภัย" cut as
            # "ประ|เภทภัย"): then the cue words written inside the chunk count, longest first.
            cut += _cues_inside(chunk)
        words += cut
    return tuple(words)


def _axis_glued(word: str) -> list[str]:
    """Split an axis letter glued to a cue or unit word ("xcoord", "yutm"); else the word."""
    if len(word) > 2 and word not in _ASCII_CUES:
        if word[0] in _AXES and (word[1:] in _ASCII_CUES or word[1:] in UNIT_WORDS):
            return [word[0], word[1:]]
        if word[-1] in _AXES and (word[:-1] in _ASCII_CUES or word[:-1] in UNIT_WORDS):
            return [word[:-1], word[-1]]
    return [word]


def _cues_inside(chunk: str) -> list[str]:
    """Return the Thai cue words (3+ letters) written inside a chunk, longest first, disjoint."""
    found: list[str] = []
    rest = chunk
    for cue in sorted((c for c in _THAI_CUES if len(c) >= 3), key=len, reverse=True):
        if cue in rest:
            found.append(cue)
            rest = rest.replace(cue, " ")
    return found


@dataclass(frozen=True)
class FieldGuess:
    """What a header phrase names.

    Attributes
    ----------
    field : str
        The field (a key of ``com.ingest.readers.FIELD_ALIASES``).
    score : float
        Summed weight of its cue words.
    runner_up : str or None
        The next best field, when one scored.
    zone : int or None
        A UTM zone written in the header ("พิกัด UTM 48P").
    utm : bool
        The header says UTM.
    """

    field: str
    score: float
    runner_up: str | None = None
    zone: int | None = None
    utm: bool = False


@lru_cache(maxsize=4096)
def guess_field(text: str) -> FieldGuess | None:
    """Return the field a header phrase names, or None when no field scores enough.

    Both latitude and longitude words ("Lat/Long", "(ละติจูด, ลองจิจูด)") make a one-cell
    location; "x"/"y" with "UTM" are easting/northing.

    Examples
    --------
    >>> guess_field("ที่อยู่จุดเกิดเหตุ").field
    'address'
    >>> guess_field("X (UTM)").field
    'easting'
    """
    words = header_words(text)
    if not words or NOT_A_FIELD_WORDS.intersection(words):
        return None
    # Metres beside an axis letter ("พิกัดแกน X (ม.)", "Y (m)") are UTM as surely as "UTM".
    utm = ("utm" in words or "ยูทีเอ็ม" in words
           or (bool(_METRES.intersection(words)) and any(w in _AXES for w in words)))
    zone_match = _ZONE_HINT.search(clean_text(text))
    # "48" alone may be anything; with "UTM"/"zone" or a latitude band ("พิกัด 47P") it is a zone.
    zone = int(zone_match.group(1)) if zone_match and (
        utm or "zone" in words or "โซน" in words or zone_match.group(0)[-1:].isalpha()) else None
    scores: dict[str, float] = {}
    for w in words:
        for fld, cues in _CUES.items():
            weight = cues.get(w)
            if weight:
                scores[fld] = scores.get(fld, 0.0) + weight
    if zone is not None and "zone" in scores and len(scores) > 1:
        scores.pop("zone")  # "Easting(m) zone 47": the zone is a hint for the easting column
    if "name" in scores and any(f in scores for f in _QUALIFIED_BY_PLACE):
        scores.pop("name")
    axes = [w for w in words if w in _AXES]
    only_units = all(w in _AXES or w in UNIT_WORDS or w.isdigit() for w in words)
    if len(axes) == 1 and (utm or "location" in scores or "zone" in scores or only_units):
        # One axis letter beside "พิกัด", "UTM" or a zone: "พิกัด X", "UTM E (zone 48)".
        axis = _AXES[axes[0]]
        if utm:
            axis = {"lon": "easting", "lat": "northing"}.get(axis, axis)
        for fld in ("lat", "lon", "easting", "northing"):
            scores.pop(fld, None)
        scores[axis] = 3.0 + scores.pop("location", 0.0) + scores.pop("zone", 0.0)
    if "lat" in scores and "lon" in scores:
        scores["location"] = scores.get("location", 0.0) + scores.pop("lat") + scores.pop("lon")
    if utm:
        if "lon" in scores:  # "Longitude (UTM)" is an easting
            scores["easting"] = scores.get("easting", 0.0) + scores.pop("lon") + 1.5
        if "lat" in scores:
            scores["northing"] = scores.get("northing", 0.0) + scores.pop("lat") + 1.5
        if not scores or max(scores.values()) < _MIN_SCORE:
            scores["location"] = scores.get("location", 0.0) + 2.0
        elif "location" in scores:
            scores["location"] += 1.0
    if not scores:
        return None
    ranked = sorted(scores.items(), key=lambda x: -x[1])
    best, score = ranked[0]
    if score < _MIN_SCORE:
        return None
    runner_up = ranked[1][0] if len(ranked) > 1 else None
    if len(ranked) > 1 and ranked[1][1] == score:
        return None  # a tie: the values must decide
    return FieldGuess(best, score, runner_up, zone, utm)


# --------------------------------------------------------------------------- values

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
_PAIR = re.compile(r"^\s*([-+]?\d{1,3}\.\d+)\s*[,; ]\s*([-+]?\d{1,3}\.\d+)\s*$")
_ADDRESS_MARK = re.compile(
    r"(?:^|[\s\d])(?:ต\.|อ\.|จ\.|ตำบล|อำเภอ|จังหวัด|แขวง|เขต)|(?<!\d)[1-9]\d{4}(?!\d)"
)
_THAI = re.compile(r"[\u0e01-\u0e4e]")
_LINK = re.compile(r"(?i)^(?:https?://|www\.|maps\.|geo:)")
_UTM_TEXT = re.compile(r"(?i)^\s*4[78]\s*[npq]?\s+\d{6}(?:\.\d+)?\s*[mE]*\s*[, ]\s*\d{6,7}")

#: What each kind of column looks like, in Thai and English (for messages).
_KIND_TEXT = {
    "lat": ("ตัวเลข 5.6-20.5 (ละติจูดในไทย)", "numbers 5.6-20.5 (latitudes in Thailand)"),
    "lon": ("ตัวเลข 97-106 (ลองจิจูดในไทย)", "numbers 97-106 (longitudes in Thailand)"),
    "easting": ("ตัวเลขหกหลัก (ค่าพิกัด UTM ตะวันออก)", "six-digit numbers (UTM eastings)"),
    "northing": ("ตัวเลขเจ็ดหลัก (ค่าพิกัด UTM เหนือ)", "seven-digit numbers (UTM northings)"),
    "location": ("คู่พิกัดหรือลิงก์แผนที่", "coordinate pairs or map links"),
    "address": ("ที่อยู่ภาษาไทย (ต./อ./จ. หรือรหัสไปรษณีย์)",
                "Thai addresses (ต./อ./จ. or a postcode)"),
    "date": ("วันที่", "dates"),
    "small_int": ("จำนวนเต็ม 1-5", "whole numbers 1-5"),
    "number": ("ตัวเลข", "numbers"),
    "thai_text": ("ข้อความภาษาไทย", "Thai text"),
    "text": ("ข้อความ", "text"),
    "empty": ("ว่าง", "empty"),
}


@dataclass(frozen=True)
class ValueProfile:
    """What the values of a column look like.

    Attributes
    ----------
    kind : str
        The dominant kind: lat, lon, easting, northing, location, address, date, small_int,
        number, thai_text, text or empty.
    shares : dict
        Share (0-1) of the non-blank values of each kind.
    examples : tuple of str
        Up to three values as written.
    filled : int
        How many of the values looked at were not blank.
    """

    kind: str
    shares: dict[str, float] = field(default_factory=dict)
    examples: tuple[str, ...] = ()
    filled: int = 0

    def describe(self) -> tuple[str, str]:
        """Return ``(thai, english)`` words for what the column looked like, with examples."""
        th, en = _KIND_TEXT[self.kind]
        if self.examples:
            shown = ", ".join(repr(e) for e in self.examples)
            return f"{th} เช่น {shown}", f"{en}, e.g. {shown}"
        return th, en


def _kinds_of(value: object) -> set[str]:
    text = clean_text(str(value)).strip()
    kinds: set[str] = set()
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif _NUMBER.fullmatch(text.replace(",", "")):
        number = float(text.replace(",", ""))
    if number is not None:
        kinds.add("number")
        if 5.6 <= number <= 20.5:
            kinds.add("lat")
        if 97.0 <= number <= 106.0:
            kinds.add("lon")
        if 100_000 <= number < 1_000_000:
            kinds.add("easting")
        if 500_000 <= number < 2_500_000 and number >= 1_000_000:
            kinds.add("northing")
        if number.is_integer() and 1 <= number <= 5:
            kinds.add("small_int")
        return kinds
    if _PAIR.match(text) or _LINK.match(text) or _UTM_TEXT.match(text):
        kinds.add("location")
        return kinds
    if _THAI.search(text):
        kinds.add("thai_text")
        if _ADDRESS_MARK.search(text):
            kinds.add("address")
    else:
        kinds.add("text")
    if re.search(r"\d", text):
        try:
            if parse_date(text) is not None:
                kinds.add("date")
        except (ValueError, ParseError):
            pass
    return kinds


def profile_values(values: Sequence[object], *, limit: int = 200) -> ValueProfile:
    """Describe the first ``limit`` non-blank values of a column.

    Examples
    --------
    >>> profile_values(["14.88", "15.01", "14.2"]).kind
    'lat'
    """
    filled = [v for v in values if v is not None and str(v).strip() != ""][:limit]
    if not filled:
        return ValueProfile("empty")
    counts: dict[str, int] = {}
    for v in filled:
        for k in _kinds_of(v):
            counts[k] = counts.get(k, 0) + 1
    shares = {k: c / len(filled) for k, c in counts.items()}
    order = ("lat", "lon", "northing", "easting", "location", "address", "date", "small_int",
             "number", "thai_text", "text")
    kind = next((k for k in order if shares.get(k, 0.0) >= 0.8), None)
    if kind is None:
        kind = max(shares, key=lambda k: (shares[k], -order.index(k)))
    examples = tuple(str(v)[:40] for v in filled[:3])
    return ValueProfile(kind, shares, examples, len(filled))


#: Which value kinds confirm a field (fields not listed are not checked by value).
_SUPPORT = {
    "lat": ("lat",),
    "lon": ("lon",),
    "easting": ("easting",),
    "northing": ("northing",),
    "location": ("location",),
    "address": ("address", "thai_text"),
    "date": ("date",),
    "severity": ("small_int", "thai_text", "text"),
}


def value_support(fld: str, profile: ValueProfile) -> float:
    """Return 0-1: how well a column's values fit a field (1 when values are not checked).

    An address column scores its share of values with ต./อ./จ. or a postcode, plus half the
    share of other Thai text.
    """
    kinds = _SUPPORT.get(fld)
    if kinds is None or profile.kind == "empty":
        return 1.0
    if fld == "address":
        return min(1.0, profile.shares.get("address", 0.0)
                   + 0.5 * profile.shares.get("thai_text", 0.0))
    return max(profile.shares.get(k, 0.0) for k in kinds)
