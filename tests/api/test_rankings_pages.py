"""GET /api/rankings a page at a time, its encoded answers kept and revalidated (issue 13)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from dbclean import clean_data_tables
from fastapi.testclient import TestClient
from plannerkit import SIGNED_IN, planner_client

from api import answers
from com.demo import load_demo_data

SURIN = {"province": "32", "as_of": "2025-09-30"}


@pytest.fixture(scope="module")
def demo(engine, test_settings):
    clean_data_tables(engine)
    load_demo_data(engine, test_settings)
    yield engine
    clean_data_tables(engine)


@pytest.fixture(scope="module")
def client(demo, test_settings) -> Iterator[TestClient]:
    with planner_client(test_settings) as c:
        yield c


def test_pages_say_the_total_and_link_the_next(client):
    whole = client.get("/api/rankings", params=SURIN, headers=SIGNED_IN).json()
    assert whole["total"] == whole["count"] == len(whole["areas"]) == 159  # default page
    assert whole["limit"] == answers.DEFAULT_LIMIT and whole["next"] is None
    codes, url, pages = [], "/api/rankings?province=32&as_of=2025-09-30&limit=70", 0
    while url:
        r = client.get(url, headers=SIGNED_IN)
        assert r.status_code == 200
        body = r.json()
        assert body["total"] == 159 and body["offset"] == len(codes)
        codes += [a["subdistrict_code"] for a in body["areas"]]
        url = body["next"]
        if url:
            assert r.headers["link"] == f'<{url}>; rel="next"' and "offset=" in url
        pages += 1
    assert pages == 3 and codes == [a["subdistrict_code"] for a in whole["areas"]]
    geo = client.get("/api/rankings", params={**SURIN, "format": "geojson", "limit": 5,
                                               "offset": 5}, headers=SIGNED_IN).json()
    assert geo["numberMatched"] == 159 and geo["numberReturned"] == 5
    assert geo["links"][0]["rel"] == "next" and "offset=10" in geo["links"][0]["href"]
    assert [f["properties"]["rank"] for f in geo["features"]] == [
        a["rank"] for a in whole["areas"][5:10]]


def test_paging_parameters_are_declared_and_bounded(client):
    spec = client.get("/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"]["/api/rankings"]["get"]["parameters"]}
    assert params["limit"]["schema"]["default"] == answers.DEFAULT_LIMIT
    assert params["limit"]["schema"]["maximum"] == answers.MAX_LIMIT
    assert params["offset"]["schema"]["minimum"] == 0
    assert client.get("/api/rankings", params={"limit": 0}).status_code == 400
    assert client.get("/api/rankings", params={"offset": -1}).status_code == 400


def test_a_repeated_request_is_answered_304_or_from_the_kept_bytes(client):
    first = client.get("/api/rankings", params=SURIN, headers=SIGNED_IN)
    again = client.get("/api/rankings", params=SURIN, headers=SIGNED_IN)
    assert first.status_code == again.status_code == 200
    assert first.headers["content-encoding"] == "gzip"  # httpx asks for gzip
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('-gzip"') and again.headers["etag"] == etag
    assert first.content == again.content
    cached = client.get("/api/rankings", params=SURIN,
                        headers={**SIGNED_IN, "If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""
    plain = client.get("/api/rankings", params=SURIN,
                       headers={**SIGNED_IN, "Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert plain.headers["etag"] == etag.replace("-gzip", "")
    assert plain.json() == first.json()
    # Another analysis date is another answer.
    other = client.get("/api/rankings", params={**SURIN, "as_of": "2025-06-30"},
                       headers={**SIGNED_IN, "If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag


def test_callers_with_different_rights_never_share_an_answer(client):
    signed = client.get("/api/rankings", params=SURIN, headers=SIGNED_IN)  # kept first
    public = client.get("/api/rankings", params=SURIN)
    assert signed.headers["etag"] != public.headers["etag"]
    assert signed.headers["cache-control"].startswith("private")
    assert public.headers["cache-control"].startswith("public")
    hidden = [a for a in public.json()["areas"] if a.get("suppressed")]
    assert hidden and all(a["points"] is None for a in hidden)  # small areas hidden
    shown = {a["subdistrict_code"]: a for a in signed.json()["areas"]}
    assert all(shown[a["subdistrict_code"]]["points"] >= 1 for a in hidden)
    assert not any(a.get("suppressed") for a in signed.json()["areas"])
    # The public caller presenting the signed-in caller's ETag gets its own answer.
    replay = client.get("/api/rankings", params=SURIN,
                        headers={"If-None-Match": signed.headers["etag"]})
    assert replay.status_code == 200 and replay.json() == public.json()


def test_a_new_point_changes_the_answer_and_its_etag(client, demo):
    before = client.get("/api/rankings", params=SURIN, headers=SIGNED_IN)
    total_before = sum(a["points"] for a in before.json()["areas"])
    with demo.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO risk_points (category, severity, reported_on, geom, subdistrict_code, "
            "district_code, province_code) SELECT 'drugs', 5, DATE '2025-09-01', rep_point, "
            "code, district_code, province_code FROM subdistricts WHERE code = '320101'"))
    after = client.get("/api/rankings", params=SURIN,
                       headers={**SIGNED_IN, "If-None-Match": before.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert sum(a["points"] for a in after.json()["areas"]) == total_before + 1


def test_the_kept_gzip_is_the_json():
    cache = answers.AnswerCache(entries=2, max_bytes=10_000)
    encoded = answers.Encoded(b'{"a": 1}', gzip.compress(b'{"a": 1}'), "application/json",
                              '"x"')
    for key in ("a", "b", "c"):
        cache.put(key, encoded)
    assert cache.get("a") is None and cache.get("c") is encoded  # least recently used left
    assert gzip.decompress(encoded.gzipped) == encoded.body
