"""Refused requests leave an audit row: denied reads, failed uploads, bad keys, CSRF failures.

One row per actor, client, action and path a minute (later refusals are counted into the next
row), and a failing audit write never turns the 4xx into a 5xx.
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.main import create_app
from com.security import apikeys, users
from com.security.access import CLI

pytestmark = pytest.mark.db


def _last_id(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar()


def _rows(engine, first_id: int, action: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.text("SELECT * FROM audit_log WHERE id > :i AND action = :a ORDER BY id"),
            {"i": first_id, "a": action},
        ).mappings()]


def _prefix(key: str) -> str:
    match = apikeys.KEY_PATTERN.match(key)
    assert match
    return match.group(1)


def test_failed_uploads_are_audited(engine, test_settings, key_factory):
    first = _last_id(engine)
    write = key_factory(scope="write", province_code="32")
    read = key_factory(scope="read", province_code="32")
    with TestClient(create_app(test_settings)) as client:
        no_file = client.post("/api/uploads", headers={"X-API-Key": write},
                              files={"other": ("x.csv", b"a,b\n", "text/csv")})
        read_only = client.post("/api/uploads", headers={"X-API-Key": read},
                                files={"file": ("x.csv", b"a,b\n", "text/csv")})
        not_multipart = client.post("/api/uploads", headers={"X-API-Key": write,
                                                             "Content-Type": "text/csv"},
                                    content=b"a,b\n")
    assert (no_file.status_code, read_only.status_code, not_multipart.status_code) \
        == (422, 403, 415)
    rows = _rows(engine, first, "upload.failed")
    by_status = {r["details"]["status"]: r for r in rows}
    assert set(by_status) == {422, 403, 415}
    assert by_status[422]["actor"] == f"key:{_prefix(write)}"
    assert by_status[403]["actor"] == f"key:{_prefix(read)}"
    assert "file" in by_status[422]["details"]["reason"]
    for row in rows:
        assert row["target"] == "route:POST /api/uploads"
        assert row["client"] and row["details"]["repeats"] == 1


def test_denied_reads_are_audited(engine, test_settings, key_factory):
    first = _last_id(engine)
    surin = key_factory(scope="read", province_code="32")
    closed = test_settings.model_copy(update={"anonymous_access": False})
    with TestClient(create_app(closed)) as client:
        unauthenticated = client.get("/api/rankings", params={"province": "32"})
    with TestClient(create_app(test_settings)) as client:
        other_province = client.get("/api/rankings", params={"province": "10"},
                                    headers={"X-API-Key": surin})
        admin_only = client.get("/api/admin/audit", headers={"X-API-Key": surin})
    assert unauthenticated.status_code == 401
    assert other_province.status_code == 403 and admin_only.status_code in (401, 403)
    unauth = _rows(engine, first, "access.unauthenticated")
    assert [(r["actor"], r["target"]) for r in unauth][:1] == [
        ("anonymous", "route:GET /api/rankings")]
    denied = _rows(engine, first, "access.denied")
    assert ("route:GET /api/rankings", f"key:{_prefix(surin)}", 403) in {
        (r["target"], r["actor"], r["details"]["status"]) for r in denied}
    assert "province" in next(r for r in denied
                              if r["target"] == "route:GET /api/rankings")["details"]["reason"]


def test_revoked_key_use_is_audited_with_the_key(engine, test_settings, key_factory):
    first = _last_id(engine)
    key = key_factory(scope="read", province_code="32")
    with engine.begin() as conn:
        apikeys.revoke_key(conn, key, revoked_by=CLI)
    with TestClient(create_app(test_settings)) as client:
        revoked = client.get("/api/rankings", headers={"X-API-Key": key})
        unknown = client.get("/api/rankings", headers={"X-API-Key": key[:-4] + "abcd"})
        malformed = client.get("/api/rankings", headers={"X-API-Key": "not a key"})
    assert revoked.status_code == unknown.status_code == malformed.status_code == 401
    rows = _rows(engine, first, "apikey.refused")
    reasons = {r["details"]["reason"]: r for r in rows}
    assert reasons["revoked API key"]["actor"] == f"key:{_prefix(key)}"
    assert reasons["revoked API key"]["actor_kind"] == "api_key"
    # A key that does not match a stored one names nobody (a guessed prefix is not an actor).
    assert reasons["unknown API key"]["actor"] == "anonymous"
    assert reasons["malformed API key"]["actor"] == "anonymous"
    assert all(key not in str(r) for r in rows)  # the secret is never written


def test_csrf_failures_are_audited(engine, test_settings):
    first = _last_id(engine)
    name, password = f"c{uuid.uuid4().hex[:10]}", "รหัสผ่านยาวพอ-" + uuid.uuid4().hex[:8]
    with engine.begin() as conn:
        users.create_user(conn, username=name, password=password, role="planner",
                          province_code="32")
    with TestClient(create_app(test_settings), follow_redirects=False) as client:
        client.get("/login")
        forged_login = client.post("/login", data={"username": name, "password": password,
                                                   "csrf_token": "forged"})
        token = client.cookies.get("com_login_csrf")
        ok = client.post("/login", data={"username": name, "password": password,
                                         "csrf_token": token})
        no_header = client.post("/api/targets", json={"province": "32",
                                                      "fiscal_year_be": 2568, "top": 3})
    assert forged_login.status_code == 403 and ok.status_code == 303
    assert no_header.status_code == 403
    rows = _rows(engine, first, "csrf.failed")
    targets = {r["target"]: r for r in rows}
    assert targets["route:POST /api/targets"]["details"]["status"] == 403
    assert targets["route:POST /login"]["actor"] == "anonymous"


def test_a_flood_of_refusals_writes_one_row_with_its_count(engine, test_settings):
    first = _last_id(engine)
    with TestClient(create_app(test_settings)) as client:
        answers = [client.get("/api/rankings", headers={"X-API-Key": "flood"}).status_code
                   for _ in range(25)]
    assert answers == [401] * 25
    assert len(_rows(engine, first, "apikey.refused")) == 1
    from com.security.audit import RefusalLimiter

    limiter = RefusalLimiter(window_s=60)
    key = ("apikey.refused", "anonymous", "anonymous", "10.0.0.1", "/api/rankings", "401")
    assert limiter.admit(key, now=0) == 1
    assert [limiter.admit(key, now=t) for t in (1, 2, 59)] == [None, None, None]
    assert limiter.admit(key, now=61) == 4  # the three counted ones and itself


def test_an_audit_write_that_fails_does_not_turn_a_403_into_a_500(engine, app_role_settings):
    # The app's role may not write the trail at all here: the refusal still answers 401/403.
    with engine.begin() as conn:
        conn.execute(sa.text(f'REVOKE INSERT ON audit_log FROM "{app_role_settings.role}"'))
    try:
        with TestClient(create_app(app_role_settings.settings)) as client:
            denied = client.get("/api/rankings", params={"province": "32", "level": "h3:12"})
            bad_key = client.get("/api/rankings", headers={"X-API-Key": "nope"})
        assert denied.status_code == 403 and bad_key.status_code == 401
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'GRANT INSERT ON audit_log TO "{app_role_settings.role}"'))
