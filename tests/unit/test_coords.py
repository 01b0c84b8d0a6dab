"""Coordinate parsing: decimal, DMS, UTM 47/48, MGRS, Google Maps links, Indian 1975."""

from __future__ import annotations

import contextlib
import math

import mgrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod, Transformer

from com.errors import ParseError
from com.geo.coords import (
    DEFAULT_INDIAN1975_TRANSFORMATION,
    OutsideAreaError,
    in_thailand_bbox,
    parse_coordinate,
    parse_utm_zone,
)
from com.text.thai import to_thai_digits

GEOD = Geod(ellps="WGS84")
# Prasat Sikhoraphum, Surin: 15.174 N, 103.56075 E = 15°10'26.4"N 103°33'38.7"E.
LAT, LON = 15.174, 103.56075


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def utm(lat: float, lon: float) -> tuple[int, float, float]:
    """Independent forward projection: WGS 84 -> UTM 47N/48N."""
    zone = 47 if lon < 102 else 48
    e, n = Transformer.from_crs("EPSG:4326", f"EPSG:326{zone}", always_xy=True).transform(lon, lat)
    return zone, e, n


# --------------------------------------------------------------------------- decimal and DMS


@pytest.mark.parametrize(
    "text",
    [
        "15.174, 103.56075",
        "15.174,103.56075",
        "15.174 103.56075",
        "15.174; 103.56075",
        "๑๕.๑๗๔, ๑๐๓.๕๖๐๗๕",
        "N 15.174 E 103.56075",
        "15.174N 103.56075E",
        "15.174° N, 103.56075° E",
        "lat 15.174 lon 103.56075",
        "Lat: 15.174, Lng: 103.56075",
        "ละติจูด 15.174 ลองจิจูด 103.56075",
        "15°10'26.4\"N 103°33'38.7\"E",
        "15°10′26.4″N, 103°33′38.7″E",
        "15º10'26.4''N 103º33'38.7''E",
        "15 10 26.4 N, 103 33 38.7 E",
        "N15 10 26.4 E103 33 38.7",
        "15:10:26.4, 103:33:38.7",
        "15:10:26.4 103:33:38.7",
        "15 10 26.4 103 33 38.7",
        "103 33 38.7 E, 15 10 26.4 N",
        "15°10.44'N 103°33.645'E",
        "N 15 10.44, E 103 33.645",
        "ละติจูด ๑๕ องศา ๑๐ ลิปดา ๒๖.๔ ฟิลิปดา น. ลองจิจูด ๑๐๓ องศา ๓๓ ลิปดา ๓๘.๗ ฟิลิปดา ต.",
        "๑๕°๑๐'๒๖.๔\" เหนือ ๑๐๓°๓๓'๓๘.๗\" ตะวันออก",
    ],
)
def test_one_cell_forms(text: str) -> None:
    c = parse_coordinate(text)
    assert c.lat == pytest.approx(LAT, abs=1e-6)
    assert c.lon == pytest.approx(LON, abs=1e-6)
    assert c.warnings == ()
    assert c.source_crs == "EPSG:4326" and c.transformation is None


def test_method_is_reported() -> None:
    assert parse_coordinate("15.174, 103.56075").method == "decimal"
    assert parse_coordinate("15 10 26.4 N, 103 33 38.7 E").method == "dms"


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (15.174, 103.56075),
        ("15.174", "103.56075"),
        ("๑๕.๑๗๔", "๑๐๓.๕๖๐๗๕"),
        ("15°10'26.4\"N", "103°33'38.7\"E"),
        ("15 10 26.4", "103 33 38.7"),
        ("15:10:26.4", "103:33:38.7"),
    ],
)
def test_separate_columns(lat: object, lon: object) -> None:
    c = parse_coordinate(lat=lat, lon=lon)
    assert (c.lat, c.lon) == pytest.approx((LAT, LON), abs=1e-6)


