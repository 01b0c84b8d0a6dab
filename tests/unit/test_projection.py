"""The one UTM rule (com.geo.projection) used by siting, risk context factors and heat."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from com.analysis.risk import context_distances
from com.geo.projection import (
    UTM47,
    UTM48,
    project,
    project_geometries,
    unproject,
    utm_crs_for,
    utm_zone,
    utm_zones,
)


def test_zone_47_west_of_102_and_48_from_102_east():
    assert utm_zones([97.5, 101.999, 102.0, 103.49, 105.6]).tolist() == [47, 47, 48, 48, 48]
    assert utm_zone(101.999) == 47 and utm_zone(102.0) == 48
    assert utm_crs_for(103.49) == UTM48  # Surin
    assert utm_crs_for([100.5, 101.9, 104.0]) == UTM47  # by the median
    assert utm_crs_for([np.nan, 102.0]) == UTM48
    assert utm_crs_for([]) == UTM48


def test_project_round_trips_and_measures_metres():
    lon, lat = np.array([103.49, 103.50]), np.array([14.88, 14.88])
    x, y = project(lon, lat, UTM48)
    # 0.01 degree of longitude at 14.88 N is about 1,076 m.
    assert float(np.hypot(x[1] - x[0], y[1] - y[0])) == pytest.approx(1076, rel=0.01)
    back_lon, back_lat = unproject(x, y, UTM48)
    np.testing.assert_allclose(back_lon, lon, atol=1e-9)
    np.testing.assert_allclose(back_lat, lat, atol=1e-9)


def test_risk_context_distances_use_the_same_projection():
    line = shapely.LineString([(103.0, 14.0), (103.0, 15.5)])
    distances = context_distances(np.array([103.01]), np.array([14.5]), {"border": [line]})
    x, y = project([103.01], [14.5], UTM48)
    projected = project_geometries([line], UTM48)[0]
    expected = shapely.distance(shapely.Point(x[0], y[0]), projected)
    assert float(distances["border"].iloc[0]) == pytest.approx(expected, rel=1e-9)
