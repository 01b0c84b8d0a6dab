"""API keys (issue 7): hashed and shown once, read/write scope, province restriction,
revocation, anonymous access switch, CORS, and the audit trail of key use and writes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from ogc_data import BURIRAM, SURIN, standard_dataset
from sqlalchemy.engine import Engine

from api.main import create_app
from com.config.settings import Settings
from com.errors import NotFoundError, ValidationError
from com.security.access import CLI
from com.security.apikeys import authenticate, create_key, list_keys, revoke_key

pytestmark = pytest.mark.db
REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO.parent / "shared" / "samples" / "uploads" / "surin_risk_points.csv"


@pytest.fixture(scope="module")
def dataset(engine: Engine) -> dict[str, Any]:
    return standard_dataset(engine)


@pytest.fixture(scope="module")
def client(dataset: dict[str, Any], test_settings: Settings) -> Iterator[TestClient]:
    # k = 1 turns the small-area suppression of public layers off for these tests; it has
    # its own test (test_ogc.py::test_public_layers_hide_small_areas).
    with TestClient(create_app(test_settings.model_copy(update={"small_area_k": 1}))) as c:
        yield c


def cli(test_settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COM_DATABASE_URL": test_settings.database_url,
           "COM_ENVIRONMENT": "test", "COM_SECRET_KEY": test_settings.secret_key,
           "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "com.cli", *args], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=120)


def new_key(engine: Engine, **kwargs: Any) -> str:
    with engine.begin() as conn:
        return create_key(conn, name=kwargs.pop("name", "test key"), created_by=CLI,
                          **kwargs).key


def audit_rows(engine: Engine, action: str) -> list[Any]:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT * FROM audit_log WHERE action = :a ORDER BY id"), {"a": action}).all()


def test_cli_creates_key_shown_once_and_stored_hashed(
    dataset: dict[str, Any], engine: Engine, test_settings: Settings, client: TestClient
) -> None:
    created = cli(test_settings, "apikeys", "create", "QGIS at the provincial office",
                  "--scope", "read", "--province", "32")
    assert created.returncode == 0, created.stderr
    info = json.loads(created.stdout)
    key = info["key"]
    assert key.startswith("com_" + info["prefix"] + "_") and len(key) > 50
    assert "shown only once" in created.stderr
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM api_keys WHERE prefix = :p"),
                           {"p": info["prefix"]}).mappings().one()
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in json.dumps(dict(row), default=str)
    assert row["scopes"] == ["read"] and row["province_code"] == SURIN
    listed = cli(test_settings, "apikeys", "list")
    assert listed.returncode == 0 and key not in listed.stdout
    assert info["prefix"] in listed.stdout
    # The key works, then stops working once revoked through the CLI.
    assert client.get("/ogc/collections", headers={"X-API-Key": key}).status_code == 200
    revoked = cli(test_settings, "apikeys", "revoke", info["prefix"])
    assert revoked.returncode == 0 and json.loads(revoked.stdout)["active"] is False
    r = client.get("/ogc/collections", headers={"X-API-Key": key})
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    bad = cli(test_settings, "apikeys", "create", "x", "--scope", "admin")
    assert bad.returncode != 0 and bad.stderr.strip().splitlines()[-1].startswith("error:")
    assert cli(test_settings, "apikeys", "revoke", "nope").returncode != 0


def test_library_checks(dataset: dict[str, Any], engine: Engine) -> None:
    with engine.begin() as conn:
        with pytest.raises(ValidationError):
            create_key(conn, name=" ", created_by=CLI)
        with pytest.raises(ValidationError):
            create_key(conn, name="x", province_code="99", created_by=CLI)
        with pytest.raises(NotFoundError):
            revoke_key(conn, "ffffffff", revoked_by=CLI)
        created = create_key(conn, name="lib", scope="write", sensitive=True, created_by=CLI)
        principal = authenticate(conn, created.key)
        assert principal is not None and principal.can_write() and principal.sees_sensitive
        assert authenticate(conn, created.key[:-1] + "x") is None
        assert authenticate(conn, "com_00000000_" + "a" * 43) is None
        revoke_key(conn, created.info.id, revoked_by=CLI)
        assert authenticate(conn, created.key) is None
        assert all(k.revoked_at for k in list_keys(conn) if k.id == created.info.id)


def test_header_bearer_and_key_use_audit(
    dataset: dict[str, Any], engine: Engine, client: TestClient
) -> None:
    key = new_key(engine, name="dashboard")
    prefix = key.split("_")[1]
    before = len(audit_rows(engine, "apikey.use"))
    assert client.get("/ogc/collections/risk-points/items?limit=1",
                      headers={"X-API-Key": key}).status_code == 200
    assert client.get("/ogc/collections/risk-points/items?limit=1",
                      headers={"Authorization": f"Bearer {key}"}).status_code == 200
    rows = audit_rows(engine, "apikey.use")[before:]
    assert len(rows) == 2
    assert {r.actor for r in rows} == {f"key:{prefix}"}
    assert {r.actor_kind for r in rows} == {"api_key"}
    assert rows[0].target == "route:GET /ogc/collections/risk-points/items"
    assert rows[0].details["query"] == "limit=1" and rows[0].client
    with engine.connect() as conn:
        used = conn.execute(sa.text("SELECT last_used_at FROM api_keys WHERE prefix = :p"),
                            {"p": prefix}).scalar_one()
    assert used is not None


@pytest.mark.parametrize(
    "headers",
    [
        {"X-API-Key": "com_12345678_" + "A" * 43},  # well-formed, unknown
        {"X-API-Key": "not-a-key"},
        {"Authorization": "Bearer com_deadbeef_short"},
    ],
)
def test_unknown_or_malformed_keys_are_401(client: TestClient, headers: dict[str, str]) -> None:
    for url in ("/ogc/collections", "/tiles/risk-points/10/800/480.pbf",
                "/api/exports/districts.csv"):
        r = client.get(url, headers=headers)
        assert r.status_code == 401, url
        assert r.headers["content-type"] == "application/problem+json"


def test_anonymous_access_can_be_turned_off(
    dataset: dict[str, Any], engine: Engine, test_settings: Settings
) -> None:
    closed = test_settings.model_copy(update={"anonymous_access": False})
    key = new_key(engine)
    with TestClient(create_app(closed)) as c:
        for url in ("/ogc/collections", "/ogc/collections/risk-points/items",
                    "/tiles/risk-points/6/50/29.pbf", "/api/exports/risk-points.csv"):
            r = c.get(url)
            assert r.status_code == 401, url
            assert r.headers["content-type"] == "application/problem+json"
            assert c.get(url, headers={"X-API-Key": key}).status_code == 200, url


def test_read_key_cannot_upload_write_key_can(
    dataset: dict[str, Any], engine: Engine, client: TestClient
) -> None:
    read_key = new_key(engine, name="reader")
    write_key = new_key(engine, name="uploader", scope="write", province_code=SURIN)
    files = {"file": ("surin_risk_points.csv", SAMPLE.read_bytes(), "text/csv")}
    anonymous = client.post("/api/uploads", files=files, data={"province": SURIN})
    assert anonymous.status_code == 401
    refused = client.post("/api/uploads", files=files, data={"province": SURIN},
                          headers={"X-API-Key": read_key})
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    before = len(audit_rows(engine, "upload.create"))
    accepted = client.post("/api/uploads", files=files, data={"province": SURIN},
                           headers={"X-API-Key": write_key})
    assert accepted.status_code in (200, 201), accepted.text
    writes = audit_rows(engine, "upload.create")[before:]
    assert len(writes) == 1 and writes[0].actor == f"key:{write_key.split('_')[1]}"
    uses = [r for r in audit_rows(engine, "apikey.use")
            if r.target == "route:POST /api/uploads"]
    assert len(uses) == 2  # the refused read key and the accepted write key


def test_province_key_sees_only_its_province(
    dataset: dict[str, Any], engine: Engine, client: TestClient
) -> None:
    key = new_key(engine, name="Buriram office", province_code=BURIRAM)
    headers = {"X-API-Key": key}
    buriram = sorted(p["id"] for p in dataset["points"] if p["province_code"] == BURIRAM)
    doc = client.get("/ogc/collections/risk-points/items?limit=1000", headers=headers).json()
    assert [f["id"] for f in doc["features"]] == buriram and doc["numberMatched"] == 10
    # Asking for the other province explicitly still returns nothing of it.
    doc = client.get(f"/ogc/collections/risk-points/items?province={SURIN}",
                     headers=headers).json()
    assert doc["features"] == [] and doc["numberMatched"] == 0
    surin_id = next(p["id"] for p in dataset["points"] if p["province_code"] == SURIN)
    assert client.get(f"/ogc/collections/risk-points/items/{surin_id}",
                      headers=headers).status_code == 404
    assert client.get(f"/ogc/collections/risk-points/items/{buriram[0]}",
                      headers=headers).status_code == 200
    rows = list(csv.DictReader(io.StringIO(client.get(
        "/api/exports/risk-points.csv", headers=headers).content.decode("utf-8-sig"))))
    assert sorted(int(r["id"]) for r in rows) == buriram
    areas = client.get("/ogc/collections/subdistricts/items?limit=1000", headers=headers).json()
    assert areas["numberMatched"] > 0
    assert {f["properties"]["province_code"] for f in areas["features"]} == {BURIRAM}
    meta = client.get("/ogc/collections/risk-points", headers=headers).json()
    west, south, east, north = meta["extent"]["spatial"]["bbox"][0]
    lons = [p["lon"] for p in dataset["points"] if p["province_code"] == BURIRAM
            and p["category"] != "drugs"]
    assert west <= min(lons) and east >= max(lons)
    surin_lons = [p["lon"] for p in dataset["points"] if p["province_code"] == SURIN]
    assert east < max(surin_lons)
    exports = audit_rows(engine, "export.csv")
    assert exports[-1].details["province_restriction"] == BURIRAM


def test_cors_configurable(dataset: dict[str, Any], test_settings: Settings) -> None:
    with TestClient(create_app(test_settings)) as c:
        r = c.get("/ogc", headers={"Origin": "https://dash.example.go.th"})
        assert "access-control-allow-origin" not in r.headers
    settings = test_settings.model_copy(update={"cors_origins": ["https://dash.example.go.th"]})
    with TestClient(create_app(settings)) as c:
        r = c.options("/ogc/collections/risk-points/items", headers={
            "Origin": "https://dash.example.go.th", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-API-Key"})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://dash.example.go.th"
        assert "x-api-key" in r.headers["access-control-allow-headers"].lower()
        r = c.get("/ogc", headers={"Origin": "https://dash.example.go.th"})
        assert r.headers["access-control-allow-origin"] == "https://dash.example.go.th"
        r = c.get("/ogc", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers
