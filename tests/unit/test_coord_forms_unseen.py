"""Coordinate forms met in files written by other people (issue 14), and the zone hint."""

from __future__ import annotations

import pyproj
import pytest

from com.errors import ParseError
from com.geo.coords import parse_coordinate

LAT, LON = 14.8829, 103.4937
_TO_UTM48 = pyproj.Transformer.from_crs(4326, 32648, always_xy=True)
_FROM_UTM47 = pyproj.Transformer.from_crs(32647, 4326, always_xy=True)


@pytest.mark.parametrize("cell", [
    f"POINT ({LON} {LAT})",
    f"POINT Z ({LON} {LAT} 12.5)",
    f"SRID=4326;POINT({LON} {LAT})",
    f"comgooglemaps://?q={LAT},{LON}",
    f"https://www.google.com/maps/search/{LAT}+{LON}",
    f"https://www.google.co.th/maps/search/{LAT},+{LON}?entry=tts",
])
def test_other_cell_forms(cell: str) -> None:
    c = parse_coordinate(cell)
    assert (c.lat, c.lon) == pytest.approx((LAT, LON), abs=1e-9)


def test_utm_with_metre_signs_and_thousands_separators() -> None:
    e, n = _TO_UTM48.transform(LON, LAT)
    c = parse_coordinate(f"48 P {e:.1f}mE {n:.1f}mN")
    assert (c.lat, c.lon) == pytest.approx((LAT, LON), abs=1e-6)
    c = parse_coordinate(easting=f"{e:,.1f}", northing=f"{n:,.1f}", zone="48P")
    assert (c.lat, c.lon) == pytest.approx((LAT, LON), abs=1e-6)


def test_zone_hint_fills_in_but_never_overrides() -> None:
    e, n = _TO_UTM48.transform(LON, LAT)
    hinted = parse_coordinate(f"{e:.1f} {n:.1f}", zone_hint=48)
    assert (hinted.lat, hinted.lon) == pytest.approx((LAT, LON), abs=1e-6)
    hinted = parse_coordinate(easting=e, northing=n, zone_hint=48)
    assert (hinted.lat, hinted.lon) == pytest.approx((LAT, LON), abs=1e-6)
    # A zone written in the value wins over the hint (a zone-48 province, a zone-47 point)...
    own = parse_coordinate("47P 772000 1646000", zone_hint=48)
    lon47, lat47 = _FROM_UTM47.transform(772000, 1646000)
    assert (own.lat, own.lon) == pytest.approx((lat47, lon47), abs=1e-9)
    # ... while a zone column that disagrees with the value is still a conflict.
    with pytest.raises(ParseError, match="zone 47 in the value but 48"):
        parse_coordinate("47P 772000 1646000", zone=48)
    with pytest.raises(ParseError, match="no zone"):
        parse_coordinate(f"{e:.1f} {n:.1f}")


@pytest.mark.parametrize(("lat", "lon"), [("14,8829", "103,4937"), ("๑๔,๘๘๒๙", "๑๐๓,๔๙๓๗")])
def test_decimal_comma_in_separate_columns(lat: str, lon: str) -> None:
    c = parse_coordinate(lat=lat, lon=lon)
    assert (c.lat, c.lon) == pytest.approx((LAT, LON), abs=1e-12)


def test_two_short_numbers_in_one_latitude_cell_are_still_refused() -> None:
    with pytest.raises(ParseError, match="more than one value"):
        parse_coordinate(lat="14,88", lon="103.49")
