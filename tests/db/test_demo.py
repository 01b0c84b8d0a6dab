"""The synthetic Surin demo (`com demo --load-only`) against a real PostGIS."""

from __future__ import annotations

import datetime as dt
import tomllib
from importlib import resources

import pytest
import sqlalchemy as sa

from com import demo
from com.errors import GeodataError

SEVERITY_CATEGORIES = set(
    tomllib.loads(resources.files("com.config").joinpath("severity.toml").read_text("utf-8"))["categories"]
)


def _scalar(engine, query, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(query), params).scalar_one()


def test_demo_stores_280_synthetic_points_all_inside_surin(clean_engine, test_settings):
    report = demo.load_demo_data(clean_engine, test_settings)
    assert report.risk_points == 280
    with clean_engine.connect() as conn:
        row = (
            conn.execute(
                sa.text(
                    "SELECT count(*) AS total,"
                    " count(*) FILTER (WHERE r.synthetic) AS synthetic,"
                    " count(*) FILTER (WHERE (r.attributes->>'synthetic')::boolean) AS tagged,"
                    " count(*) FILTER (WHERE r.name LIKE '[ข้อมูลสมมติ] %') AS named,"
                    " count(*) FILTER (WHERE ST_Within(r.geom, p.geom)) AS within_surin,"
                    " count(*) FILTER (WHERE r.province_code = '32') AS geocoded_32,"
                    " count(*) FILTER (WHERE r.subdistrict_code LIKE '32____'"
                    "   AND r.district_code = left(r.subdistrict_code, 4)) AS codes_ok,"
                    " count(*) FILTER (WHERE r.address LIKE 'ต.% อ.% จ.สุรินทร์') AS addressed,"
                    " min(r.severity) AS smin, max(r.severity) AS smax,"
                    " min(r.reported_on) AS first, max(r.reported_on) AS last"
                    " FROM risk_points r, provinces p WHERE p.code = '32'"
                )
            )
            .mappings()
            .one()
        )
        categories = set(
            conn.execute(sa.text("SELECT DISTINCT category FROM risk_points")).scalars()
        )
        years = dict(
            conn.execute(
                sa.text(
                    "SELECT extract(year FROM reported_on + interval '3 months')::int + 543,"
                    " count(*) FROM risk_points GROUP BY 1"
                )
            ).all()
        )
    assert row["total"] == 280
    for key in (
        "synthetic",
        "tagged",
        "named",
        "within_surin",
        "geocoded_32",
        "codes_ok",
        "addressed",
    ):
        assert row[key] == 280, key
    assert (row["smin"], row["smax"]) == (1, 5)
    assert row["first"] >= dt.date(2022, 10, 1) and row["last"] <= dt.date(2025, 9, 30)
    # All seven categories of the seed appear, and only categories of the severity model.
    assert categories == SEVERITY_CATEGORIES - {"unknown"}
    assert categories == set(demo.PLACE_WORDS)
    assert set(years) == {2566, 2567, 2568} and min(years.values()) >= 60
    assert report.by_fiscal_year == years
    assert sum(report.by_category.values()) == 280
    assert report.cameras == sum(n for _, _, n, _ in demo.CAMERA_PLAN)


def test_running_twice_replaces_the_synthetic_set_and_keeps_real_points(
    clean_engine, test_settings
):
    with clean_engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO risk_points (name, category, geom) VALUES "
                "('จุดจริง', 'drugs', ST_SetSRID(ST_MakePoint(103.49, 14.88), 4326))"
            )
        )

    def snapshot():
        with clean_engine.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT id, ST_X(geom), ST_Y(geom), category, severity, reported_on, name "
                    "FROM risk_points WHERE synthetic ORDER BY reported_on, name, ST_X(geom)"
                )
            ).all()

    first = demo.load_demo_data(clean_engine, test_settings)
    before = snapshot()
    second = demo.load_demo_data(clean_engine, test_settings)
    after = snapshot()
    assert (first.replaced, second.replaced) == (0, 280)
    assert len(before) == len(after) == 280
    assert [r[1:] for r in before] == [r[1:] for r in after]  # same seed, same points
    assert {r[0] for r in before}.isdisjoint(r[0] for r in after)  # rows were replaced
    assert _scalar(clean_engine, "SELECT count(*) FROM risk_points") == 281
    assert _scalar(clean_engine, "SELECT count(*) FROM risk_points WHERE NOT synthetic") == 1
    assert _scalar(clean_engine, "SELECT count(*) FROM cameras") == second.cameras


