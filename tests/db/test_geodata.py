"""Boundary loading, reverse geocoding and migrations against a real PostGIS."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from com.db.engine import make_engine
from com.db.migrate import current_revision, downgrade, upgrade
from com.errors import GeodataError
from com.geodata import boundary_counts, load_geodata, read_boundaries, where


def test_counts_match_the_reference_files(engine):
    with engine.connect() as conn:
        counts = boundary_counts(conn)
        assert counts["provinces"] == 77
        assert counts["districts"] == 928
        assert counts["subdistricts"] == 7425
        surin = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM districts WHERE province_code = '32'),"
                "       (SELECT count(*) FROM subdistricts WHERE province_code = '32')"
            )
        ).one()
    assert tuple(surin) == (17, 159)


def test_codes_have_no_prefix_and_names_in_both_languages(engine):
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT code, name_th, name_en, district_code FROM subdistricts WHERE code='320605'"
            )
        ).one()
        bad = conn.execute(
            sa.text("SELECT count(*) FROM subdistricts WHERE code !~ '^[0-9]{6}$'")
        ).scalar_one()
        outside = conn.execute(
            sa.text("SELECT count(*) FROM subdistricts WHERE NOT ST_Intersects(geom, rep_point)")
        ).scalar_one()
    assert tuple(row) == ("320605", "ด่าน", "Dan", "3206")
    assert bad == 0
    assert outside == 0


def test_reverse_geocode_chong_chom(conn):
    hit = where(conn, lat=14.4086, lon=103.6905)
    assert hit["subdistrict_code"] == "320605"
    assert (hit["district_en"], hit["province_en"]) == ("Kap Choeng", "Surin")
    assert hit["match"] == "inside"


def test_reverse_geocode_nearest_within_1km_and_none_far_away(conn):
    # Chong Chom sits on the border line; 300 m south is Cambodia, outside every subdistrict
    # polygon, but within 1 km of Dan (simplified boundaries leave such slivers).
    def south(metres):
        return conn.execute(
            sa.text(
                "SELECT ST_Y(p) AS lat, ST_X(p) AS lon FROM (SELECT ST_Project("
                "ST_SetSRID(ST_MakePoint(103.6905, 14.4086), 4326)::geography, :m, pi())"
                "::geometry AS p) q"
            ),
            {"m": metres},
        ).one()

    near = south(300)
    hit = where(conn, lat=near.lat, lon=near.lon)
    assert hit["match"] == "nearest"
    assert hit["province_code"] == "32"
    assert 0 < hit["distance_m"] <= 1000
    far = south(5000)
    assert where(conn, lat=far.lat, lon=far.lon)["match"] == "none"
    assert where(conn, lat=10.0, lon=95.0)["match"] == "none"


def test_loading_twice_changes_nothing(engine, geodata_dir):
    with engine.connect() as conn:
        before = boundary_counts(conn)
    report = load_geodata(engine, geodata_dir)
    assert report.counts == before
    assert all(v == 0 for v in report.changed.values()), report.changed


def test_corrupt_file_gives_clear_error_and_leaves_database_unchanged(
    engine, geodata_dir, tmp_path
):
    for f in geodata_dir.iterdir():
        shutil.copy(f, tmp_path / f.name)
    # Truncate the subdistrict file half-way: invalid JSON.
    data = (tmp_path / "tha_adm3.geojson").read_bytes()
    (tmp_path / "tha_adm3.geojson").write_bytes(data[: len(data) // 2])
    with engine.connect() as conn:
        before = boundary_counts(conn)
    with pytest.raises(GeodataError, match="tha_adm3"):
        load_geodata(engine, tmp_path)
    with engine.connect() as conn:
        assert boundary_counts(conn) == before


def test_unknown_parent_code_is_refused(tmp_path, geodata_dir):
    for f in geodata_dir.iterdir():
        shutil.copy(f, tmp_path / f.name)
    districts = json.loads((tmp_path / "tha_adm2.geojson").read_text(encoding="utf-8"))
    districts["features"][0]["properties"]["ADM1_PCODE"] = "TH99"
    (tmp_path / "tha_adm2.geojson").write_text(json.dumps(districts), encoding="utf-8")
    with pytest.raises(GeodataError, match="99"):
        read_boundaries(tmp_path)


def test_failure_during_write_rolls_back_everything(engine, geodata_dir, tmp_path, monkeypatch):
    """A failure after provinces and districts were written leaves nothing half-written."""
    import com.geodata as geodata

    for f in geodata_dir.iterdir():
        shutil.copy(f, tmp_path / f.name)
    provinces = json.loads((tmp_path / "tha_adm1.geojson").read_text(encoding="utf-8"))
    provinces["features"][0]["properties"]["ADM1_EN"] = "Renamed"
    (tmp_path / "tha_adm1.geojson").write_text(json.dumps(provinces), encoding="utf-8")
    real_sql = geodata.sql

    def failing_sql(name):
        if name == "upsert_border_crossing":
            raise RuntimeError("injected failure after the boundary upserts")
        return real_sql(name)

    monkeypatch.setattr(geodata, "sql", failing_sql)
    with pytest.raises(RuntimeError, match="injected"):
        load_geodata(engine, tmp_path)
    with engine.connect() as conn:
        name = conn.execute(sa.text("SELECT name_en FROM provinces WHERE code = '10'")).scalar_one()
    assert name == "Bangkok"


def test_missing_field_is_named(tmp_path, geodata_dir):
    for f in geodata_dir.iterdir():
        shutil.copy(f, tmp_path / f.name)
    text = (tmp_path / "tha_adm1.geojson").read_text(encoding="utf-8").replace("ADM1_TH", "NAME_TH")
    (tmp_path / "tha_adm1.geojson").write_text(text, encoding="utf-8")
    with pytest.raises(GeodataError, match="ADM1_TH"):
        read_boundaries(tmp_path)


def test_zipped_shapefile_and_geopackage_are_read(tmp_path, geodata_dir):
    import geopandas as gpd

    for f in geodata_dir.iterdir():
        if not f.name.startswith("tha_adm1"):
            shutil.copy(f, tmp_path / f.name)
    gpd.read_file(geodata_dir / "tha_adm1.geojson").to_file(tmp_path / "tha_adm1.gpkg")
    assert len(read_boundaries(tmp_path).provinces) == 77
    (tmp_path / "tha_adm1.gpkg").unlink()
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    gpd.read_file(geodata_dir / "tha_adm1.geojson").to_file(
        shp_dir / "tha_adm1.shp", encoding="utf-8"
    )
    shutil.make_archive(str(tmp_path / "tha_adm1.shp"), "zip", shp_dir)
    b = read_boundaries(tmp_path)
    assert len(b.provinces) == 77
    assert "สุรินทร์" in set(b.provinces["name_th"])


def test_upgrade_downgrade_upgrade_on_an_empty_database(database_url, test_settings):
    admin = sa.create_engine(
        sa.engine.make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    name = sa.engine.make_url(database_url).database + "_mig"
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        settings = test_settings.model_copy(
            update={
                "database_url": sa.engine.make_url(database_url)
                .set(database=name)
                .render_as_string(hide_password=False)
            }
        )
        eng = make_engine(settings)
        upgrade(eng)
        head = current_revision(eng)
        assert head is not None
        downgrade(eng, "base")
        with eng.connect() as c:
            left = c.execute(
                sa.text(
                    "SELECT count(*) FROM pg_tables "
                    "WHERE schemaname='public' AND tablename <> 'spatial_ref_sys'"
                )
            ).scalar_one()
        assert left == 1  # only alembic_version
        upgrade(eng)
        assert current_revision(eng) == head
        eng.dispose()
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def test_alembic_command_line_round_trip(database_url, tmp_path):
    """`alembic upgrade head`, `downgrade base`, `upgrade head` as a user would run them."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    admin = sa.create_engine(
        sa.engine.make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    name = sa.engine.make_url(database_url).database + "_cli"
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(database_url).set(database=name).render_as_string(hide_password=False)
    alembic = [sys.executable, "-m", "alembic", "-x", f"url={url}"]
    try:
        for args in (["upgrade", "head"], ["downgrade", "base"], ["upgrade", "head"]):
            done = subprocess.run(alembic + args, cwd=repo, capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
