"""Public (anonymous) outputs hide the figures of areas with fewer than k risk points."""

from __future__ import annotations

import datetime as dt
import random

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


#: Subdistricts of Surin seeded for the consistency tests: code -> [(category, n, date), ...].
#: MIXED has 6 points in all (shown) but only 2 of drugs: a per-filter rule hid it for
#: ?category=drugs while a client filtering the unfiltered points itself still saw them.
MIXED, TINY, BUSY = "320102", "320103", "320104"
SPREAD = {
    LARGE: [("other_crime", 6, "2024-05-01")],
    SMALL: [("other_crime", 2, "2024-05-01")],
    MIXED: [("drugs", 2, "2024-02-10"), ("other_crime", 4, "2024-07-20")],
    TINY: [("drugs", 1, "2024-03-05"), ("smuggling", 3, "2024-08-01")],
    BUSY: [("drugs", 5, "2024-01-15"), ("smuggling", 3, "2024-06-01"),
           ("other_crime", 4, "2024-09-09")],
}


@pytest.fixture
def spread(clean_engine):
    with clean_engine.begin() as conn:
        offset = 0
        for code, groups in SPREAD.items():
            for category, n, day in groups:
                conn.execute(
                    sa.text(
                        "INSERT INTO risk_points (name, category, severity, reported_on, geom, "
                        "subdistrict_code, district_code, province_code) "
                        "SELECT 'จุด ' || g, :category, 3, CAST(:day AS date), "
                        "ST_Translate(s.rep_point, (g + :offset) * 0.0002, 0), s.code, "
                        "s.district_code, s.province_code "
                        "FROM subdistricts s, generate_series(1, :n) g WHERE s.code = :code"
                    ),
                    {"code": code, "n": n, "category": category, "day": day, "offset": offset},
                )
                offset += n
    return clean_engine


def _ranks_are_gapless(areas: list[dict]) -> None:
    shown = [a for a in areas if not a["suppressed"]]
    hidden = [a for a in areas if a["suppressed"]]
    assert areas == shown + hidden  # hidden areas come last
    assert all(a["rank"] is None and a["risk_score"] is None for a in hidden)
    ranks = [a["rank"] for a in shown]
    assert ranks[0] == 1 and ranks == sorted(ranks)
    # Competition ranking without gaps: each rank is 1 + the number of areas scoring more.
    for area in shown:
        assert area["rank"] == 1 + sum(b["risk_score"] > area["risk_score"] for b in shown)
    codes = [a["subdistrict_code"] for a in hidden]
    assert codes == sorted(codes)  # a stable order not derived from the hidden figures


def test_anonymous_ranking_renumbers_shown_areas_and_ranks_no_hidden_area(spread, test_settings):
    with TestClient(create_app(test_settings)) as client:
        public = client.get("/api/rankings", params={"province": "32"})
        hot = client.get("/api/hotspots", params={"province": "32", "permutations": 0})
        export = client.get("/api/exports/rankings.geojson", params={"province": "32"})
        top = client.get("/api/rankings", params={"province": "32", "limit": 3})
        explain = client.get(f"/api/rankings/{MIXED}")
    assert public.status_code == 200, public.text
    areas = public.json()["areas"]
    _ranks_are_gapless(areas)
    by_code = _by_code(areas)
    assert {c for c, a in by_code.items() if a["suppressed"]} == {SMALL, TINY}
    assert sorted(a["rank"] for a in areas if a["subdistrict_code"] in (BUSY, LARGE, MIXED)) \
        == [1, 2, 3]
    assert hot.status_code == 200
    _ranks_are_gapless(hot.json()["areas"])
    assert top.json()["areas"] == areas[:3]
    exported = [f["properties"] for f in export.json()["features"]]
    assert [a["rank"] for a in exported] == [a["rank"] for a in areas]
    assert explain.json()["rank"] == by_code[MIXED]["rank"]
    assert explain.json()["extent_areas"] == len(areas) - 2


def _visible(client: TestClient, params: dict) -> dict[int, dict]:
    response = client.get("/ogc/collections/risk-points/items",
                          params={"limit": 10000, **params})
    assert response.status_code == 200, response.text
    return {f["id"]: f["properties"] for f in response.json()["features"]}


def test_server_filters_equal_client_filters_of_the_public_points(spread, test_settings):
    """For random filters, the server's public selection is the client's own filtering."""
    categories = ["drugs", "smuggling", "other_crime"]
    rng = random.Random(8)
    with TestClient(create_app(test_settings)) as client:
        everything = _visible(client, {})
        hidden_rank = {a["subdistrict_code"] for a in client.get(
            "/api/rankings", params={"province": "32"}).json()["areas"] if a["suppressed"]}
        assert len(everything) == 6 + 6 + 12  # LARGE, MIXED, BUSY; SMALL and TINY hidden
        for _ in range(12):
            chosen = rng.sample(categories, rng.randint(1, 2))
            start = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 200))
            end = start + dt.timedelta(days=rng.randint(0, 200))
            params = {"category": ",".join(chosen), "datetime": f"{start}/{end}"}
            served = _visible(client, params)
            expected = {
                i for i, p in everything.items()
                if p["category"] in chosen and start <= dt.date.fromisoformat(
                    p["reported_on"]) <= end
            }
            assert set(served) == expected, params
            cql = _visible(client, {"filter": f"category = '{chosen[0]}'"})
            assert set(cql) == {i for i, p in everything.items()
                                if p["category"] == chosen[0]}
            ranking = client.get("/api/rankings", params={
                "province": "32", "category": chosen, "from": str(start), "to": str(end)})
            hidden = {a["subdistrict_code"] for a in ranking.json()["areas"] if a["suppressed"]}
            assert hidden == hidden_rank == {SMALL, TINY}, params
            areas = client.get("/ogc/collections/subdistricts/items",
                               params={"province": "32", "limit": 1000}).json()["features"]
            blank = {f["id"] for f in areas if f["properties"]["points"] is None
                     and f["properties"].get("rank") is None}
            assert {SMALL, TINY} <= blank
