"""Coordinates as Thai staff write them: decimal, DMS, UTM 47/48, MGRS, Google Maps links."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from urllib.parse import parse_qs, unquote_plus, urlsplit

from com.errors import ParseError
from com.text.thai import clean_text, is_blank

__all__ = [
    "DEFAULT_INDIAN1975_TRANSFORMATION",
    "THAILAND_BBOX",
    "Coordinate",
    "OutsideAreaError",
    "in_thailand_bbox",
    "parse_coordinate",
    "parse_utm_zone",
]

#: (south, west, north, east) in degrees: a generous box around Thailand.
THAILAND_BBOX = (5.6, 97.3, 20.5, 105.7)
#: EPSG:1812 "Indian 1975 to WGS 84 (4)" (7-parameter, Thailand onshore, 3 m): the operation
#: pyproj/PROJ picks by default for EPSG:4240 -> EPSG:4326. EPSG:1304 "Indian 1975 to WGS 84
#: (2)" is the older 3-parameter shift (5 m); the two differ by about 190 m at Surin.
DEFAULT_INDIAN1975_TRANSFORMATION = "EPSG:1812"

# Valid eastings of any UTM zone, and northings that can fall in Thailand (5.6-20.5 N).
_EASTING_RANGE = (166_000.0, 834_000.0)
_NORTHING_RANGE = (600_000.0, 2_300_000.0)
_THAI_UTM_ZONES = (47, 48)


class OutsideAreaError(ParseError):
    """The coordinate was read but lies outside Thailand (or the area being checked)."""


@dataclass(frozen=True, slots=True)
class Coordinate:
    """A point read from a cell, in WGS 84 (EPSG:4326).

    Attributes
    ----------
    lat, lon : float
        WGS 84 degrees.
    method : str
        How it was written: ``decimal``, ``dms``, ``utm``, ``mgrs`` or ``google_url``.
    warnings : tuple of str
        Things the uploader should know (``"swapped: ..."`` when latitude and longitude were
        exchanged, coarse MGRS precision, a link read from its viewport, ...).
    source_crs : str
        CRS the value was written in, e.g. ``EPSG:4326``, ``EPSG:32648``, ``EPSG:24048``.
    transformation : str or None
        The datum transformation applied (``EPSG:1812``/``EPSG:1304``), None when the input was
        already WGS 84.
    """

    lat: float
    lon: float
    method: str
    warnings: tuple[str, ...] = ()
    source_crs: str = "EPSG:4326"
    transformation: str | None = None

    @property
    def swapped(self) -> bool:
        """True when latitude and longitude were exchanged to fall inside the area."""
        return any(w.startswith("swapped") for w in self.warnings)

    @property
    def datum_note(self) -> str:
        """A one-line note of the datum handling, for upload reports."""
        if self.transformation is None:
            return f"WGS 84 ({self.source_crs})"
        return f"{self.source_crs} -> WGS 84 with {self.transformation}"


def in_thailand_bbox(lat: float, lon: float) -> bool:
    """Tell whether a point is inside the box around Thailand (5.6-20.5 N, 97.3-105.7 E).

    Parameters
    ----------
    lat, lon : float
        WGS 84 degrees.

    Returns
    -------
    bool
        True inside the box.
    """
    south, west, north, east = THAILAND_BBOX
    return south <= lat <= north and west <= lon <= east


# --------------------------------------------------------------------------- helpers


@dataclass(slots=True)
class _Ctx:
    inside: Callable[[float, float], bool]
    area_name: str
    warnings: list[str] = field(default_factory=list)


def _is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float | Decimal):
        return True
    return type(value).__name__.startswith(("int", "float"))


def _finite(value: object, what: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ParseError(f"{what} {value!r} is not a number") from None
    if math.isnan(number):
        raise ParseError(f"{what} is NaN (not a number)")
    if math.isinf(number):
        raise ParseError(f"{what} is infinite")
    return number


def _text(value: object) -> str:
    text = clean_text(str(value))
    if not text:
        raise ParseError("coordinate is empty")
    low = text.lower().strip("+- ")
    if low in {"nan", "inf", "infinity", "none", "null", "n/a"}:
        raise ParseError(f"coordinate {value!r} is not a number (NaN/Infinity)")
    return text


def _short(value: object, limit: int = 60) -> str:
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "...")


# --------------------------------------------------------------------------- datums


def _normalise_datum(datum: str | None) -> str:
    if datum is None:
        return "wgs84"
    key = re.sub(r"[\s_\-:.]", "", str(datum)).lower()
    if key in {"", "wgs84", "epsg4326", "4326", "wgs1984"}:
        return "wgs84"
    if key in {"indian1975", "indian75", "epsg4240", "4240", "i75"}:
        return "indian1975"
    raise ParseError(f"datum {datum!r} is not supported (use 'wgs84' or 'indian1975')")


@lru_cache(maxsize=8)
def _datum_transformer(code: str):  # type: ignore[no-untyped-def]
    from pyproj import Transformer
    from pyproj.exceptions import ProjError

    try:
        transformer = Transformer.from_pipeline(code)
    except ProjError:
        raise ParseError(f"transformation {code} is not in the EPSG database") from None
    source = transformer.source_crs
    target = transformer.target_crs
    if source is None or target is None or source.name != "Indian 1975" or target.name != "WGS 84":
        raise ParseError(f"transformation {code} is not an Indian 1975 to WGS 84 transformation")
    return transformer


def _transformation_code(transformation: str | int | None) -> str:
    if transformation is None or str(transformation).strip() == "":
        return DEFAULT_INDIAN1975_TRANSFORMATION
    digits = re.sub(r"(?i)^\s*epsg\s*:{0,2}\s*", "", str(transformation)).strip()
    if not digits.isdigit():
        raise ParseError(f"transformation {transformation!r} is not an EPSG code such as 1812")
    return f"EPSG:{int(digits)}"


@lru_cache(maxsize=8)
def _utm_transformer(epsg: int):  # type: ignore[no-untyped-def]
    from pyproj import Transformer

    # always_xy: (easting, northing) -> (lon, lat) for both WGS 84 and Indian 1975 grids.
    geographic = 4326 if epsg in (32647, 32648) else 4240
    return Transformer.from_crs(f"EPSG:{epsg}", f"EPSG:{geographic}", always_xy=True)


# --------------------------------------------------------------------------- decimal and DMS
# Hand-written tokenizer: no maintained library reads DMS with Thai markers (องศา/ลิปดา/ฟิลิปดา,
# น./ต., ละติจูด) or Thai digits; pyproj and mgrs do all the projection work.

_WORDS = [
    # Thai: the longer word first (ฟิลิปดา contains ลิปดา).
    (r"ฟิลิปดา", '"'),
    (r"พิลิปดา", '"'),
    (r"ลิปดา", "'"),
    (r"องศา", "°"),
    (r"ละติจูด|ละติจูต|ลติจูด|ละติ", " LAT "),
    (r"ลองจิจูด|ลองติจูด|ลองจิจูต|ลองจิ", " LON "),
    (r"(?:ทิศ)?เหนือ|น\.", " N "),
    (r"(?:ทิศ)?ใต้", " S "),
    (r"(?:ทิศ)?ตะวันออก|ต\.", " E "),
    (r"(?:ทิศ)?ตะวันตก", " W "),
]
_WORDS_RE = [(re.compile(p), r) for p, r in _WORDS]
_TOKEN = re.compile(
    r"""
    (?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+))
  | (?P<sec>''|"|″|”|“|“)
  | (?P<min>'|′|’|‘|´|`)
  | (?P<deg>°|º|˚|ᵒ|\^)
  | (?P<lat>(?<![A-Z])(?:LATITUDE|LAT|Y)(?![A-Z]))
  | (?P<lon>(?<![A-Z])(?:LONGITUDE|LONG|LNG|LON|X)(?![A-Z]))
  | (?P<hem>(?<![A-Z])(?:NORTH|SOUTH|EAST|WEST|[NSEW])(?![A-Z]))
  | (?P<sep>[,;/|\n\t])
  | (?P<colon>:)
  | (?P<eq>=)
  | (?P<space>\s+)
    """,
    re.VERBOSE,
)


@dataclass(slots=True)
class _Comp:
    nums: list[list[str | None]] = field(default_factory=list)  # [text, unit]
    hem: str | None = None
    label: str | None = None
    colon_style: bool = False
    joined: bool = False  # last number was followed by ':'


def _tokens(text: str) -> list[tuple[str, str]]:
    upper = text.upper()
    for pattern, repl in _WORDS_RE:
        upper = pattern.sub(repl, upper)
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(upper):
        m = _TOKEN.match(upper, pos)
        if m is None or m.end() == pos:
            bad = upper[pos : pos + 12]
            raise ParseError(f"coordinate {_short(text)}: cannot read {bad!r}")
        kind = m.lastgroup or ""
        if kind != "space":
            out.append((kind, m.group()))
        pos = m.end()
    return out


def _components(text: str) -> list[_Comp]:
    comps: list[_Comp] = []
    cur = _Comp()

    def flush() -> None:
        nonlocal cur
        if cur.nums or cur.hem or cur.label:
            comps.append(cur)
        cur = _Comp()

    for kind, tok in _tokens(text):
        if kind == "sep":
            flush()
        elif kind in ("lat", "lon"):
            if cur.nums:
                flush()
            if cur.label:
                raise ParseError(f"coordinate {_short(text)}: two labels in a row")
            cur.label = kind
        elif kind == "hem":
            letter = tok[0]
            if cur.nums:
                if cur.hem is None:
                    cur.hem = letter
                    flush()
                else:
                    flush()
                    cur.hem = letter
            else:
                if cur.hem is not None:
                    raise ParseError(f"coordinate {_short(text)}: two hemisphere letters in a row")
                cur.hem = letter
        elif kind == "num":
            if cur.nums:
                last_unit = cur.nums[-1][1]
                if cur.joined:
                    pass
                elif cur.colon_style or last_unit == "sec":
                    flush()
            cur.nums.append([tok, None])
            cur.joined = False
        elif kind in ("deg", "min", "sec"):
            if not cur.nums or cur.nums[-1][1] is not None:
                raise ParseError(f"coordinate {_short(text)}: unit {tok!r} without a number")
            if kind == "deg" and len(cur.nums) > 1:
                # A new degree value starts a new component: 15°10'26" 103°33'38".
                moved = cur.nums.pop()
                flush()
                cur.nums.append(moved)
            cur.nums[-1][1] = kind
        elif kind == "colon" and cur.nums:
            cur.joined = True
            cur.colon_style = True
        # "=" after a label is ignored.
    flush()
    if len(comps) == 1 and comps[0].hem is None and comps[0].label is None:
        comps = _split_bare(comps[0], text)
    return comps


def _split_bare(comp: _Comp, text: str) -> list[_Comp]:
    """Split "14.5 103.2" or "15 10 26.4 103 33 38.7" (numbers only) into two halves."""
    n = len(comp.nums)
    if n in (2, 4, 6) and all(unit is None for _, unit in comp.nums):
        half = n // 2
        return [_Comp(nums=comp.nums[:half]), _Comp(nums=comp.nums[half:])]
    return [comp]


def _angle(comp: _Comp, text: str) -> tuple[float, str]:
    """Return the signed value in degrees and the method (decimal or dms)."""
    if not comp.nums:
        raise ParseError(f"coordinate {_short(text)}: a hemisphere or label without a number")
    if len(comp.nums) > 3:
        raise ParseError(f"coordinate {_short(text)}: too many numbers for one angle")
    slots: dict[str, str] = {}
    order = ["deg", "min", "sec"]
    for number_text, unit in comp.nums:
        if unit is None:
            unit = next((u for u in order if u not in slots), None)
            if unit is None:
                raise ParseError(f"coordinate {_short(text)}: too many numbers for one angle")
        if unit in slots:
            raise ParseError(f"coordinate {_short(text)}: two {unit} values in one angle")
        slots[unit] = str(number_text)
    if "deg" not in slots:
        raise ParseError(f"coordinate {_short(text)}: minutes or seconds without degrees")
    deg_s = slots["deg"]
    negative = deg_s.startswith("-")
    deg = abs(_finite(deg_s, "degrees"))
    minutes = _finite(slots.get("min", "0"), "minutes")
    seconds = _finite(slots.get("sec", "0"), "seconds")
    for part, name in (("min", "minutes"), ("sec", "seconds")):
        if part in slots and slots[part].startswith(("-", "+")):
            raise ParseError(f"coordinate {_short(text)}: signed {name} are not valid")
    if ("min" in slots or "sec" in slots) and deg != int(deg):
        raise ParseError(f"coordinate {_short(text)}: decimal degrees followed by minutes")
    if "sec" in slots and minutes != int(minutes):
        raise ParseError(f"coordinate {_short(text)}: decimal minutes followed by seconds")
    if not 0 <= minutes < 60:
        raise ParseError(f"coordinate {_short(text)}: minutes {slots['min']} are not 0-59")
    if not 0 <= seconds < 60:
        raise ParseError(f"coordinate {_short(text)}: seconds {slots['sec']} are not 0-59.9")
    value = deg + minutes / 60 + seconds / 3600
    if comp.hem in ("S", "W"):
        if negative:
            raise ParseError(f"coordinate {_short(text)}: both a minus sign and {comp.hem}")
        negative = True
    method = "dms" if len(slots) > 1 else "decimal"
    return (-value if negative else value), method


def _axis(comp: _Comp) -> str | None:
    if comp.hem in ("N", "S"):
        return "lat"
    if comp.hem in ("E", "W"):
        return "lon"
    return None


def _place(lat: float, lon: float, *, fixed: bool, ctx: _Ctx, text: str) -> tuple[float, float]:
    """Check ranges and the area; swap latitude and longitude when only that order fits."""
    in_range = -90 <= lat <= 90 and -180 <= lon <= 180
    if in_range and ctx.inside(lat, lon):
        return lat, lon
    if not fixed and -90 <= lon <= 90 and -180 <= lat <= 180 and ctx.inside(lon, lat):
        ctx.warnings.append(
            f"swapped: latitude and longitude were exchanged ({lat:g}, {lon:g} -> {lon:g}, {lat:g})"
        )
        return lon, lat
    if not -90 <= lat <= 90:
        raise ParseError(f"coordinate {text}: latitude {lat:g} is out of range (-90 to 90)")
    if not -180 <= lon <= 180:
        raise ParseError(f"coordinate {text}: longitude {lon:g} is out of range (-180 to 180)")
    raise OutsideAreaError(
        f"coordinate {text}: point {lat:.6f}, {lon:.6f} is outside {ctx.area_name}"
    )


def _parse_pair_text(text: str, ctx: _Ctx) -> tuple[float, float, str, bool]:
    comps = _components(text)
    if len(comps) != 2:
        if len(comps) == 1:
            raise ParseError(
                f"coordinate {_short(text)} holds one value; need latitude and longitude"
            )
        raise ParseError(
            f"coordinate {_short(text)}: expected latitude and longitude, found {len(comps)} values"
        )
    (a, method_a), (b, method_b) = _angle(comps[0], text), _angle(comps[1], text)
    axis_a = _axis(comps[0]) or comps[0].label
    axis_b = _axis(comps[1]) or comps[1].label
    if axis_a and axis_b and axis_a == axis_b:
        raise ParseError(f"coordinate {_short(text)}: both values are {axis_a}itudes")
    if axis_a == "lon" or axis_b == "lat":
        a, b = b, a
    # Only hemisphere letters pin the axes; a text label can be as wrong as a column header.
    fixed = _axis(comps[0]) is not None or _axis(comps[1]) is not None
    method = "dms" if "dms" in (method_a, method_b) else "decimal"
    return a, b, method, fixed


_PLAIN_DECIMAL = re.compile(r"\s*[-+]?\d{1,3}(?:\.\d{1,15})?\s*\Z")


def _parse_single_angle(value: object, axis: str) -> tuple[float, str, bool]:
    """Parse one latitude or longitude cell; return value, method and whether a letter fixed it."""
    what = "latitude" if axis == "lat" else "longitude"
    if isinstance(value, str) and _PLAIN_DECIMAL.match(value):
        return float(value), "decimal", False  # the common case, without the tokenizer
    if is_blank(value):
        raise ParseError(f"{what} is empty")
    if _is_number(value):
        return _finite(value, what), "decimal", False
    text = _text(value)
    try:
        comps = _components(text)
        if len(comps) != 1:
            raise ParseError(f"{what} {_short(text)} holds more than one value")
        number, method = _angle(comps[0], text)
    except ParseError as exc:
        if str(exc).startswith(what):
            raise
        detail = str(exc).split(": ", 1)[-1]
        raise ParseError(f"{what} {_short(text)} cannot be read: {detail}") from None
    letter_axis = _axis(comps[0])
    if letter_axis is not None and letter_axis != axis:
        raise ParseError(f"{what} {_short(text)} has the hemisphere letter of a {letter_axis}itude")
    return number, method, letter_axis is not None


# --------------------------------------------------------------------------- UTM

_ZONE_WORD = re.compile(r"(?:UTM\s*)?(?:ZONE|โซน)\s*[:=]?\s*(\d{1,2})\s*([C-HJ-NP-X])?(?![\dA-Z])")
_ZONE_TOKEN = re.compile(r"(?<![\d.])(\d{1,2})\s?([C-HJ-NP-X])(?![A-Z\d])")
_UTM_TOKEN = re.compile(
    r"(?P<num>\d+(?:\.\d+)?)|(?P<e>(?<![A-Z])(?:EASTING|EAST|E|X)(?![A-Z]))"
    r"|(?P<n>(?<![A-Z])(?:NORTHING|NORTH|N|Y)(?![A-Z]))|(?P<skip>[\s,;/|:=]+)"
)
_BIG = re.compile(r"(?<![\d.])\d{4,}(?:\.\d+)?(?![\d.])")


def parse_utm_zone(value: object) -> tuple[int, str | None]:
    """Read a UTM zone: ``47``, ``"48P"``, ``"47N"``, ``"Zone 48"``, ``"โซน ๔๘"``.

    Parameters
    ----------
    value : object
        The zone cell.

    Returns
    -------
    tuple of (int, str or None)
        Zone number (47 or 48) and the latitude band letter if one was given.

    Raises
    ------
    com.errors.ParseError
        When the zone is unreadable, not used in Thailand, or in the southern hemisphere.
    """
    if is_blank(value):
        raise ParseError("UTM zone is empty")
    if _is_number(value):
        number = _finite(value, "UTM zone")
        if number != int(number):
            raise ParseError(f"UTM zone {value!r} is not a whole number")
        return _check_zone(int(number), None, value)
    text = _text(value).upper()
    m = re.fullmatch(r"(?:UTM\s*)?(?:ZONE|โซน)?\s*[:=]?\s*(\d{1,2})\s*([A-Z])?\s*(?:NORTH)?", text)
    if m is None:
        raise ParseError(f"UTM zone {_short(value)} is not a zone such as 47, 48 or 48P")
    return _check_zone(int(m.group(1)), m.group(2), value)


def _check_zone(zone: int, band: str | None, original: object) -> tuple[int, str | None]:
    if band is not None and band not in "CDEFGHJKLMNPQRSTUVWX":
        raise ParseError(f"UTM zone {_short(original)}: {band!r} is not a latitude band")
    if band is not None and band < "N":
        raise ParseError(f"UTM zone {_short(original)} is in the southern hemisphere, not Thailand")
    if zone not in _THAI_UTM_ZONES:
        raise ParseError(
            f"UTM zone {_short(original)}: zone {zone} is not used in Thailand (47 or 48)"
        )
    return zone, band


def _looks_like_utm(text: str) -> bool:
    big = len(_BIG.findall(text))
    return big >= 2 or (big == 1 and bool(_ZONE_WORD.search(text.upper())))


def _utm_from_text(text: str, zone: object, ctx: _Ctx) -> tuple[int, str | None, float, float]:
    upper = text.upper()
    found_zone: tuple[int, str | None] | None = None
    m = _ZONE_WORD.search(upper) or _ZONE_TOKEN.search(upper)
    if m is not None:
        found_zone = _check_zone(int(m.group(1)), m.group(2), text)
        upper = upper[: m.start()] + " " + upper[m.end() :]
    if not is_blank(zone):
        given = parse_utm_zone(zone)
        if found_zone is not None and found_zone[0] != given[0]:
            raise ParseError(
                f"UTM {_short(text)}: zone {found_zone[0]} in the value but {given[0]} in the "
                "zone column"
            )
        found_zone = found_zone or given
    if found_zone is None:
        raise ParseError(f"UTM {_short(text)} has no zone (47 or 48); add a zone column or '48P'")
    upper = re.sub(r"\bUTM\b|WGS\s*-?\s*84|(?<=\d)\s*M\b|\bMETRES?\b", " ", upper)
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(upper):
        tm = _UTM_TOKEN.match(upper, pos)
        if tm is None:
            raise ParseError(f"UTM {_short(text)}: cannot read {upper[pos : pos + 12]!r}")
        if tm.lastgroup != "skip":
            tokens.append((tm.lastgroup or "", tm.group()))
        pos = tm.end()
    # Labels either precede their numbers ("E 312345 N 1598765") or follow them
    # ("312345E 1598765N"); whichever comes first in the text decides.
    prefix_style = bool(tokens) and tokens[0][0] in ("e", "n")
    values: dict[str, float] = {}
    unlabelled: list[float] = []
    pending: str | None = None
    for kind, tok in tokens:
        if kind == "num":
            if prefix_style and pending:
                if pending in values:
                    raise ParseError(f"UTM {_short(text)}: two {pending}-values")
                values[pending] = float(tok)
                pending = None
            else:
                unlabelled.append(float(tok))
        elif prefix_style:
            if pending:
                raise ParseError(f"UTM {_short(text)}: label {tok!r} without a number")
            pending = kind
        else:
            if not unlabelled:
                raise ParseError(f"UTM {_short(text)}: label {tok!r} without a number")
            if kind in values:
                raise ParseError(f"UTM {_short(text)}: two {kind}-values")
            values[kind] = unlabelled.pop()
    if pending:
        raise ParseError(f"UTM {_short(text)}: label without a number")
    for key in ("e", "n"):
        if key not in values and unlabelled:
            values[key] = unlabelled.pop(0)
    if unlabelled or len(values) != 2:
        raise ParseError(f"UTM {_short(text)}: expected one easting and one northing")
    return found_zone[0], found_zone[1], values["e"], values["n"]


def _utm_to_wgs84(
    zone: int, band: str | None, easting: float, northing: float, datum: str, ctx: _Ctx, code: str
) -> tuple[float, float, str, str | None]:
    for name, number, (low, high) in (
        ("easting", easting, _EASTING_RANGE),
        ("northing", northing, _NORTHING_RANGE),
    ):
        if not math.isfinite(number) or not low <= number <= high:
            where = "the zone's range" if name == "easting" else "Thailand's range"
            raise ParseError(
                f"UTM {name} {number:.0f} is outside {where} ({low:.0f}-{high:.0f}); "
                "check the columns are not swapped"
            )
    if datum == "indian1975":
        epsg = 24000 + zone
        lon, lat = _utm_transformer(epsg).transform(easting, northing)
        lat, lon = _datum_transformer(code).transform(lat, lon)
        transformation: str | None = code
    else:
        epsg = 32600 + zone
        lon, lat = _utm_transformer(epsg).transform(easting, northing)
        transformation = None
    if band is not None and band != "N" and band in "PQ":
        band_south = 8 * ("CDEFGHJKLMNPQRSTUVWX".index(band) - 10)
        if not band_south - 0.5 <= lat <= band_south + 8.5:
            ctx.warnings.append(
                f"UTM band {band} does not match the northing (latitude {lat:.3f}); "
                "the northing was used"
            )
    return lat, lon, f"EPSG:{epsg}", transformation


# --------------------------------------------------------------------------- MGRS

_MGRS = re.compile(r"^(\d{1,2})\s*([C-HJ-NP-X])\s*([A-HJ-NP-Z])\s*([A-HJ-NP-V])\s*(\d*)\s*(\d*)$")


def _mgrs_match(text: str) -> re.Match[str] | None:
    return _MGRS.match(re.sub(r"^MGRS\s*[:=]?\s*", "", text.upper().strip()))


def _mgrs_to_utm(m: re.Match[str], original: str, ctx: _Ctx) -> tuple[int, str, float, float]:
    import mgrs as mgrs_lib

    zone_s, band, col, row, east_s, north_s = m.groups()
    if north_s:
        if len(east_s) != len(north_s):
            raise ParseError(
                f"MGRS {_short(original)}: easting and northing need the same number of digits"
            )
        digits = east_s + north_s
    else:
        digits = east_s
    if len(digits) % 2 or len(digits) > 10:
        raise ParseError(f"MGRS {_short(original)}: needs an even number of digits (up to 10)")
    if not digits:
        raise ParseError(f"MGRS {_short(original)}: no easting/northing digits")
    precision_m = 10 ** (5 - len(digits) // 2)
    if precision_m > 10:
        ctx.warnings.append(f"MGRS precision is only {precision_m} m")
    zone_num, _ = _check_zone(int(zone_s), band, original)
    compact = f"{zone_num:02d}{band}{col}{row}{digits}"
    try:
        # mgrs returns the centre of the grid square (half the precision added).
        utm_zone, hemisphere, easting, northing = mgrs_lib.MGRS().MGRSToUTM(compact)
    except Exception as exc:  # the C library raises a bare MGRSError(Exception)
        raise ParseError(f"MGRS {_short(original)} is not a valid grid reference") from exc
    if hemisphere != "N":
        raise ParseError(f"MGRS {_short(original)} is in the southern hemisphere")
    return int(utm_zone), band, float(easting), float(northing)


# --------------------------------------------------------------------------- Google Maps

_SHORT_HOSTS = ("goo.gl", "maps.app.goo.gl", "g.co", "g.page")
_PAIR = re.compile(r"(-?\d{1,3}(?:\.\d+)?)\s*,\s*\+?\s*(-?\d{1,3}(?:\.\d+)?)")


def _is_url(text: str) -> bool:
    low = text.lower()
    return (
        low.startswith(("http://", "https://", "www.", "maps.", "geo:", "comgooglemaps:"))
        or ("google." in low and "/maps" in low)
        or "goo.gl/" in low
    )


def _google(text: str, ctx: _Ctx) -> tuple[float, float, bool]:
    """Return lat, lon and whether they came from a pin (True) rather than the viewport."""
    raw = text.strip()
    if raw.lower().startswith("geo:"):
        m = _PAIR.match(unquote_plus(raw[4:]))
        if m is None:
            raise ParseError(f"link {_short(raw)} holds no coordinates")
        return _finite(m.group(1), "latitude"), _finite(m.group(2), "longitude"), True
    url = raw if "://" in raw else "https://" + raw
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise ParseError(f"link {_short(raw)} is not a valid URL") from None
    if host in _SHORT_HOSTS or host.endswith(".goo.gl") or host.endswith(".app.goo.gl"):
        raise ParseError(
            f"link {_short(raw)} needs the full link (short links cannot be resolved offline); "
            "open it in a browser and copy the long address"
        )
    if "google" not in host and host not in ("maps.apple.com",):
        raise ParseError(f"link {_short(raw)} is not a Google Maps link")
    full = unquote_plus(parts.path + "?" + parts.query + "#" + parts.fragment)
    # 1. The pin: !3d<lat>!4d<lon> in the data part wins over everything else.
    pins = re.findall(r"!3d(-?\d+(?:\.\d+)?)!4d(-?\d+(?:\.\d+)?)", full)
    if pins:
        lat_s, lon_s = pins[-1]
        return _finite(lat_s, "latitude"), _finite(lon_s, "longitude"), True
    # 2. Query parameters that carry the searched/pinned place.
    query = parse_qs(parts.query)
    for key in ("q", "query", "ll", "sll", "center", "destination", "daddr", "saddr", "viewpoint"):
        for val in query.get(key, []):
            val = re.sub(r"^(?:loc:|@)", "", val.strip())
            m = _PAIR.fullmatch(val.strip()) or _PAIR.match(val.strip())
            if m is not None:
                return _finite(m.group(1), "latitude"), _finite(m.group(2), "longitude"), True
            try:
                lat, lon, _, _ = _parse_pair_text(clean_text(val), ctx)
            except ParseError:
                continue
            return lat, lon, True
    # 3. /search/<lat>,<lon>, /place/<lat>,<lon>, /dir/.../<lat>,<lon>
    path = unquote_plus(parts.path)
    m = re.search(
        r"/(?:search|place|dir)/(?:[^@]*?/)?(-?\d{1,3}\.\d+)\s*,\s*\+?\s*(-?\d{1,3}\.\d+)", path
    )
    if m is not None:
        return _finite(m.group(1), "latitude"), _finite(m.group(2), "longitude"), True
    # 4. The viewport centre: /@<lat>,<lon>,<zoom>z
    m = re.search(r"@(-?\d{1,3}(?:\.\d+)?),(-?\d{1,3}(?:\.\d+)?)", full)
    if m is not None:
        return _finite(m.group(1), "latitude"), _finite(m.group(2), "longitude"), False
    raise ParseError(f"link {_short(raw)} holds no coordinates (no ?q=, !3d/!4d or @lat,lon)")


# --------------------------------------------------------------------------- entry point


def parse_coordinate(
    value: object = None,
    *,
    lat: object = None,
    lon: object = None,
    easting: object = None,
    northing: object = None,
    zone: object = None,
    mgrs: object = None,
    datum: str | None = None,
    transformation: str | int | None = None,
    inside: Callable[[float, float], bool] | None = None,
    area_name: str = "Thailand",
) -> Coordinate:
    """Read a point from one cell or from separate columns, in any form Thai staff use.

    One of: ``value`` (a single cell: ``"14.5, 103.2"``, DMS such as
    ``15°10'26.4"N 103°33'38.7"E`` / ``"15 10 26.4 N, 103 33 38.7 E"`` / ``15:10:26.4 103:33:38.7``
    / ``ละติจูด ๑๕ องศา ... น.``, UTM ``"48P 312345 1598765"`` or ``"E 312345 N 1598765 zone
    48"``, MGRS ``"48P UA 12345 67890"``, or a Google Maps URL); ``lat`` and ``lon``
    (decimal or DMS, Thai digits allowed); ``easting``/``northing`` with ``zone``; or ``mgrs``.

    Latitude and longitude are exchanged, with a ``"swapped"`` warning, when only the exchanged
    order falls inside the area; N/S/E/W letters pin the order. UTM and MGRS are never guessed:
    an easting outside 166000-834000 or a northing outside Thailand is an error.

    Parameters
    ----------
    value : object, optional
        A cell holding the whole coordinate.
    lat, lon : object, optional
        Separate latitude and longitude cells.
    easting, northing : object, optional
        UTM metres; ``zone`` gives the zone (47/48, band letter optional).
    zone : object, optional
        UTM zone for ``easting``/``northing`` or for a ``value`` without a zone.
    mgrs : object, optional
        An MGRS grid reference cell.
    datum : {"wgs84", "indian1975"}, optional
        Datum the coordinates were written in (default WGS 84). Indian 1975 values (decimal,
        DMS, UTM zone 47/48 as EPSG:24047/24048, MGRS) are transformed to WGS 84.
    transformation : str or int, optional
        EPSG code of the Indian 1975 to WGS 84 transformation: ``EPSG:1812`` (default, what
        PROJ picks, 7 parameters, 3 m) or ``EPSG:1304`` (3 parameters, 5 m).
    inside : callable, optional
        ``inside(lat, lon) -> bool``; default: the box around Thailand. Points outside raise
        :class:`OutsideAreaError`; used also to decide a latitude/longitude swap.
    area_name : str
        Name of the area in messages ("Thailand", "Surin", ...).

    Returns
    -------
    Coordinate
        WGS 84 latitude and longitude with the method, warnings and transformation used.

    Raises
    ------
    com.errors.ParseError
        For anything that cannot be read; :class:`OutsideAreaError` (a ParseError) when the
        point lies outside the area. No other exception escapes for any string input.

    Examples
    --------
    >>> parse_coordinate("103.2, 14.5").warnings[0][:7]
    'swapped'
    >>> c = parse_coordinate("https://www.google.com/maps/place/X/@14.1,103.1,17z/data=!3d14.2!4d103.3")
    >>> (c.lat, c.lon)
    (14.2, 103.3)
    """
    ctx = _Ctx(inside=inside or in_thailand_bbox, area_name=area_name)
    datum_key = _normalise_datum(datum)
    code = _transformation_code(transformation) if datum_key == "indian1975" else ""
    if datum_key == "indian1975":
        _datum_transformer(code)  # validate early, even for inputs that end up WGS 84
    try:
        return _dispatch(value, lat, lon, easting, northing, zone, mgrs, datum_key, code, ctx)
    except ParseError:
        raise
    except (ValueError, TypeError, ArithmeticError, IndexError, KeyError) as exc:
        # A parser slip on strange text must still reach the uploader as a row error.
        raise ParseError(f"coordinate {_short(value)} cannot be read ({exc})") from exc


def _dispatch(
    value: object,
    lat: object,
    lon: object,
    easting: object,
    northing: object,
    zone: object,
    mgrs_value: object,
    datum: str,
    code: str,
    ctx: _Ctx,
) -> Coordinate:
    if not is_blank(value):
        return _from_cell(value, zone, datum, code, ctx)
    if not is_blank(mgrs_value):
        text = _text(mgrs_value)
        m = _mgrs_match(text)
        if m is None:
            raise ParseError(
                f"MGRS {_short(text)} is not a grid reference such as 48P UA 12345 67890"
            )
        return _finish_mgrs(m, text, datum, code, ctx)
    if not (is_blank(easting) and is_blank(northing)):
        if is_blank(easting):
            raise ParseError("UTM easting is empty")
        if is_blank(northing):
            raise ParseError("UTM northing is empty")
        e = _finite(easting, "UTM easting") if _is_number(easting) else None
        n = _finite(northing, "UTM northing") if _is_number(northing) else None
        if e is None or n is None:
            text = f"E {_text(easting)} N {_text(northing)}"
            zone_n, band, e2, n2 = _utm_from_text(text, zone, ctx)
            e, n = e2, n2
        else:
            if is_blank(zone):
                raise ParseError("UTM zone is empty (47 or 48)")
            zone_n, band = parse_utm_zone(zone)
        la, lo, crs, tr = _utm_to_wgs84(zone_n, band, e, n, datum, ctx, code)
        la, lo = _place(la, lo, fixed=True, ctx=ctx, text=f"UTM {zone_n} {e:.0f} {n:.0f}")
        return Coordinate(la, lo, "utm", tuple(ctx.warnings), crs, tr)
    if is_blank(lat) and is_blank(lon):
        raise ParseError("coordinate is empty")
    if is_blank(lon) and isinstance(lat, str) and _pair_like(lat):
        return _from_cell(lat, zone, datum, code, ctx)
    if is_blank(lat) and isinstance(lon, str) and _pair_like(lon):
        return _from_cell(lon, zone, datum, code, ctx)
    a, method_a, fixed_a = _parse_single_angle(lat, "lat")
    b, method_b, fixed_b = _parse_single_angle(lon, "lon")
    method = "dms" if "dms" in (method_a, method_b) else "decimal"
    return _finish_geographic(a, b, method, fixed_a or fixed_b, datum, code, ctx, f"{lat}, {lon}")


def _pair_like(text: str) -> bool:
    return bool(re.search(r"\d\s*[,;]\s*[-+]?\d", text)) or _is_url(text)


def _finish_geographic(
    a: float, b: float, method: str, fixed: bool, datum: str, code: str, ctx: _Ctx, text: str
) -> Coordinate:
    shown = _short(text)
    if datum == "indian1975":
        # The swap is decided on the Indian 1975 values (a few hundred metres from WGS 84).
        la, lo = _choose_order(a, b, fixed, ctx)
        if not (-90 <= la <= 90 and -180 <= lo <= 180):
            raise ParseError(
                f"coordinate {shown}: latitude {la:g} or longitude {lo:g} out of range"
            )
        la, lo = _datum_transformer(code).transform(la, lo)
        la, lo = _place(la, lo, fixed=True, ctx=ctx, text=shown)
        return Coordinate(la, lo, method, tuple(ctx.warnings), "EPSG:4240", code)
    la, lo = _place(a, b, fixed=fixed, ctx=ctx, text=shown)
    return Coordinate(la, lo, method, tuple(ctx.warnings), "EPSG:4326", None)


def _choose_order(a: float, b: float, fixed: bool, ctx: _Ctx) -> tuple[float, float]:
    if fixed or (-90 <= a <= 90 and ctx.inside(a, b)):
        return a, b
    if -90 <= b <= 90 and ctx.inside(b, a):
        ctx.warnings.append(
            f"swapped: latitude and longitude were exchanged ({a:g}, {b:g} -> {b:g}, {a:g})"
        )
        return b, a
    return a, b


def _finish_mgrs(m: re.Match[str], text: str, datum: str, code: str, ctx: _Ctx) -> Coordinate:
    zone_n, band, e, n = _mgrs_to_utm(m, text, ctx)
    la, lo, crs, tr = _utm_to_wgs84(zone_n, band, e, n, datum, ctx, code)
    la, lo = _place(la, lo, fixed=True, ctx=ctx, text=_short(text))
    return Coordinate(la, lo, "mgrs", tuple(ctx.warnings), crs, tr)


def _from_cell(value: object, zone: object, datum: str, code: str, ctx: _Ctx) -> Coordinate:
    if _is_number(value):
        raise ParseError(f"coordinate {value!r} is a single number; need latitude and longitude")
    text = _text(value)
    if _is_url(text):
        lat, lon, pinned = _google(text, ctx)
        if not pinned:
            ctx.warnings.append("link has no pin; the map view centre (@lat,lon) was used")
        if datum != "wgs84":
            ctx.warnings.append("Google Maps links are WGS 84; the datum setting was not applied")
        la, lo = _place(lat, lon, fixed=True, ctx=ctx, text=_short(text))
        return Coordinate(la, lo, "google_url", tuple(ctx.warnings), "EPSG:4326", None)
    m = _mgrs_match(text)
    if m is not None:
        return _finish_mgrs(m, text, datum, code, ctx)
    if _looks_like_utm(text):
        zone_n, band, e, n = _utm_from_text(text, zone, ctx)
        la, lo, crs, tr = _utm_to_wgs84(zone_n, band, e, n, datum, ctx, code)
        la, lo = _place(la, lo, fixed=True, ctx=ctx, text=_short(text))
        return Coordinate(la, lo, "utm", tuple(ctx.warnings), crs, tr)
    a, b, method, fixed = _parse_pair_text(text, ctx)
    return _finish_geographic(a, b, method, fixed, datum, code, ctx, text)
