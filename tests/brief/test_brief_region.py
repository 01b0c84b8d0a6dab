"""Issue 18, done-item 4: a region's brief covers every province in it, with the numbers of
`com kpi --region`; and the alerts triaged since the last meeting, counted from the alerts table."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from dbclean import clean_data_tables
from feedkit import alert

pytestmark = [pytest.mark.db, pytest.mark.slow]

FY = 2568
REGION = "test-brief-surin-buriram"
REGION_TH, REGION_EN = "ภาคทดสอบรายงาน", "Brief test region"
#: Buri Ram subdistricts given incidents and declared targets (the demo has Surin only).
BURIRAM_AREAS = {"310101": (4, 2), "310102": (1, 3)}  # code: (incidents FY 2567, FY 2568)
#: Alerts of a Surin detector: (kind, status) triaged today, and one triaged 40 days ago.
TRIAGE = [("person", "confirmed"), ("person", "confirmed"), ("person", "false_alarm"),
          ("vehicle", "acknowledged"), ("vehicle", None)]
OLD = ("animal", "false_alarm")


def _add_points(conn, code: str, n: int, day: dt.date) -> None:
    for _ in range(n):
        conn.execute(sa.text(
            "INSERT INTO risk_points (category, severity, incident_count, reported_on, geom,"
            " subdistrict_code, district_code, province_code) SELECT 'drugs', 4, 1, :day,"
            " s.rep_point, s.code, s.district_code, s.province_code FROM subdistricts s"
            " WHERE s.code = :code"), {"day": day, "code": code})


def _alerts(engine, settings) -> None:
    """Store and triage alerts through com.feeds, as the detectors and planners would."""
    from com.db.engine import transaction
    from com.feeds.alerts import receive_alert, set_status
    from com.feeds.devices import add_device
    from com.security.access import CLI

    with transaction(engine) as conn:
        device = add_device(conn, device_id="brief-bd-001", kind="detector", province_code="32",
                            lat=14.43, lon=103.45, secret_key=settings.secret_key, principal=CLI)
    for kind, status in [*TRIAGE, OLD]:
        got = receive_alert(engine, alert("brief-bd-001", device.secret, kind=kind),
                            secret_key=settings.secret_key, via="http")
        if status is None:
            continue
        with transaction(engine) as conn:
            set_status(conn, got.alert_id, status, principal=CLI)
            if (kind, status) == OLD:  # triaged before the last meeting
                conn.execute(sa.text("UPDATE alerts SET status_at = now() - interval '40 days'"
                                     " WHERE id = :i"), {"i": got.alert_id})


@pytest.fixture(scope="module")
def region(engine, test_settings, database_url, geodata_dir, tmp_path_factory):
    """The demo (Surin), Buri Ram's points and targets, a two-province region, alerts; then
    `com kpi --region` and `com brief --region` run once."""
    from com.analysis.kpi import declare_targets
    from com.config.settings import get_settings
    from com.db.engine import transaction
    from com.demo import load_demo_data
    from com.security.access import CLI

    clean_data_tables(engine)
    load_demo_data(engine, test_settings, with_kpi_data=True)
    with transaction(engine) as conn:
        for code, (before, now) in BURIRAM_AREAS.items():
            _add_points(conn, code, before, dt.date(2024, 3, 1))  # FY 2567
            _add_points(conn, code, now, dt.date(2025, 3, 1))     # FY 2568
        declare_targets(conn, province="31", fiscal_year_be=FY, principal=CLI,
                        codes=list(BURIRAM_AREAS), model=test_settings.severity_config)
    _alerts(engine, test_settings)
    out = tmp_path_factory.mktemp("brief-region")
    config = out / "regions.toml"
    config.write_text(f'[regions.{REGION}]\nth = "{REGION_TH}"\nen = "{REGION_EN}"\n'
                      'provinces = ["31", "32"]\n', encoding="utf-8")
    env = {**os.environ, "COM_DATABASE_URL": database_url, "COM_GEODATA_DIR": str(geodata_dir),
           "COM_REGIONS_CONFIG": str(config)}

    def com(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "com.cli", *args], capture_output=True,
                              text=True, env=env, cwd=out, timeout=400)
        assert done.returncode == 0, done.stderr
        return done.stdout

    kpi = json.loads(com("kpi", "--region", REGION, "--fy", str(FY)))
    since = (dt.date.today() - dt.timedelta(days=7)).isoformat()
    made = json.loads(com("brief", "--region", REGION, "--fy", str(FY), "--since", since,
                          "--out", str(out / "region.pdf")))
    text = subprocess.run(["pdftotext", "-layout", str(out / "region.pdf"), "-"],
                          capture_output=True, text=True, check=True, timeout=120).stdout
    os.environ["COM_REGIONS_CONFIG"] = str(config)  # for the API test's principals
    get_settings.cache_clear()
    yield SimpleNamespace(kpi=kpi, made=made, text=text, out=out, config=config)
    os.environ.pop("COM_REGIONS_CONFIG", None)
    get_settings.cache_clear()
    clean_data_tables(engine)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+,.1f}%"


def test_region_brief_covers_both_provinces_with_com_kpi_region_numbers(region):
    text, kpi = region.text, region.kpi
    assert region.made["region"] == REGION and sorted(region.made["provinces"]) == ["31", "32"]
    assert f"{REGION_TH} ({REGION_EN})" in text
    reports = {r["province_code"]: r for r in kpi["provinces"]}
    assert set(reports) == {"31", "32"} and not any("missing" in r for r in reports.values())
    assert reports["31"]["targets"]["this"]["incidents"] == sum(
        now for _, now in BURIRAM_AREAS.values())  # the data the test added, counted
    for report in reports.values():
        name = report["province_th"]
        assert f"จังหวัด{name}" in text and f"{name} ({report['province_en']})" in text
        # The province's own KPI page: its target areas' total row...
        targets = report["targets"]
        total = (rf"รวมพื้นที่เป้าหมาย\s+{targets['previous']['incidents']:,}\s+"
                 rf"{targets['this']['incidents']:,}\s+"
                 rf"{re.escape(_pct(targets['change_pct']['incidents']))}")
        assert re.search(total, text), name
        # ... and its row of the region's summary page.
        row = (rf"^\s*{re.escape(name)}\s+{report['projects']['targets']:,}\s+"
               rf"{report['projects']['targets_reached']:,}\s+"
               rf"{targets['previous']['incidents']:,}\s+{targets['this']['incidents']:,}\s+"
               rf"{re.escape(_pct(targets['change_pct']['incidents']))}")
        assert re.search(row, text, re.M), (name, text[:4000])
        for area in report["areas"]:  # every target area of both provinces is listed
            assert re.search(rf"^\s*{area['subdistrict_code']}\s+{re.escape(area['name_th'])}",
                             text, re.M), area["name_th"]
    totals = kpi["totals"]
    row = (rf"^\s*รวมทั้งภาค\s+{totals['target_areas']:,}\s+"
           rf"{totals['target_areas_reached']:,}\s+{totals['incidents']['previous']:,}\s+"
           rf"{totals['incidents']['this']:,}\s+"
           rf"{re.escape(_pct(totals['incidents']['change_pct']))}")
    assert re.search(row, text, re.M), text[:4000]
    share = totals["share_targets_reached"]
    assert f"พื้นที่เป้าหมายของภาคที่มีโครงการ ร้อยละ {share * 100:,.0f}" in text


def test_alerts_triaged_since_the_last_meeting_are_counted_by_kind_and_status(region):
    text = region.text
    # Surin's detector only: the table appears once, in Surin's pages.
    assert text.count("การแจ้งเตือนที่คัดกรองแล้ว") == 1
    expected: dict[str, list[int]] = {}
    for kind, status in TRIAGE:
        if status is not None:
            counts = expected.setdefault(kind, [0, 0, 0])
            counts[("acknowledged", "confirmed", "false_alarm").index(status)] += 1
    for kind, counts in expected.items():
        cells = r"\s+".join(str(c) for c in [*counts, sum(counts)])
        assert re.search(rf"\({kind}\)\s+{cells}\s*$", text, re.M), (kind, counts)
    # The animal alert was triaged 40 days ago, before --since: not counted.
    assert "(animal)" not in text
    assert re.search(r"รวม \(total\)\s+1\s+2\s+1\s+4\s*$", text, re.M)


def test_api_region_brief_follows_kpi_access_rules(region, engine, test_settings):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from com.security.access import Principal

    users = {
        "region": Principal(kind="user", name="region-viewer", role="viewer", region=REGION,
                            region_provinces=frozenset({"31", "32"})),
        "surin": Principal(kind="user", name="surin-viewer", role="viewer",
                           province_code="32"),
    }
    settings = test_settings.model_copy(update={"regions_config": region.config})
    app = create_app(settings)
    app.state.principal_resolvers.insert(0, lambda request: users.get(
        request.headers.get("x-test-user", "")))
    with TestClient(app) as client:
        def get(user: str, **params: object):
            return client.get("/api/briefs", params={"fy": FY, **params},
                              headers={"x-test-user": user})

        assert get("surin", region=REGION).status_code == 403  # not only its province
        assert get("region", region="isoc-2").status_code == 403
        assert get("region", province="33").status_code == 403
        got = get("region", format="docx")  # nothing asked: its own region
    assert got.status_code == 200, got.text
    assert f'filename="brief-{REGION}-{FY}.docx"' in got.headers["content-disposition"]
    with engine.connect() as conn:
        target = conn.execute(sa.text(
            "SELECT target FROM audit_log WHERE action = 'export.docx' "
            "AND actor = 'region-viewer'")).scalar_one()
    assert target == f"brief:31,32:{FY}"
