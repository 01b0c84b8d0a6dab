"""Coverage matrices from coordinates against all-pairs distances (com.siting.coverage)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from siting_instances import (  # tests/siting/siting_instances.py
    geodesic_cover,
    instance,
    utm_cover,
)

from com.geo.projection import utm_crs_for
from com.siting.coverage import coverage_matrix, covered_by_cameras

# --- coverage ---------------------------------------------------------------------------------


def test_utm_zone_follows_the_median_longitude():
    assert utm_crs_for([103.5, 103.6, 99.0]) == "EPSG:32648"
    assert utm_crs_for([100.5, 101.9]) == "EPSG:32647"


@pytest.mark.parametrize("metric", ["utm", "geodesic"])
def test_coverage_matrix_equals_all_pairs_distances(metric):
    demand, sites = instance(3, 300, 200, n_centres=6, spread_m=400)
    matrix = coverage_matrix(demand["lon"], demand["lat"], sites["lon"], sites["lat"],
                             radius_m=200, metric=metric).toarray()
    expected = (geodesic_cover(demand, sites, 200) if metric == "geodesic"
                else utm_cover(demand, sites, 200, 32648))
    assert matrix.shape == (300, 200)
    assert expected.sum() > 300  # overlapping circles: a real test
    np.testing.assert_array_equal(matrix, expected)


def test_cameras_cover_their_own_radius():
    demand = pd.DataFrame({"lon": [103.5, 103.5, 103.5], "lat": [14.9, 14.9018, 14.9036]})
    # about 0 m, 199 m and 398 m north of the camera
    mask = covered_by_cameras(demand["lon"], demand["lat"], [103.5], [14.9], [250.0])
    assert mask.tolist() == [True, True, False]
    mask = covered_by_cameras(demand["lon"], demand["lat"], [103.5], [14.9], [450.0])
    assert mask.tolist() == [True, True, True]
