"""Public (anonymous) outputs hide the figures of areas with fewer than k risk points."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.main import create_app

pytestmark = pytest.mark.db

SMALL, LARGE = "320605", "320101"  # 2 points and 6 points; k = 5


@pytest.fixture
def seeded(clean_engine):
    with clean_engine.begin() as conn:
        for code, n in ((SMALL, 2), (LARGE, 6)):
            conn.execute(
                sa.text(
                    "INSERT INTO risk_points (name, category, severity, reported_on, geom, "
                    "subdistrict_code, district_code, province_code) "
                    "SELECT 'บ้าน ' || g, 'other_crime', 4, DATE '2024-05-01', "
                    "ST_Translate(s.rep_point, g * 0.0003, 0), s.code, s.district_code, "
                    "s.province_code FROM subdistricts s, generate_series(1, :n) g "
                    "WHERE s.code = :code"
                ),
                {"code": code, "n": n},
            )
    return clean_engine


def _by_code(areas: list[dict]) -> dict[str, dict]:
    return {a["subdistrict_code"]: a for a in areas}


def test_rankings_suppress_small_areas_for_anonymous_only(seeded, test_settings, key_factory):
    key = key_factory(scope="read", province_code=None)
    with TestClient(create_app(test_settings)) as client:
        public = client.get("/api/rankings", params={"province": "32"})
        private = client.get("/api/rankings", params={"province": "32"},
                             headers={"X-API-Key": key})
        explain_small = client.get(f"/api/rankings/{SMALL}")
        explain_large = client.get(f"/api/rankings/{LARGE}")
        hot = client.get("/api/hotspots", params={"province": "32", "permutations": 0})
    assert public.status_code == 200 and private.status_code == 200
    anon = _by_code(public.json()["areas"])
    assert anon[SMALL]["suppressed"] is True
    assert anon[SMALL]["points"] is None and anon[SMALL]["risk_score"] is None
    assert anon[SMALL]["rank"] is None and anon[SMALL]["name_th"]  # still drawn, no figures
    assert anon[LARGE]["suppressed"] is False and anon[LARGE]["points"] == 6
    signed = _by_code(private.json()["areas"])
    assert signed[SMALL]["points"] == 2 and signed[SMALL]["risk_score"] > 0
    assert "suppressed" not in signed[SMALL]
    assert explain_small.status_code == 200
    assert explain_small.json() == {"level": "subdistrict", "code": SMALL,
                                    "name_th": explain_small.json()["name_th"],
                                    "name_en": explain_small.json()["name_en"],
                                    "suppressed": True}
    assert explain_large.status_code == 200 and explain_large.json()["points"] == 6
    assert hot.status_code == 200
    assert _by_code(hot.json()["areas"])[SMALL]["suppressed"] is True


def test_ogc_subdistricts_suppress_small_areas_for_anonymous(seeded, test_settings, key_factory):
    key = key_factory(scope="read", province_code=None)
    params = {"province": "32", "limit": 1000}
    with TestClient(create_app(test_settings)) as client:
        public = client.get("/ogc/collections/subdistricts/items", params=params)
        private = client.get("/ogc/collections/subdistricts/items", params=params,
                             headers={"X-API-Key": key})
    assert public.status_code == 200, public.text
    anon = {f["properties"]["code"] if "code" in f["properties"] else f["id"]: f["properties"]
            for f in public.json()["features"]}
    signed = {f["properties"]["code"] if "code" in f["properties"] else f["id"]: f["properties"]
              for f in private.json()["features"]}
    assert signed[SMALL]["points"] == 2 and signed[SMALL]["rank"] is not None
    assert anon[SMALL]["points"] is None and anon[SMALL]["rank"] is None
    assert anon[SMALL]["risk_score"] is None
    assert anon[LARGE]["points"] == 6 and anon[LARGE]["rank"] is not None