def test_points_cluster_at_the_border_chong_chom_and_towns(clean_engine, test_settings):
    demo.load_demo_data(clean_engine, test_settings)
    with clean_engine.connect() as conn:
        # Share of points near a feature against the share of Surin's area near it: a uniform
        # spread would give about the same number, a provincial list far more.
        def shares(feature_sql: str, radius_m: float) -> tuple[float, float]:
            row = conn.execute(
                sa.text(
                    f"WITH f AS ({feature_sql}), p AS (SELECT geom FROM provinces WHERE code='32') "
                    "SELECT (SELECT avg((ST_DWithin(r.geom::geography, f.g::geography, :m))::int)"
                    "        FROM risk_points r, f),"
                    "       (SELECT ST_Area(ST_Intersection(p.geom,"
                    "          ST_Buffer(f.g::geography, :m)::geometry)::geography)"
                    "          / ST_Area(p.geom::geography) FROM p, f)"
                ),
                {"m": radius_m},
            ).one()
            return float(row[0]), float(row[1])

        border = shares(
            "SELECT geom AS g FROM context_layers WHERE layer='land_border' "
            "AND feature_key='Cambodia'",
            10_000,
        )
        crossing = shares("SELECT geom AS g FROM border_crossings WHERE name_en='Chong Chom'", 5000)
        mueang = shares("SELECT rep_point AS g FROM subdistricts WHERE code='320101'", 4000)
    assert border[0] > 2.5 * border[1], border
    assert crossing[0] > 10 * crossing[1], crossing
    assert mueang[0] > 10 * mueang[1], mueang


def test_cameras_are_synthetic_and_in_mueang_surin_and_kap_choeng(clean_engine, test_settings):
    demo.load_demo_data(clean_engine, test_settings)
    with clean_engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT s.district_code, (c.attributes->>'synthetic')::boolean, c.name, c.radius_m "
                "FROM cameras c JOIN subdistricts s ON s.code = c.subdistrict_code"
            )
        ).all()
    assert len(rows) == sum(n for _, _, n, _ in demo.CAMERA_PLAN)
    assert {r[0] for r in rows} == {"3201", "3206"}
    assert all(r[1] and r[2].startswith(demo.SYNTHETIC_PREFIX) and r[3] > 0 for r in rows)


def test_hooks_run_in_the_same_transaction(clean_engine, test_settings, monkeypatch):
    calls = []

    def demo_accounts(conn, settings):
        calls.append(conn.execute(sa.text("SELECT count(*) FROM risk_points")).scalar_one())
        return {"accounts": 0}

    monkeypatch.setattr(demo, "after_load_hooks", [demo_accounts])
    report = demo.load_demo_data(clean_engine, test_settings)
    assert calls == [280]
    assert report.hooks == {"demo_accounts": {"accounts": 0}}

    ids = _scalar(clean_engine, "SELECT array_agg(id ORDER BY id) FROM risk_points")

    def broken(conn, settings):
        raise RuntimeError("hook failed")

    monkeypatch.setattr(demo, "after_load_hooks", [broken])
    with pytest.raises(RuntimeError):
        demo.load_demo_data(clean_engine, test_settings)
    # The failed run left the previous synthetic set exactly as it was.
    assert _scalar(clean_engine, "SELECT array_agg(id ORDER BY id) FROM risk_points") == ids


def test_unknown_province_is_a_clear_error(conn):
    with pytest.raises(GeodataError, match="province 99 is not loaded"):
        demo.read_demo_area(conn, province_code="99")


# --- issue 15: the KPI works on a fresh demo, and the demo ends with a short summary --------


