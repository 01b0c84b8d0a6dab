"""Decimal degrees and degrees-minutes-seconds as written in cells, and the shared parse helpers.

:func:`com.geo.coords.parse_coordinate` is the one entry point; this module reads the
geographic notations (``14.88, 103.49``, ``14°52'48"N 103°29'24"E``, Thai words for the
hemispheres) and holds the helpers the UTM, MGRS and Google Maps readers share.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from com.errors import ParseError
from com.text.thai import clean_text, is_blank, to_arabic_digits

__all__ = ["OutsideAreaError"]


class OutsideAreaError(ParseError):
    """The coordinate was read but lies outside Thailand (or the area being checked)."""


# --------------------------------------------------------------------------- helpers


@dataclass(slots=True)
class _Ctx:
    inside: Callable[[float, float], bool]
    area_name: str
    warnings: list[str] = field(default_factory=list)
    locality_point: Callable[[str], tuple[float, float] | None] | None = None
    #: The zone of the area (a province's), used only when the data gives none.
    zone_hint: object = None
    #: Set when the point's zone came from ``zone_hint`` (the data gave none).
    zone_hint_used: bool = False


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
#: A decimal comma in a latitude or longitude cell ("14,8829": a European-locale export).
#: Whole degrees then a comma and three or more digits: a pair of whole degrees would be
#: far too coarse to be a point, so one such cell is one number.
_DECIMAL_COMMA = re.compile(r"\s*[-+]?\d{1,3},\d{3,15}\s*\Z")


def _parse_single_angle(value: object, axis: str) -> tuple[float, str, bool]:
    """Parse one latitude or longitude cell; return value, method and whether a letter fixed it."""
    what = "latitude" if axis == "lat" else "longitude"
    if isinstance(value, str) and _PLAIN_DECIMAL.match(value):
        return float(value), "decimal", False  # the common case, without the tokenizer
    if isinstance(value, str) and _DECIMAL_COMMA.match(to_arabic_digits(value)):
        return float(to_arabic_digits(value).replace(",", ".")), "decimal", False
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
