"""Vector tile helpers without a database: TileJSON, parameters that do not apply, addresses."""

from __future__ import annotations

import pytest

from com.errors import InvalidQuery, NotFoundError
from com.ogc.collections import Collection, builtin_collections
from com.ogc.results import Extent
from com.ogc.tiles import NOT_FOR_TILES, check_address, refuse_paging, tilejson_document


def _collection(collection_id: str) -> Collection:
    return next(c for c in builtin_collections() if c.id == collection_id)


def test_tilejson_of_an_empty_collection_covers_thailand() -> None:
    doc = tilejson_document(_collection("risk-points"), Extent(bbox=None, interval=None),
                            base_url="http://com.test")
    assert doc["bounds"] == [97.3, 5.6, 105.7, 20.5]
    assert doc["center"] == [101.5, 13.05, 8]
    assert doc["tiles"] == ["http://com.test/tiles/risk-points/{z}/{x}/{y}.pbf"]
    fields = doc["vector_layers"][0]["fields"]
    assert fields["point_count"] == "Number" and fields["cluster"] == "Boolean"


def test_polygon_layers_carry_no_cluster_fields() -> None:
    doc = tilejson_document(_collection("districts"), Extent(bbox=(103.0, 14.0, 104.0, 15.5),
                                                             interval=None), base_url="")
    assert doc["bounds"] == [103.0, 14.0, 104.0, 15.5]
    assert "cluster" not in doc["vector_layers"][0]["fields"]


@pytest.mark.parametrize("name", NOT_FOR_TILES)
def test_paging_parameters_do_not_apply_to_tiles(name: str) -> None:
    with pytest.raises(InvalidQuery, match=f"{name} does not apply to tiles"):
        refuse_paging([("severity", "4"), (name, "1")])


def test_filters_apply_to_tiles() -> None:
    refuse_paging([("severity", "4"), ("datetime", "2024-01-01/..")])


@pytest.mark.parametrize(("z", "x", "y"), [(2, 4, 0), (2, 0, 4), (23, 0, 0), (-1, 0, 0)])
def test_tile_addresses_outside_the_matrix_are_not_found(z: int, x: int, y: int) -> None:
    with pytest.raises(NotFoundError):
        check_address(z, x, y)
    check_address(2, 3, 3)