def test_kpi_succeeds_right_after_the_demo(clean_engine, test_settings):
    from com.analysis.kpi import kpi_report
    from com.demo_kpi import DEMO_DECLARER, TARGET_TOP

    assert demo.load_demo_data(clean_engine, test_settings).kpi == {}  # points only
    assert _scalar(clean_engine, "SELECT count(*) FROM target_lists") == 0
    report = demo.load_demo_data(clean_engine, test_settings, with_kpi_data=True)
    assert report.kpi["target_lists"] == {
        2567: {"status": "declared", "areas": TARGET_TOP},
        2568: {"status": "declared", "areas": TARGET_TOP},
    }
    with clean_engine.connect() as conn:
        kpi = kpi_report(conn, province="32", fiscal_year_be=2568,
                         model=test_settings.severity_config, as_of=dt.date(2026, 1, 1))
        projects = conn.execute(sa.text(
            "SELECT name, fiscal_year_be, subdistrict_code, (attributes->>'synthetic')::boolean "
            "FROM projects")).all()
        declared_by = set(conn.execute(sa.text("SELECT declared_by FROM target_lists")).scalars())
    assert declared_by == {DEMO_DECLARER}
    assert kpi["target_list"]["count"] == TARGET_TOP
    assert kpi["pai"]["fiscal_year_be_of_list"] == 2567 and kpi["pai"]["pai"] is not None
    # Synthetic projects, marked like the points: five in target areas, one outside, per year.
    assert len(projects) == 12 and all(p[3] for p in projects)
    assert all(p[0].startswith(demo.SYNTHETIC_PREFIX) for p in projects)
    assert kpi["projects"]["projects"] == 6 and kpi["projects"]["in_targets"] == 5
    # Each verdict is named for its question and explained in both languages.
    verdicts = kpi["verdicts"]
    assert set(verdicts) == {"note_th", "note_en", "annual_reduction_target",
                             "path_to_final_target", "projects_in_target_areas",
                             "target_areas_reached"}
    assert "on_track" not in kpi["path"]
    assert verdicts["path_to_final_target"]["met"] is kpi["path"]["on_path_to_final_target"]
    assert verdicts["annual_reduction_target"]["met"] is kpi["targets"]["annual_target_met"]
    assert kpi["targets"]["passed"] is kpi["targets"]["annual_target_met"]
    assert verdicts["projects_in_target_areas"]["met"] is True
    assert verdicts["target_areas_reached"]["met"] is False
    for name in ("annual_reduction_target", "path_to_final_target"):
        v = verdicts[name]
        assert v["question_th"] and v["question_en"] and v["answer_th"] and v["answer_en"]
    assert "2570" in verdicts["path_to_final_target"]["question_en"]
    assert "yearly" in verdicts["annual_reduction_target"]["question_en"]
    assert kpi["path"]["verdict_en"] == verdicts["path_to_final_target"]["answer_en"]


def test_demo_keeps_a_planners_list_and_replaces_its_own(clean_engine, test_settings):
    from com.analysis.kpi import declare_targets
    from com.security.access import CLI

    demo.load_demo_data(clean_engine, test_settings, with_kpi_data=True)
    again = demo.load_demo_data(clean_engine, test_settings, with_kpi_data=True)
    assert again.kpi["target_lists"][2568]["status"] == "declared"
    assert _scalar(clean_engine, "SELECT count(*) FROM projects") == 12
    assert _scalar(clean_engine,
                   "SELECT count(*) FROM target_lists WHERE level = 'subdistrict'") == 2
    # Issue 16: and the village list of FY 2568, its 24 synthetic villages replaced, not added.
    assert again.kpi["villages"] == {"villages": 24, "village_target_list": "declared",
                                     "fiscal_year_be": 2568}
    assert _scalar(clean_engine, "SELECT count(*) FROM area_features WHERE synthetic") == 24
    with clean_engine.begin() as conn:
        declare_targets(conn, province="32", fiscal_year_be=2568, principal=CLI,
                        codes=["320101"], replace=True)
    third = demo.load_demo_data(clean_engine, test_settings, with_kpi_data=True)
    assert third.kpi["target_lists"][2568] == {"status": "kept", "declared_by": "cli"}
    assert _scalar(clean_engine, "SELECT count(*) FROM target_areas ta JOIN target_lists t "
                   "ON t.id = ta.target_list_id WHERE t.fiscal_year_be = 2568 "
                   "AND t.level = 'subdistrict'") == 1
    assert _scalar(clean_engine, "SELECT count(*) FROM projects") == 6  # only FY 2567's


def test_demo_summary_names_the_url_accounts_and_what_was_loaded(
    clean_engine, test_settings, geodata_dir
):
    steps = []
    report = demo.run_demo(clean_engine, test_settings, geodata_dir=geodata_dir,
                           on_step=steps.append)
    assert len(steps) >= 4 and "boundaries" in steps[0]
    # The boundary counts are the boundaries only (no stale "risk_points: 0" beside 280).
    assert set(report.boundaries) == {"provinces", "districts", "subdistricts",
                                      "subdistrict_parts", "context_features",
                                      "border_crossings"}
    text = report.summary("http://127.0.0.1:8000/", serving=True)
    lines = text.splitlines()
    assert len(lines) <= 15 and max(len(line) for line in lines) <= 100
    assert "http://127.0.0.1:8000/" in text
    passwords = report.hooks["demo_accounts"]
    assert set(passwords) == {"demo_viewer", "demo_staff"}
    for username, password in passwords.items():
        assert any(username in line and password in line for line in lines), username
    assert "280" in text and "ข้อมูลสมมติ" in text and "synthetic" in text
    assert f"cameras: {report.cameras}" in text
    assert "target lists: FY 2567, 2568 (ปีละ 10 ตำบล / 10 subdistricts each)" in text
    assert "projects: 12" in text
    assert "7425" in text
    assert "com kpi --province 32 --fy 2568" in text
    loaded_only = report.summary("http://127.0.0.1:8000/", serving=False)
    assert "com serve" in loaded_only