def test_swapped_columns_are_fixed_with_a_warning() -> None:
    c = parse_coordinate(lat=103.803858, lon=14.676979)
    assert (c.lat, c.lon) == (14.676979, 103.803858)
    assert c.swapped and c.warnings[0].startswith("swapped")
    c = parse_coordinate("103.2, 14.5")
    assert (c.lat, c.lon) == (14.5, 103.2) and c.swapped


def test_hemisphere_letters_pin_the_order() -> None:
    # The letters say latitude 103 N, which is impossible: an error, not a silent swap.
    with pytest.raises(ParseError, match="latitude 103"):
        parse_coordinate("103.2 N, 14.5 E")
    with pytest.raises(ParseError, match="both values"):
        parse_coordinate("14.5 N, 15.2 N")


def test_swap_uses_the_inside_hook() -> None:
    surin = (14.0, 102.9, 15.6, 104.2)

    def inside_surin(lat: float, lon: float) -> bool:
        return surin[0] <= lat <= surin[2] and surin[1] <= lon <= surin[3]

    c = parse_coordinate("103.5, 14.9", inside=inside_surin, area_name="Surin")
    assert (c.lat, c.lon) == (14.9, 103.5) and c.swapped
    # Bangkok is in Thailand but not in Surin.
    with pytest.raises(OutsideAreaError, match="outside Surin"):
        parse_coordinate("13.75, 100.5", inside=inside_surin, area_name="Surin")


