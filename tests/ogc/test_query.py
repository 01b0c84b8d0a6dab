"""Query parameters of an items request: the parsers refuse with InvalidQuery and round-trip."""

from __future__ import annotations

import contextlib
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from com.errors import InvalidQuery
from com.ogc.collections import builtin_collections
from com.ogc.cql2 import parse_cql2
from com.ogc.query import (
    decode_cursor,
    encode_cursor,
    parse_bbox,
    parse_datetime,
    parse_item_query,
)


def test_parsers_never_raise_anything_but_invalid_query() -> None:
    risk = builtin_collections()[0]

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=60))
    def fuzz(text: str) -> None:
        for parse in (parse_bbox, parse_datetime, parse_cql2,
                      lambda t: decode_cursor(t, "integer"),
                      lambda t: parse_item_query(risk, [("severity", t), ("bbox", t)])):
            with contextlib.suppress(InvalidQuery):
                parse(text)

    @settings(max_examples=200, deadline=None)
    @given(st.one_of(st.integers(min_value=0, max_value=2**62), st.text(max_size=20)),
           st.sampled_from(["after", "before"]),
           st.one_of(st.none(), st.integers(min_value=0, max_value=10**9)))
    def cursor_round_trip(key: object, direction: str, matched: int | None) -> None:
        token = encode_cursor(key, direction=direction, matched=matched)  # type: ignore[arg-type]
        key_type = "integer" if isinstance(key, int) else "string"
        assert decode_cursor(token, key_type) == (direction, key, matched)

    @settings(max_examples=200, deadline=None)
    @given(st.floats(-180, 180), st.floats(-90, 90), st.floats(0, 10), st.floats(0, 10))
    def bbox_round_trip(west: float, south: float, width: float, height: float) -> None:
        east, north = min(180.0, west + width), min(90.0, south + height)
        assert parse_bbox(f"{west!r},{south!r},{east!r},{north!r}") == (west, south, east, north)

    fuzz()
    cursor_round_trip()
    bbox_round_trip()
    assert parse_datetime("2024-01-01/..") == (date(2024, 1, 1), None)
    assert parse_datetime("../2024-01-31T23:00:00+07:00") == (None, date(2024, 1, 31))
