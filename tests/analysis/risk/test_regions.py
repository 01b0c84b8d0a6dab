"""Issue 16: a region is accepted wherever a province is; rankings span its provinces."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import sqlalchemy as sa
from scipy.stats import binomtest

from com.analysis import kpi, risk
from com.errors import ValidationError
from com.security.access import CLI

DAY = dt.date(2025, 3, 1)
SURIN, BURIRAM, KHONKAEN = "320101", "310101", "400101"
ONCB3 = ("30", "31", "32", "33", "34", "35", "36", "37")


def add(conn, code, n, severity=5):
    for _ in range(n):
        conn.execute(sa.text(
            "INSERT INTO risk_points (category, severity, incident_count, reported_on, geom,"
            " subdistrict_code, district_code, province_code) SELECT 'drugs', :sev, 1, :day,"
            " s.rep_point, s.code, s.district_code, s.province_code FROM subdistricts s"
            " WHERE s.code = :code"), {"sev": severity, "day": DAY, "code": code})


def test_ranking_a_region_ranks_across_its_provinces(db, flat_model):
    add(db, SURIN, 3)      # 3 x 2 x 5 = 30
    add(db, BURIRAM, 2)    # 20
    add(db, KHONKAEN, 5)   # 50, but Khon Kaen is in ONCB region 4, not 3
    for level, code in (("district", "district_code"), ("subdistrict", "subdistrict_code")):
        ranked = risk.rank_areas(db, level=level, region="oncb-3", as_of=DAY, model=flat_model)
        table = "districts" if level == "district" else "subdistricts"
        expected = db.execute(sa.text(
            f"SELECT count(*) FROM {table} WHERE province_code = ANY(:p)"),
            {"p": list(ONCB3)}).scalar_one()
        assert len(ranked) == expected
        assert set(ranked[code].str[:2]) == set(ONCB3)
        top = ranked[code].head(2).tolist()
        assert top == ([SURIN[:4], BURIRAM[:4]] if level == "district" else [SURIN, BURIRAM])
        assert ranked["risk_score"].head(3).tolist() == pytest.approx([30.0, 20.0, 0.0])
        assert ranked["rank"].head(2).tolist() == [1, 2]
    wider = risk.rank_areas(db, level="province", region="isoc-2", as_of=DAY, model=flat_model)
    assert len(wider) == 20
    assert wider["province_code"].head(3).tolist() == ["40", "32", "31"]


def test_a_region_narrows_to_one_of_its_provinces_or_refuses_another(db, flat_model):
    add(db, SURIN, 1)
    add(db, BURIRAM, 2)
    one = risk.rank_areas(db, level="district", region="oncb-3", province="32", as_of=DAY,
                          model=flat_model)
    assert set(one["district_code"].str[:2]) == {"32"}
    with pytest.raises(ValidationError, match="province 40 is not in region oncb-3"):
        risk.rank_areas(db, region="oncb-3", province="40", model=flat_model)
    with pytest.raises(ValidationError, match="unknown region"):
        risk.rank_areas(db, region="atlantis", model=flat_model)


def test_hotspots_over_a_region(db, flat_model):
    add(db, SURIN, 4)
    add(db, BURIRAM, 1)
    spots = risk.hotspots(db, level="district", region="oncb-3", as_of=DAY, model=flat_model,
                          permutations=99, seed=1)
    assert set(spots["district_code"].str[:2]) == set(ONCB3)
    assert {"gi_z", "hotspot_class"} <= set(spots.columns)


def _com(*args, database_url, geodata_dir, tmp_path):
    env = {**os.environ, "COM_DATABASE_URL": database_url, "COM_GEODATA_DIR": str(geodata_dir)}
    return subprocess.run([sys.executable, "-m", "com.cli", *args], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=180)


def test_cli_regions_list_and_rank_region(engine, database_url, geodata_dir, tmp_path):
    done = _com("regions", "list", database_url=database_url, geodata_dir=geodata_dir,
                tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    listed = {r["key"]: r for r in json.loads(done.stdout)}
    assert listed["isoc-4"]["name_th"] == "กอ.รมน. ภาค 4"
    assert listed["oncb-bkk"]["provinces"] == [
        {"code": "10", "name_th": "กรุงเทพมหานคร", "name_en": "Bangkok"}]
    ranked = _com("rank", "--level", "province", "--region", "isoc-4", database_url=database_url,
                  geodata_dir=geodata_dir, tmp_path=tmp_path)
    assert ranked.returncode == 0, ranked.stderr
    assert json.loads(ranked.stdout)["areas"] == 14
    bad = _com("rank", "--region", "nowhere", database_url=database_url,
               geodata_dir=geodata_dir, tmp_path=tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: ไม่รู้จักภาค 'nowhere' / unknown region 'nowhere'")


def test_export_of_a_region_and_a_region_limited_principal(db):
    from com.errors import PermissionDenied
    from com.ingest import export_risk_points
    from com.security.access import Principal

    add(db, SURIN, 1)
    add(db, BURIRAM, 1)
    add(db, KHONKAEN, 1)
    out = io.StringIO()
    assert export_risk_points(db, out, fmt="csv", region="oncb-3") == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert sorted(r["province_code"] for r in rows) == ["31", "32"]
    limited = Principal(kind="api_key", name="key:x", region="oncb-3",
                        region_provinces=frozenset(ONCB3))
    out = io.StringIO()
    assert export_risk_points(db, out, fmt="csv", principal=limited) == 2  # its own region
    with pytest.raises(PermissionDenied, match="region oncb-3"):
        export_risk_points(db, io.StringIO(), fmt="csv", principal=limited, province_code="40")
    with pytest.raises(PermissionDenied):
        export_risk_points(db, io.StringIO(), fmt="csv", principal=limited, region="isoc-2")
    # A region no longer configured fails closed: the principal sees nothing.
    gone = Principal(kind="api_key", name="key:y", region="removed-region")
    assert gone.allowed_provinces == frozenset()
    with pytest.raises(PermissionDenied):
        gone.require_province("32")


def test_region_kpi_sums_the_provinces_by_hand(db, flat_model):
    # FY 2567 (previous) and FY 2568 (this year) incidents in each province's target area.
    for code, before, now in ((SURIN, 8, 6), (BURIRAM, 4, 1)):
        add_counts(db, code, before, dt.date(2024, 3, 1))
        add_counts(db, code, now, dt.date(2025, 3, 1))
        kpi.declare_targets(db, province=code[:2], fiscal_year_be=2568, principal=CLI,
                            codes=[code], model=flat_model)
    kpi.store_projects(db, pd.DataFrame({"name": ["p"], "fiscal_year_be": [2568],
                                         "area_code": [SURIN]}))
    report = kpi.region_kpi_report(db, region="oncb-3", fiscal_year_be=2568, model=flat_model,
                                   as_of=dt.date(2026, 1, 1))
    assert report["region"]["key"] == "oncb-3"
    by_code = {p["province_code"]: p for p in report["provinces"]}
    assert set(by_code) == set(ONCB3)
    assert "missing" in by_code["30"] and "missing" not in by_code["32"]
    assert by_code["32"]["targets"]["this"]["incidents"] == 6
    totals = report["totals"]
    assert totals["provinces_reporting"] == 2
    assert (totals["incidents"]["previous"], totals["incidents"]["this"]) == (12, 7)
    assert totals["incidents"]["change_pct"] == pytest.approx(round(100 * (7 - 12) / 12, 2))
    assert (totals["target_areas"], totals["target_areas_reached"]) == (2, 1)
    assert totals["share_targets_reached"] == pytest.approx(0.5)
    assert totals["project_coverage_met"] is False  # 50% < 80%
    assert totals["significance"]["p_value"] == pytest.approx(
        binomtest(7, 19, 365 / (365 + 366)).pvalue)


def add_counts(conn, code, incidents, day):
    conn.execute(sa.text(
        "INSERT INTO risk_points (category, severity, incident_count, reported_on, geom,"
        " subdistrict_code, district_code, province_code) SELECT 'drugs', 3, :n, :day,"
        " s.rep_point, s.code, s.district_code, s.province_code FROM subdistricts s"
        " WHERE s.code = :code"), {"n": incidents, "day": day, "code": code})


def test_pages_and_api_accept_a_region(engine, test_settings):
    from fastapi.testclient import TestClient

    from api.main import create_app

    with TestClient(create_app(test_settings)) as c:
        bad = c.get("/", params={"region": "atlantis"})
        assert bad.status_code == 422  # the map's bad-filter page, in Thai and English
        assert "ไม่รู้จักภาค" in bad.text and "unknown region" in bad.text
        page = c.get("/targets", params={"region": "isoc-4", "lang": "en"})
        assert page.status_code == 200
        assert 'name="region" value="isoc-4"' in page.text
        for code in ("800101", "960101"):  # Nakhon Si Thammarat and Narathiwat, one table
            assert code in page.text
        api = c.get("/api/rankings", params={"region": "isoc-4", "level": "province"})
        assert sorted(a["province_code"] for a in api.json()["areas"]) == [
            "80", "81", "82", "83", "84", "85", "86", "90", "91", "92", "93", "94", "95", "96"]
        assert c.get("/api/rankings", params={"region": "x" * 101}).status_code in (400, 422)
