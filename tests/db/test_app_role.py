"""The app connects as a role that may append to the audit trail but never change or empty it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.main import create_app
from com.db.engine import make_engine
from com.errors import ValidationError
from com.security.access import CLI
from com.security.apikeys import create_key

pytestmark = pytest.mark.db

CSV = (
    "ชื่อจุดเสี่ยง,ประเภทปัญหา,ระดับความรุนแรง,ละติจูด,ลองจิจูด,วันที่รายงาน\n"
    "ตลาดเช้า,ลักทรัพย์,3,14.701,103.705,2024-06-02\n"
    "บ้านนายสมชาย,ยาเสพติด,5,14.882,103.493,2024-06-01\n"
)


def _refused(conn, statement: str) -> str:
    """Run ``statement`` in a savepoint and return the SQLSTATE it was refused with."""
    savepoint = conn.begin_nested()
    try:
        conn.execute(sa.text(statement))
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        return exc.orig.sqlstate
    savepoint.rollback()
    return "not refused"


def test_app_role_appends_to_the_audit_log_but_cannot_change_or_empty_it(app_role_settings):
    engine = make_engine(app_role_settings.settings)
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            assert conn.execute(sa.text("SELECT current_user")).scalar() == app_role_settings.role
            conn.execute(sa.text(
                "INSERT INTO audit_log (actor, actor_kind, action) "
                "VALUES ('test', 'cli', 'role.test')"))
            assert conn.execute(sa.text(
                "SELECT count(*) FROM audit_log WHERE action = 'role.test'")).scalar() == 1
            # 42501 insufficient_privilege: refused by the grants, not only by the trigger.
            assert _refused(conn, "TRUNCATE audit_log") == "42501"
            assert _refused(conn, "UPDATE audit_log SET actor = 'x'") == "42501"
            assert _refused(conn, "DELETE FROM audit_log") == "42501"
            assert _refused(conn, "DROP TABLE audit_log") == "42501"
            assert _refused(conn, "ALTER TABLE risk_points ADD COLUMN x int") == "42501"
            assert _refused(conn, "TRUNCATE risk_points") == "42501"
            assert _refused(conn, "DELETE FROM alembic_version") == "42501"
            assert _refused(conn, "SELECT count(*) FROM risk_points") == "not refused"
            transaction.rollback()
    finally:
        engine.dispose()


def test_the_app_works_as_the_app_role(app_role_settings, clean_engine):
    with clean_engine.begin() as conn:
        key = create_key(conn, name="role test", scope="write", province_code="32",
                         created_by=CLI).key
    with TestClient(create_app(app_role_settings.settings)) as client:
        upload = client.post("/api/uploads", headers={"X-API-Key": key},
                             files={"file": ("points.csv", CSV.encode(), "text/csv")},
                             data={"province": "32"})
        assert upload.status_code == 201, upload.text
        assert upload.json()["stored"] == 2, upload.json()
        ranking = client.get("/api/rankings", params={"province": "32"},
                             headers={"X-API-Key": key})
        assert ranking.status_code == 200
        assert sum(a["points"] for a in ranking.json()["areas"]) == 2
        items = client.get("/ogc/collections/risk-points/items", headers={"X-API-Key": key})
        assert items.status_code == 200 and len(items.json()["features"]) == 2
        denied = client.get("/api/rankings", params={"province": "10"},
                            headers={"X-API-Key": key})
        assert denied.status_code == 403
    with clean_engine.connect() as conn:
        actions = set(conn.execute(sa.text("SELECT action FROM audit_log")).scalars())
    assert {"upload.create", "apikey.use", "access.denied"} <= actions


def test_grant_is_repeatable_and_refuses_odd_names(engine):
    from com.db.roles import grant_app_role

    role = f"com_nologin_{os.getpid()}"
    try:
        with engine.begin() as conn:
            first = grant_app_role(conn, role)
            again = grant_app_role(conn, role)
            assert first == again and first["append_only"] == ["audit_log"]
            assert "risk_points" in first["tables"]
            assert conn.execute(sa.text(
                "SELECT rolcanlogin FROM pg_roles WHERE rolname = :r"), {"r": role}
            ).scalar() is False
            rights = set(conn.execute(sa.text(
                "SELECT privilege_type FROM information_schema.role_table_grants "
                "WHERE grantee = :r AND table_name = 'audit_log'"), {"r": role}).scalars())
            assert rights == {"SELECT", "INSERT"}
            for name in ('com_app"; DROP TABLE x; --', "Com", "postgres"):
                with pytest.raises(ValidationError):
                    grant_app_role(conn, name)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))


def test_cli_grants_the_role_as_the_migration_url(engine, test_settings, tmp_path):
    role = f"com_cli_{os.getpid()}"
    env = {**os.environ, "COM_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
           "COM_MIGRATION_DATABASE_URL": test_settings.database_url}
    try:
        out = subprocess.run(
            [sys.executable, "-m", "com.cli", "db", "grant-app-role", role, "--login"],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
        )
        assert out.returncode == 0, out.stderr
        current = subprocess.run(
            [sys.executable, "-m", "com.cli", "db", "current"],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
        )
        assert current.returncode == 0, current.stderr
        with engine.connect() as conn:
            assert conn.execute(sa.text(
                "SELECT rolcanlogin FROM pg_roles WHERE rolname = :r"), {"r": role}
            ).scalar() is True
    finally:
        with engine.begin() as conn:
            if conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"),
                            {"r": role}).first():
                conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
                conn.execute(sa.text(f'DROP ROLE "{role}"'))