def test_default_area_is_the_thailand_box() -> None:
    assert in_thailand_bbox(13.75, 100.5)
    assert not in_thailand_bbox(21.0, 100.0)
    with pytest.raises(OutsideAreaError, match="outside Thailand"):
        parse_coordinate("35.68, 139.69")  # Tokyo
    with pytest.raises(OutsideAreaError):
        parse_coordinate(lat=-14.5, lon=103.2)  # southern hemisphere by sign


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"value": ""}, "empty"),
        ({"value": "   "}, "empty"),
        ({}, "empty"),
        ({"value": "NaN, 103"}, "NaN"),
        ({"value": "Infinity"}, "NaN/Infinity"),
        ({"lat": float("inf"), "lon": 103.0}, "infinite"),
        ({"lat": "abc", "lon": "103.2"}, "latitude 'abc'"),
        ({"lat": "14.5", "lon": None}, "longitude is empty"),
        ({"lat": None, "lon": 1000}, "latitude is empty"),
        ({"lat": 14.5, "lon": 1000}, "longitude 1000 is out of range"),
        ({"value": "14.5"}, "one value"),
        ({"value": "14.5, 200"}, "out of range"),
        ({"value": "14.5, 103.2, 7"}, "found 3 values"),
        ({"value": "15 70 26.4 N, 103 33 38.7 E"}, "minutes 70"),
        ({"value": "15 10 60 N, 103 33 38.7 E"}, "seconds 60"),
        ({"value": "15.5 10 N, 103 33 E"}, "decimal degrees followed by minutes"),
        ({"value": "-15.1 S, 103.2 E"}, "minus sign"),
        ({"value": 14.5}, "single number"),
        ({"value": "สุรินทร์"}, "cannot read"),
    ],
)
def test_clear_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_coordinate(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- UTM


def test_utm_forms_match_an_independent_projection() -> None:
    zone, e, n = utm(LAT, LON)
    assert zone == 48
    forms = [
        f"48P {e:.1f} {n:.1f}",
        f"48N {e:.1f} {n:.1f}",
        f"48 P {e:.1f} {n:.1f}",
        f"E {e:.1f} N {n:.1f} zone 48",
        f"{e:.1f}E {n:.1f}N 48P",
        f"Zone 48, {e:.1f}, {n:.1f}",
        f"UTM 48P E{e:.1f} N{n:.1f}",
        f"โซน 48 {e:.1f} {n:.1f}",
        to_thai_digits(f"48P {e:.1f} {n:.1f}"),
    ]
    for text in forms:
        c = parse_coordinate(text)
        assert distance_m(c.lat, c.lon, LAT, LON) < 0.1, text  # 0.1 m rounding
        assert c.method == "utm" and c.source_crs == "EPSG:32648"


def test_utm_zone_47_and_zone_column() -> None:
    zone, e, n = utm(16.8, 100.26)  # Phitsanulok, zone 47
    assert zone == 47
    c = parse_coordinate(f"47N {e:.0f} {n:.0f}")
    assert distance_m(c.lat, c.lon, 16.8, 100.26) < 1
    c = parse_coordinate(easting=round(e), northing=round(n), zone="47Q")
    assert distance_m(c.lat, c.lon, 16.8, 100.26) < 1
    c = parse_coordinate(easting=str(round(e)), northing=str(round(n)), zone=47)
    assert distance_m(c.lat, c.lon, 16.8, 100.26) < 1
    c = parse_coordinate(f"{e:.0f} {n:.0f}", zone="47")
    assert c.source_crs == "EPSG:32647"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"value": "48P 900000 1598765"}, "easting 900000 is outside"),
        ({"value": "48P 100000 1598765"}, "easting 100000 is outside"),
        ({"value": "48P 312345 3598765"}, "northing 3598765 is outside"),
        ({"value": "48P 1598765 312345"}, "easting 1598765 is outside"),
        ({"value": "312345 1598765"}, "no zone"),
        ({"value": "49P 312345 1598765"}, "zone 49 is not used in Thailand"),
        ({"value": "48M 312345 1598765"}, "southern hemisphere"),
        ({"easting": 373359, "northing": 1621144}, "zone is empty"),
        ({"easting": 373359, "northing": None, "zone": 48}, "northing is empty"),
        ({"value": "48P 373359 1621144", "zone": "47"}, "zone 48 in the value but 47"),
    ],
)
def test_utm_errors_are_not_guesses(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_coordinate(**kwargs)  # type: ignore[arg-type]


def test_parse_utm_zone() -> None:
    assert parse_utm_zone("48P") == (48, "P")
    assert parse_utm_zone(47) == (47, None)
    assert parse_utm_zone("Zone ๔๘") == (48, None)
    with pytest.raises(ParseError):
        parse_utm_zone("zone")


# --------------------------------------------------------------------------- MGRS


def test_mgrs_forms() -> None:
    ref = mgrs.MGRS().toMGRS(LAT, LON, MGRSPrecision=5)  # e.g. 48PUB4560478377
    spaced = f"{ref[:3]} {ref[3:5]} {ref[5:10]} {ref[10:]}"
    for text in (ref, spaced, ref.lower(), to_thai_digits(spaced), f"MGRS: {spaced}"):
        c = parse_coordinate(text)
        assert distance_m(c.lat, c.lon, LAT, LON) < 1.0, text
        assert c.method == "mgrs"
    c = parse_coordinate(mgrs=spaced)
    assert distance_m(c.lat, c.lon, LAT, LON) < 1.0


def test_mgrs_coarse_precision_warns_and_bad_digits_fail() -> None:
    ref = mgrs.MGRS().toMGRS(LAT, LON, MGRSPrecision=2)
    c = parse_coordinate(ref)
    assert any("precision" in w for w in c.warnings)
    assert distance_m(c.lat, c.lon, LAT, LON) < 1000
    with pytest.raises(ParseError, match="same number of digits"):
        parse_coordinate("48P UB 123 4567")
    with pytest.raises(ParseError, match="even number"):
        parse_coordinate("48PUB12345")


# --------------------------------------------------------------------------- Google Maps


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://maps.google.com/?q=14.570006,103.484752", (14.570006, 103.484752)),
        ("https://www.google.com/maps?q=14.570006%2C103.484752", (14.570006, 103.484752)),
        ("https://www.google.com/maps?ll=14.5,103.2&z=15", (14.5, 103.2)),
        ("https://www.google.co.th/maps/search/14.5,+103.2?entry=tts", (14.5, 103.2)),
        ("https://www.google.com/maps/place/14.5,103.2", (14.5, 103.2)),
        (
            "https://www.google.com/maps/dir/?api=1&destination=14.5,103.2",
            (14.5, 103.2),
        ),
        (
            "https://www.google.com/maps/place/%E0%B8%9B%E0%B8%A3%E0%B8%B2%E0%B8%AA%E0%B8%B2%E0%B8%97"
            "/@14.1,103.1,17z/data=!3m1!4b1!4m6!3m5!1s0x3119:0x5!8m2!3d15.174!4d103.56075",
            (15.174, 103.56075),
        ),
        ("https://www.google.com/maps?q=15%C2%B010'26.4%22N+103%C2%B033'38.7%22E", (LAT, LON)),
        ("geo:14.5,103.2?z=17", (14.5, 103.2)),
    ],
)
def test_google_links(url: str, expected: tuple[float, float]) -> None:
    c = parse_coordinate(url)
    assert (c.lat, c.lon) == pytest.approx(expected, abs=1e-6)
    assert c.method == "google_url" and c.warnings == ()


