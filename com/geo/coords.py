"""Coordinates as Thai staff write them: decimal, DMS, UTM 47/48, MGRS, Google Maps links."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from urllib.parse import parse_qs, unquote_plus, urlsplit

from com.errors import ParseError
from com.geo.dms import (
    OutsideAreaError,
    _Ctx,
    _finite,
    _is_number,
    _parse_pair_text,
    _parse_single_angle,
    _place,
    _short,
    _text,
)
from com.text.thai import clean_text, is_blank

__all__ = [
    "DEFAULT_INDIAN1975_TRANSFORMATION",
    "THAILAND_BBOX",
    "Coordinate",
    "OutsideAreaError",
    "find_plus_code",
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
    zone_from_hint : bool
        True when a UTM point took its zone from ``zone_hint`` (the data gave none).
    """

    lat: float
    lon: float
    method: str
    warnings: tuple[str, ...] = ()
    source_crs: str = "EPSG:4326"
    transformation: str | None = None
    zone_from_hint: bool = False

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
    if found_zone is None and not is_blank(ctx.zone_hint):
        found_zone = parse_utm_zone(ctx.zone_hint)
        ctx.zone_hint_used = True
    if found_zone is None:
        raise ParseError(f"UTM {_short(text)} has no zone (47 or 48); add a zone column or '48P'")
    # "337957mE 1645921mN": the metre sign before the axis letter goes like a lone "m".
    upper = re.sub(r"\bUTM\b|WGS\s*-?\s*84|(?<=\d)\s*M\b|(?<=\d)M(?=[EN]\b)|\bMETRES?\b", " ",
                   upper)
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
    if raw.lower().startswith("comgooglemaps://"):  # the Google Maps app's own scheme
        raw = "https://maps.google.com/" + raw[len("comgooglemaps://"):]
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
        known = any(host == h or host.endswith("." + h) for h in _MAP_HOSTS)
        found = _other_map_link(parts.query, parts.fragment) if known else None
        if found is None:
            raise ParseError(f"link {_short(raw)} is not a Google Maps link")
        return _finite(found[0], "latitude"), _finite(found[1], "longitude"), True
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
        # "+" (a space once unquoted) separates them as often as a comma does.
        r"/(?:search|place|dir)/(?:[^@]*?/)?(-?\d{1,3}\.\d+)\s*(?:,\s*\+?|\s)\s*(-?\d{1,3}\.\d+)",
        path,
    )
    if m is not None:
        return _finite(m.group(1), "latitude"), _finite(m.group(2), "longitude"), True
    # 4. The viewport centre: /@<lat>,<lon>,<zoom>z
    m = re.search(r"@(-?\d{1,3}(?:\.\d+)?),(-?\d{1,3}(?:\.\d+)?)", full)
    if m is not None:
        return _finite(m.group(1), "latitude"), _finite(m.group(2), "longitude"), False
    raise ParseError(f"link {_short(raw)} holds no coordinates (no ?q=, !3d/!4d or @lat,lon)")


_EMBEDDED_URL = re.compile(r"(?:https?://|geo:)\S+", re.IGNORECASE)
#: A geopoint of ODK Collect / KoboToolbox: "lat lon" in decimal degrees, then altitude and
#: accuracy in metres (either may be missing).
_GEOPOINT = re.compile(
    r"([-+]?\d{1,2}\.\d+)\s+([-+]?\d{1,3}\.\d+)(?:\s+[-+]?\d+(?:\.\d+)?){1,2}"
)
#: A WKT point in a cell ("POINT (103.49 14.88)", as QGIS and PostGIS write it): lon, lat.
_WKT_POINT = re.compile(
    r"(?:SRID=4326;)?POINT\s*Z?\s*\(\s*([-+]?\d{1,3}(?:\.\d+)?)\s+([-+]?\d{1,2}(?:\.\d+)?)"
    r"(?:\s+[-+]?\d+(?:\.\d+)?)?\s*\)",
    re.IGNORECASE,
)
#: Other maps whose share links carry the point (LINE's location share, OpenStreetMap, ...).
_MAP_HOSTS = ("line.me", "openstreetmap.org", "osm.org", "bing.com", "waze.com", "longdo.com",
              "here.com", "apple.com")
_LAT_KEYS = ("lat", "mlat", "latitude", "y")
_LON_KEYS = ("lng", "lon", "long", "mlon", "longitude", "x")


