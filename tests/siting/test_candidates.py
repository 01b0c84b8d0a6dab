"""Candidate sites: grids, the --candidates spec, site and cost files (com.siting.candidates)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from com.errors import ValidationError
from com.siting.candidates import (
    apply_costs,
    grid_sites,
    parse_candidates,
    read_costs,
    read_points_file,
)

# --- inputs -----------------------------------------------------------------------------------


def test_grid_sites_lie_inside_the_area_on_a_metric_grid():
    area = shapely.box(103.50, 14.90, 103.52, 14.92)  # about 2.15 km x 2.2 km
    grid = grid_sites(area, 250)
    assert 60 <= len(grid) <= 90
    assert shapely.contains_xy(area, grid["lon"], grid["lat"]).all()
    tr = Transformer.from_crs(4326, 32648, always_xy=True)
    x, y = tr.transform(grid["lon"].to_numpy(), grid["lat"].to_numpy())
    for v in (np.asarray(x), np.asarray(y)):
        steps = (v - 125) / 250  # cell centres at multiples of the spacing plus a half
        assert np.allclose(steps, np.round(steps), atol=1e-5)
    assert grid["site_id"].is_unique
    with pytest.raises(ValidationError, match="spacing"):
        grid_sites(area, 1)


def test_parse_candidates():
    assert parse_candidates("points") == ("points", None)
    assert parse_candidates("grid:500") == ("grid", 500.0)
    assert parse_candidates("poles.csv")[0] == "file"
    assert parse_candidates("sites") == ("sites", None)
    assert parse_candidates("sites:7") == ("sites", 7)
    assert parse_candidates("grid_poles.csv")[0] == "file"
    with pytest.raises(ValidationError, match="grid:SPACING"):
        parse_candidates("grid:abc")


def test_site_and_cost_files_with_thai_headers(tmp_path):
    sites_csv = tmp_path / "poles.csv"
    sites_csv.write_text(
        "ชื่อจุด,ละติจูด,ลองจิจูด,ราคา\nP1,14.88,103.49,\"12,000 บาท\"\nP2,14.89,103.50,\n"
        "P3,\"14°53'24\"\"N\",\"103°30'36\"\"E\",๕๐๐\n",
        encoding="utf-8-sig",
    )
    table = read_points_file(sites_csv)
    assert table["site_id"].tolist() == ["P1", "P2", "P3"]
    assert table["lon"].tolist()[:2] == [103.49, 103.50]
    assert table["lat"].iloc[2] == pytest.approx(14.89)
    assert table["cost"].iloc[0] == 12000 and np.isnan(table["cost"].iloc[1])
    assert table["cost"].iloc[2] == 500
    costs_csv = tmp_path / "costs.csv"
    costs_csv.write_text("site_id,cost\nP2,9000\n", encoding="utf-8")
    with_costs = apply_costs(table, read_costs(costs_csv), None)
    assert with_costs["cost"].tolist() == [12000.0, 9000.0, 500.0]
    geo = tmp_path / "poles.geojson"
    geo.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "เสา 1", "cost": 5},
         "geometry": {"type": "Point", "coordinates": [103.5, 14.9]}}]}), encoding="utf-8")
    g = read_points_file(geo)
    assert g.iloc[0]["site_id"] == "เสา 1" and g.iloc[0]["cost"] == 5
    cams = tmp_path / "cams.csv"
    cams.write_text("ชื่อกล้อง,lat,lon,รัศมี\nC1,14.9,103.5,150\nC2,14.91,103.5,\n",
                    encoding="utf-8")
    c = read_points_file(cams, kind="cameras")
    assert c["radius_m"].iloc[0] == 150 and np.isnan(c["radius_m"].iloc[1])
    bad = tmp_path / "bad.csv"
    bad.write_text("name,lat,lon\nA,14.9,103.5\nB,สิบสี่,103.5\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="row 2"):
        read_points_file(bad)
    bad_cost = tmp_path / "bad_cost.csv"
    bad_cost.write_text("site_id,cost\nA,5\nB,-5\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="row 2"):
        read_costs(bad_cost)