def test_google_pin_wins_over_viewport_and_viewport_alone_warns() -> None:
    url = "https://www.google.com/maps/@14.841488,103.356031,17z"
    c = parse_coordinate(url)
    assert (c.lat, c.lon) == (14.841488, 103.356031)
    assert "view centre" in c.warnings[0]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://maps.app.goo.gl/Ab12Cd34", "needs the full link"),
        ("https://goo.gl/maps/xyz123", "needs the full link"),
        ("https://www.google.com/maps/place/Surin", "holds no coordinates"),
        ("https://example.com/?q=14.5,103.2", "not a Google Maps link"),
        ("https://maps.google.com/?q=48.85,2.35", "outside Thailand"),
    ],
)
def test_bad_links(url: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_coordinate(url)


# --------------------------------------------------------------------------- Indian 1975


def test_indian1975_default_is_what_pyproj_picks_and_is_recorded() -> None:
    c = parse_coordinate("14.88, 103.56", datum="indian1975")
    assert c.transformation == DEFAULT_INDIAN1975_TRANSFORMATION == "EPSG:1812"
    assert c.source_crs == "EPSG:4240"
    lon, lat = Transformer.from_crs("EPSG:4240", "EPSG:4326", always_xy=True).transform(
        103.56, 14.88
    )
    assert distance_m(c.lat, c.lon, lat, lon) < 0.01
    assert "EPSG:1812" in c.datum_note


def test_indian1975_transformations_differ_by_about_190_m_at_surin() -> None:
    a = parse_coordinate("14.88, 103.56", datum="indian1975", transformation="EPSG:1812")
    b = parse_coordinate("14.88, 103.56", datum="indian1975", transformation=1304)
    assert b.transformation == "EPSG:1304"
    gap = distance_m(a.lat, a.lon, b.lat, b.lon)
    assert 170 < gap < 210, gap
    # Both move the point a few hundred metres from where WGS 84 would put it.
    assert distance_m(a.lat, a.lon, 14.88, 103.56) > 100


def test_indian1975_utm_uses_the_indian_grid() -> None:
    c = parse_coordinate(easting=373359, northing=1621144, zone="48P", datum="Indian 1975")
    assert c.source_crs == "EPSG:24048" and c.transformation == "EPSG:1812"
    lon, lat = Transformer.from_crs("EPSG:24048", "EPSG:4326", always_xy=True).transform(
        373359, 1621144
    )
    assert distance_m(c.lat, c.lon, lat, lon) < 0.01
    w = parse_coordinate(easting=373359, northing=1621144, zone="48P")
    assert 100 < distance_m(c.lat, c.lon, w.lat, w.lon) < 1000


def test_datum_errors() -> None:
    with pytest.raises(ParseError, match="datum"):
        parse_coordinate("14.88, 103.56", datum="tokyo")
    with pytest.raises(ParseError, match="not an Indian 1975"):
        parse_coordinate("14.88, 103.56", datum="indian1975", transformation="EPSG:1305")
    with pytest.raises(ParseError, match="EPSG code"):
        parse_coordinate("14.88, 103.56", datum="indian1975", transformation="best")


def test_google_links_ignore_the_datum_with_a_warning() -> None:
    c = parse_coordinate("https://maps.google.com/?q=14.5,103.2", datum="indian1975")
    assert (c.lat, c.lon) == (14.5, 103.2) and c.transformation is None
    assert any("WGS 84" in w for w in c.warnings)


# --------------------------------------------------------------------------- fuzzing

thai_lat = st.floats(min_value=5.7, max_value=20.4)
thai_lon = st.floats(min_value=97.4, max_value=105.6)


def dms(value: float, pos: str, neg: str) -> str:
    letter = pos if value >= 0 else neg
    tenths_ms = round(abs(value) * 3600 * 10000)  # 1e-4 arc-seconds, about 3 mm
    d, rest = divmod(tenths_ms, 3600 * 10000)
    m, s = divmod(rest, 60 * 10000)
    return f"{d}°{m}'{s / 10000:.4f}\"{letter}"


@settings(max_examples=200, deadline=None)
@given(thai_lat, thai_lon, st.booleans())
def test_round_trip_decimal_and_dms(lat: float, lon: float, thai: bool) -> None:
    for text in (f"{lat:.7f}, {lon:.7f}", f"{dms(lat, 'N', 'S')} {dms(lon, 'E', 'W')}"):
        text = to_thai_digits(text) if thai else text
        c = parse_coordinate(text)
        assert abs(c.lat - lat) < 1e-6 and abs(c.lon - lon) < 1e-6, text


@settings(max_examples=150, deadline=None)
@given(thai_lat, thai_lon)
def test_round_trip_utm_mgrs_and_google(lat: float, lon: float) -> None:
    zone, e, n = utm(lat, lon)
    c = parse_coordinate(f"{zone}N {e:.2f} {n:.2f}")
    assert distance_m(c.lat, c.lon, lat, lon) < 1.0
    ref = mgrs.MGRS().toMGRS(lat, lon, MGRSPrecision=5)
    c = parse_coordinate(to_thai_digits(f"{ref[:-10]} {ref[-10:-5]} {ref[-5:]}"))
    assert distance_m(c.lat, c.lon, lat, lon) < 1.0
    view = f"@{lat + 0.01:.6f},{lon:.6f},15z"  # the viewport is off the pin on purpose
    url = f"https://www.google.com/maps/place/x/{view}/data=!3d{lat:.7f}!4d{lon:.7f}"
    c = parse_coordinate(url)
    assert abs(c.lat - lat) < 1e-6 and abs(c.lon - lon) < 1e-6


@settings(max_examples=1000, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_raises_only_parse_error(text: str) -> None:
    try:
        c = parse_coordinate(text)
    except ParseError:
        return
    assert math.isfinite(c.lat) and math.isfinite(c.lon)


coordinate_like = st.text(
    alphabet="0123456789๐๑๒๓๔๕๖๗๘๙.,;:/ -+°'\"NSEWnsewPQXYZxyzเหนือต.น.ละติจูดhttps:/?=@!3d4dmaps",
    max_size=50,
)


@settings(max_examples=1000, deadline=None)
@given(coordinate_like, st.sampled_from([None, "47", "48P", "bad"]))
def test_coordinate_like_text_raises_only_parse_error(text: str, zone: str | None) -> None:
    for kwargs in ({"value": text, "zone": zone}, {"lat": text, "lon": text}, {"mgrs": text}):
        with contextlib.suppress(ParseError):
            parse_coordinate(**kwargs)  # type: ignore[arg-type]