def _other_map_link(query: str, fragment: str) -> tuple[str, str] | None:
    """Latitude and longitude of another map's share link (LINE, OpenStreetMap, Apple, ...).

    Read from ``lat=``/``lng=`` style parameters, a ``ll=``/``q=`` pair, or OpenStreetMap's
    ``#map=zoom/lat/lon``; None when the link carries none.
    """
    params = {k.lower(): v for k, v in parse_qs(query).items()}
    lat = next((params[k][0] for k in _LAT_KEYS if k in params), None)
    lon = next((params[k][0] for k in _LON_KEYS if k in params), None)
    if lat is not None and lon is not None:
        return lat, lon
    for key in ("ll", "q", "query", "center", "sll"):
        for val in params.get(key, []):
            m = _PAIR.fullmatch(val.strip())
            if m is not None:
                return m.group(1), m.group(2)
    m = re.search(r"map=\d+(?:\.\d+)?/(-?\d{1,3}(?:\.\d+)?)/(-?\d{1,3}(?:\.\d+)?)", fragment)
    if m is not None:
        return m.group(1), m.group(2)
    return None


# --------------------------------------------------------------------------- Plus Codes

#: A Plus Code: 2-8 code characters, "+", 0-7 more ("7P65VQ5R+XX", short "VQ5R+XX").
_PLUS_CODE = re.compile(
    r"(?<![0-9A-Z+])([23456789CFGHJMPQRVWX]{2,8}0*\+[23456789CFGHJMPQRVWX]{0,7})(?![0-9A-Z+])",
    re.IGNORECASE,
)


def find_plus_code(text: str) -> tuple[str, str] | None:
    """Find a Plus Code (Open Location Code) in a cell: the code and the text around it.

    Returns
    -------
    tuple of str or None
        ``(code, locality)``; the locality (the place named after a short code, such as
        ``สุรินทร์``) may be empty. None when the cell holds no Plus Code.

    Examples
    --------
    >>> find_plus_code("VQ5R+XX สุรินทร์")
    ('VQ5R+XX', 'สุรินทร์')
    """
    if "+" not in text:
        return None
    from openlocationcode import openlocationcode as olc

    m = _PLUS_CODE.search(text.upper())
    if m is None or not olc.isValid(m.group(1)):
        return None
    if not (olc.isFull(m.group(1)) or olc.isShort(m.group(1))):
        return None  # valid characters, but neither a full nor a short code
    code = m.group(1)
    rest = (text[: m.start()] + " " + text[m.end():]).strip(" ,;:-")
    return code, " ".join(rest.split())


