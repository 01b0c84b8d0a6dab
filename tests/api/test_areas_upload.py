"""Villages and custom area layers through POST /api/uploads (kind=areas): the CLI's rules,
the uploader's provinces, retries that store nothing twice, and the audit row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.main import create_app
from com.security.access import Principal

pytestmark = pytest.mark.db

WHO = {
    "admin": Principal(kind="user", name="areas-admin", role="admin"),
    "staff32": Principal(kind="user", name="areas-staff32", role="staff", province_code="32"),
}


@pytest.fixture(scope="module")
def places(engine) -> list[tuple[str, float, float]]:
    """Two Surin subdistricts and one of Buriram: (code, lon, lat) of a point inside each."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "(SELECT code, ST_X(rep_point), ST_Y(rep_point) FROM subdistricts "
            " WHERE province_code = '32' ORDER BY code LIMIT 2) UNION ALL "
            "(SELECT code, ST_X(rep_point), ST_Y(rep_point) FROM subdistricts "
            " WHERE province_code = '31' ORDER BY code LIMIT 1)")).all()
    return [(str(c), float(x), float(y)) for c, x, y in rows]


@pytest.fixture(scope="module")
def client(engine, test_settings) -> Iterator[TestClient]:
    app = create_app(test_settings)
    app.state.principal_resolvers.insert(
        0, lambda request: WHO.get(request.headers.get("x-as", "")))
    with TestClient(app) as c:
        yield c
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM area_features WHERE source_file = 'หมู่บ้าน.csv' "
                             "OR layer = 'api_zones'"))


def village_csv(places: list[tuple[str, float, float]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["รหัสหมู่บ้าน", "ชื่อหมู่บ้าน", "ละติจูด", "ลองจิจูด", "สถานะแผน"])
    for i, (code, lon, lat) in enumerate(places):
        writer.writerow([f"{code}9{i}", f"บ้านทดสอบ {i}", lat, lon, "วางแผน"])
    return out.getvalue().encode("utf-8-sig")


def post(client: TestClient, who: str, data: bytes, layer: str = "villages",
         name: str = "หมู่บ้าน.csv"):
    return client.post("/api/uploads", headers={"x-as": who},
                       data={"kind": "areas", "layer": layer},
                       files={"file": (name, data, "text/csv")})


def stored_codes(engine, codes: list[str]) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT code FROM area_features WHERE layer = 'villages' AND code = ANY(:c) "
            "ORDER BY code"), {"c": codes}).scalars())


def test_villages_upload_like_the_cli_and_a_retry_stores_nothing_twice(client, engine, places):
    data = village_csv(places)
    codes = [f"{code}9{i}" for i, (code, _, _) in enumerate(places)]
    first = post(client, "admin", data)
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["layer"], body["rows"], body["stored"], body["rejected"]) == ("villages", 3, 3, 0)
    assert [r["subdistrict_code"] for r in body["row_reports"]] == [p[0] for p in places]
    again = post(client, "admin", data)
    assert again.status_code == 201 and again.json()["stored"] == 3
    assert stored_codes(engine, codes) == sorted(codes)  # upserted by code: once each
    with engine.connect() as conn:
        audited = conn.execute(sa.text(
            "SELECT count(*) FROM audit_log WHERE action = 'areas.import' "
            "AND actor = 'areas-admin' AND target = 'area_layer:villages'")).scalar_one()
    assert audited == 2


def test_province_staff_change_only_their_provinces_villages(client, places):
    body = post(client, "staff32", village_csv(places)).json()
    assert (body["stored"], body["rejected"]) == (2, 1)
    rejected = next(r for r in body["row_reports"] if r["status"] == "rejected")
    assert rejected["row"] == 3  # the Buriram village, the third data row
    assert "province 31" in rejected["reason_en"] and "(32)" in rejected["reason_en"]
    assert "จังหวัด 31" in rejected["reason_th"]


def test_custom_layers_need_an_unrestricted_uploader(client, places):
    zones = ("code,name,wkt\nZ1,เขตหนึ่ง,\"POLYGON((103.4 14.8,103.5 14.8,103.5 14.9,"
             "103.4 14.9,103.4 14.8))\"\n").encode()
    assert post(client, "staff32", zones, layer="api_zones", name="zones.csv").status_code == 403
    done = post(client, "admin", zones, layer="api_zones", name="zones.csv")
    assert done.status_code == 201 and done.json()["stored"] == 1
    bad = post(client, "admin", zones, layer="no spaces allowed", name="zones.csv")
    assert bad.status_code in (400, 422) and "layer name" in bad.text