def _plus_code_point(code: str, locality: str, ctx: _Ctx) -> tuple[float, float]:
    """Decode a Plus Code to its centre; a short code is recovered near its locality."""
    from openlocationcode import openlocationcode as olc

    if not olc.isValid(code):
        raise ParseError(f"plus code {_short(code)} is not valid (Open Location Code)")
    if olc.isFull(code):
        area = olc.decode(code)
        return area.latitudeCenter, area.longitudeCenter
    if ctx.locality_point is None:
        raise ParseError(
            f"plus code {_short(code)} is short: it needs the full code (such as 7P65VQ5R+XX) "
            "or a place after it (VQ5R+XX สุรินทร์)"
        )
    reference = ctx.locality_point(locality)
    if reference is None:
        if locality:
            raise ParseError(
                f"plus code {_short(code)}: the place {_short(locality)} is not a known "
                "subdistrict, district or province"
            )
        raise ParseError(
            f"plus code {_short(code)} is short: it needs the full code (such as 7P65VQ5R+XX) "
            "or a place after it (VQ5R+XX สุรินทร์)"
        )
    if not locality:
        ctx.warnings.append("short plus code recovered near the upload's province")
    area = olc.decode(olc.recoverNearest(code, reference[0], reference[1]))
    return area.latitudeCenter, area.longitudeCenter


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
    locality_point: Callable[[str], tuple[float, float] | None] | None = None,
    zone_hint: object = None,
) -> Coordinate:
    """Read a point from one cell or from separate columns, in any form Thai staff use.

    One of: ``value`` (a single cell: ``"14.5, 103.2"``, DMS such as ``15°10'26.4"N 103°33'38.7"E``
    / ``"15 10 26.4 N, 103 33 38.7 E"`` / ``15:10:26.4 103:33:38.7`` / ``ละติจูด ๑๕ องศา ... น.``,
    UTM ``"48P 312345 1598765"`` or ``"E 312345 N 1598765 zone 48"``, MGRS ``"48P UA 12345 67890"``,
    a Google Maps URL or a map link inside text (a LINE share: "ตำแหน่ง https://..."), a Plus Code
    ``7P65VQ5R+XX`` or short with a place, an ODK/KoboToolbox geopoint ``"lat lon altitude
    accuracy"`` or a pair in brackets ``[14.88, 103.49]``); ``lat`` and ``lon`` (decimal or DMS,
    Thai digits allowed); ``easting``/``northing`` with ``zone``; or ``mgrs``.

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
    locality_point : callable, optional
        ``locality_point(text) -> (lat, lon) or None``: the reference point of a place named
        after a short Plus Code ("VQ5R+XX สุรินทร์"); an empty text asks for the default place
        (the upload's province). Without it a short Plus Code is refused.
    zone_hint : object, optional
        The area's UTM zone (the upload province's), used only when neither the value nor
        ``zone`` gives one: "47P 772000 1646000" in a zone-48 province stays in zone 47,
        where passing the province's zone as ``zone`` would refuse it as a conflict.

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
    ctx = _Ctx(inside=inside or in_thailand_bbox, area_name=area_name,
               locality_point=locality_point, zone_hint=zone_hint)
    datum_key, code = _datum_and_transformation(datum, transformation)
    point = _read_point(value, lat, lon, easting, northing, zone, mgrs, datum_key, code, ctx)
    return replace(point, zone_from_hint=True) if ctx.zone_hint_used else point


def _read_point(
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
    """Read the point (see :func:`_dispatch`); any other slip than a ParseError becomes one."""
    try:
        return _dispatch(value, lat, lon, easting, northing, zone, mgrs_value, datum, code, ctx)
    except ParseError:
        raise
    except (ValueError, TypeError, ArithmeticError, IndexError, KeyError) as exc:
        # A parser slip on strange text must still reach the uploader as a row error.
        raise ParseError(f"coordinate {_short(value)} cannot be read ({exc})") from exc


def _datum_and_transformation(
    datum: str | None, transformation: str | int | None
) -> tuple[str, str]:
    """Return the datum's key and, for Indian 1975, its checked transformation code (else "")."""
    datum_key = _normalise_datum(datum)
    if datum_key != "indian1975":
        return datum_key, ""
    code = _transformation_code(transformation)
    _datum_transformer(code)  # validate early, even for inputs that end up WGS 84
    return datum_key, code


#: A number written with thousands separators ("337,957", "1,645,921.5"), as Excel shows
#: UTM metres formatted as numbers.
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def _without_thousands(value: object) -> object:
    """Return a UTM cell with its thousands separators removed, other cells unchanged."""
    if isinstance(value, str) and _THOUSANDS.fullmatch(value.strip()):
        return float(value.strip().replace(",", ""))
    return value


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
        easting, northing = _without_thousands(easting), _without_thousands(northing)
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
            if is_blank(zone) and is_blank(ctx.zone_hint):
                raise ParseError("UTM zone is empty (47 or 48)")
            zone_n, band = parse_utm_zone(zone if not is_blank(zone) else ctx.zone_hint)
            ctx.zone_hint_used = is_blank(zone)
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
    plus = find_plus_code(text)
    if plus is not None:
        la, lo = _plus_code_point(plus[0], plus[1], ctx)
        la, lo = _place(la, lo, fixed=True, ctx=ctx, text=_short(text))
        return Coordinate(la, lo, "plus_code", tuple(ctx.warnings), "EPSG:4326", None)
    embedded = _EMBEDDED_URL.search(text)
    if embedded is not None and embedded.start() > 0:  # a LINE share: a sentence, the link
        text = embedded.group().rstrip(".,;)]}>\"'")
    if text[:1] in "[(" and text[-1:] in "])":
        text = text[1:-1].strip()  # KoboToolbox's _geolocation: [14.88, 103.49]
    wkt = _WKT_POINT.fullmatch(text)
    if wkt is not None:
        a, b = float(wkt.group(2)), float(wkt.group(1))
        return _finish_geographic(a, b, "decimal", True, datum, code, ctx, text)
    geopoint = _GEOPOINT.fullmatch(text)
    if geopoint is not None:
        # ODK/KoboToolbox geopoint "lat lon altitude accuracy": decimal degrees first, in
        # that order, then metres (a degree-minute pair "14 52.5 103 29.1" has whole degrees).
        a, b = float(geopoint.group(1)), float(geopoint.group(2))
        return _finish_geographic(a, b, "decimal", True, datum, code, ctx, text)
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
