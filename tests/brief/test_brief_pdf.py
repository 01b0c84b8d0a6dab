"""Issue 18: `com brief` on the demo writes a PDF and a DOCX whose numbers are `com kpi`'s."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from dbclean import clean_data_tables

pytestmark = [pytest.mark.db, pytest.mark.slow]

FY = 2568
PROVINCE = "32"


def _run(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, check=True,
                          timeout=120).stdout


def pdf_text(pdf: Path | bytes, tmp: Path) -> str:
    if isinstance(pdf, bytes):
        path = tmp / "made.pdf"
        path.write_bytes(pdf)
        pdf = path
    return _run("pdftotext", "-layout", str(pdf), "-")


@pytest.fixture(scope="module")
def demo(engine, test_settings, database_url, geodata_dir, tmp_path_factory):
    """The demo with its KPI data and one saved CCTV plan; `com brief` run once (PDF + DOCX)."""
    import os

    from com.analysis.kpi import kpi_report
    from com.analysis.risk import rank_areas
    from com.demo import load_demo_data
    from com.siting.runners import run_cctv

    clean_data_tables(engine)
    load_demo_data(engine, test_settings, with_kpi_data=True)
    run_cctv(engine, test_settings, province=PROVINCE, k=8, save="แผนทดสอบรายงาน")
    out = tmp_path_factory.mktemp("brief")
    pdf, docx = out / "brief.pdf", out / "brief.docx"
    env = {**os.environ, "COM_DATABASE_URL": database_url, "COM_GEODATA_DIR": str(geodata_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "com.cli", "brief", "--province", PROVINCE, "--fy", str(FY),
         "--out", str(pdf), "--out", str(docx)],
        capture_output=True, text=True, env=env, cwd=out, timeout=300)
    assert done.returncode == 0, done.stderr
    with engine.connect() as conn:
        kpi = kpi_report(conn, province=PROVINCE, fiscal_year_be=FY,
                         model=test_settings.severity_config)
        ranking = rank_areas(conn, province=PROVINCE, model=test_settings.severity_config)
        records = conn.execute(sa.text("SELECT ranks FROM brief_records")).scalars().all()
        audited = conn.execute(sa.text(
            "SELECT action, actor_kind, target FROM audit_log WHERE target LIKE 'brief:%' "
            "ORDER BY id")).all()
    yield SimpleNamespace(pdf=pdf, docx=docx, kpi=kpi, ranking=ranking, out=out,
                          records=records, audited=audited, text=pdf_text(pdf, out))
    clean_data_tables(engine)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+,.1f}%"


def test_pdf_text_layer_has_com_kpis_numbers(demo):
    text, kpi = demo.text, demo.kpi
    assert f"จังหวัด{kpi['province_th']}" in text and f"ปีงบประมาณ {FY}" in text
    assert "ข้อมูลสมมติ / synthetic" in text  # the demo is synthetic
    assert len(kpi["areas"]) == 10
    for area in kpi["areas"]:
        row = (rf"^\s*{area['subdistrict_code']}\s+{re.escape(area['name_th'])}\s+"
               rf"{area['incidents_previous']:,}\s+{area['incidents_this']:,}\s+"
               rf"{re.escape(_pct(area['change_pct']))}\s")
        assert re.search(row, text, re.M), (area, text[:3000])
    targets = kpi["targets"]
    total = (rf"รวมพื้นที่เป้าหมาย\s+{targets['previous']['incidents']:,}\s+"
             rf"{targets['this']['incidents']:,}\s+"
             rf"{re.escape(_pct(targets['change_pct']['incidents']))}")
    assert re.search(total, text)
    reached = kpi["projects"]["share_targets_reached"]
    assert f"พื้นที่เป้าหมายที่มีโครงการ ร้อยละ {reached * 100:,.0f} (เกณฑ์ร้อยละ 80)" in text


def test_village_plan_progress_is_com_kpis(demo, engine, test_settings):
    """Issue 18: the demo's 24 synthetic villages, plans in three states, as `com kpi` says."""
    from com.analysis.kpi import kpi_report

    with engine.connect() as conn:
        total = kpi_report(conn, province=PROVINCE, fiscal_year_be=FY, level="village",
                           model=test_settings.severity_config)["progress"]["total"]
    assert total["areas"] == 24
    assert min(total["done"], total["in_progress"], total["planned"]) > 0
    assert total["done"] + total["in_progress"] + total["planned"] + total["none"] == 24
    flat = "".join(demo.text.split())  # Thai lines wrap between words, without spaces
    said = (f"ความคืบหน้าแผนหมู่บ้าน(villageplans):{total['text_th']}({total['text_en']})"
            f"กำลังดำเนินการ{total['in_progress']}วางแผนไว้{total['planned']}")
    assert "".join(said.split()) in flat


def test_ranked_table_is_com_ranks(demo):
    top = demo.ranking.head(5)
    for rank, row in enumerate(top.itertuples(), start=1):
        line = rf"^\s*{rank}\s+\S+\s+{re.escape(row.name_th)}\s+.*?{row.risk_score:,.1f}\s"
        assert re.search(line, demo.text, re.M), (rank, row.name_th)
    # Both files handed out are audited as exports, like the API's.
    assert [tuple(a) for a in demo.audited] == [
        ("export.pdf", "cli", f"brief:{PROVINCE}:{FY}"),
        ("export.docx", "cli", f"brief:{PROVINCE}:{FY}")]
    # The ranks are recorded for the next brief to compare with.
    assert len(demo.records) == 1
    assert demo.records[0][str(top.iloc[0]["subdistrict_code"])] == 1


def test_fonts_are_embedded_and_nothing_is_tofu(demo):
    from fontTools.ttLib import TTFont

    from com.brief.fonts import BOLD, REGULAR, font_file

    fonts = _run("pdffonts", str(demo.pdf)).splitlines()[2:]
    assert fonts and all(" yes yes yes " in f for f in fonts), fonts
    assert {f.split()[0].split("+")[-1] for f in fonts} == {"Laksaman", "Laksaman-Bold"}
    covered = set(TTFont(font_file(REGULAR)).getBestCmap()) & set(
        TTFont(font_file(BOLD)).getBestCmap())
    shown = {ch for ch in demo.text if not ch.isspace() and ch != "\f"}
    missing = sorted(ch for ch in shown if ord(ch) not in covered)
    assert missing == [] and "\ufffd" not in demo.text
    assert any("\u0e00" <= ch <= "\u0e7f" for ch in shown)  # Thai text, extracted as Thai


def test_pages_render_to_png(demo):
    from PIL import Image

    pages = int(re.search(r"Pages:\s+(\d+)", _run("pdfinfo", str(demo.pdf))).group(1))
    _run("pdftoppm", "-r", "40", "-png", str(demo.pdf), str(demo.out / "page"))
    images = sorted(demo.out.glob("page-*.png"))
    assert len(images) == pages >= 6
    for path in images[:4]:  # cover, KPI, chart, map: each has ink on it
        gray = Image.open(path).convert("L")
        assert gray.getextrema()[0] < 100, path


def test_docx_has_the_same_kpi_table_in_th_sarabun(demo):
    from docx import Document

    document = Document(str(demo.docx))
    assert document.styles["Normal"].font.name == "TH Sarabun New"
    kpi_table = next(t for t in document.tables if t.rows[0].cells[1].text == "พื้นที่เป้าหมาย")
    rows = {r.cells[0].text: [c.text for c in r.cells] for r in kpi_table.rows[1:]}
    for area in demo.kpi["areas"]:
        cells = rows[area["subdistrict_code"]]
        assert cells[1:5] == [area["name_th"], f"{area['incidents_previous']:,}",
                              f"{area['incidents_this']:,}", _pct(area["change_pct"])]
    body = "\n".join(p.text for p in document.paragraphs)
    assert "ข้อมูลสมมติ / synthetic" in body and f"ปีงบประมาณ {FY}" in body


def test_a_viewers_brief_has_no_exact_sensitive_position_nor_informant(demo, engine,
                                                                        test_settings):
    from com.brief import assemble_brief, render_brief
    from com.config.severity import sensitive_categories
    from com.security.access import Principal

    sensitive = sorted(sensitive_categories(test_settings.severity_config))
    with engine.connect() as conn:
        exact = conn.execute(sa.text(
            "SELECT id, name, address, ST_Y(geom), ST_X(geom) FROM risk_points "
            "WHERE category = ANY(:c)"), {"c": sensitive}).all()
        viewer = Principal(kind="user", name="brief-viewer", role="viewer")
        brief = assemble_brief(conn, provinces=[PROVINCE], fiscal_year_be=FY, principal=viewer,
                               severity_config=test_settings.severity_config, record=False)
        text = pdf_text(render_brief(brief, "pdf"), demo.out)
    assert exact and not brief.exact_positions
    positions = {f"{lat:.5f}, {lon:.5f}" for _, _, _, lat, lon in exact}
    # The analyst's brief (com brief runs with the sensitive right) shows some site standing
    # on a sensitive point, so this check can fail; the viewer's shows none.
    assert positions & set(re.findall(r"\d+\.\d{5}, \d+\.\d{5}", demo.text))
    assert not positions & set(re.findall(r"\d+\.\d{5}, \d+\.\d{5}", text))
    assert "(โดยประมาณ)" in text
    # The map's points: sensitive ones at their subdistrict, without their names.
    points = brief.provinces[0].points
    mine = points[points["category"].isin(sensitive)]
    exact_xy = {(round(lon, 6), round(lat, 6)) for *_, lat, lon in exact}
    assert len(mine) and not {(round(x, 6), round(y, 6)) for x, y in
                              zip(mine["lon"], mine["lat"], strict=True)} & exact_xy
    assert mine["name"].isna().all()
    informant = {v for _, name, address, *_ in exact for v in (name, address) if v}
    assert not [v for v in informant if v in text]


def test_api_serves_the_brief_and_audits_it_like_an_export(demo, engine, test_settings):
    from docx import Document
    from fastapi.testclient import TestClient

    from api.main import create_app

    with TestClient(create_app(test_settings)) as client:
        bad = client.get("/api/briefs", params={"province": PROVINCE, "fy": FY, "top": 0})
        assert bad.status_code == 400  # bounded like every integer parameter
        got = client.get("/api/briefs", params={"province": PROVINCE, "fy": FY,
                                                "format": "docx"})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert f'filename="brief-{PROVINCE}-{FY}.docx"' in got.headers["content-disposition"]
    path = demo.out / "api.docx"
    path.write_bytes(got.content)
    tables = Document(str(path)).tables
    assert any(t.rows[0].cells[1].text == "พื้นที่เป้าหมาย" for t in tables)
    with engine.connect() as conn:
        audit = conn.execute(sa.text(
            "SELECT actor_kind, target, details FROM audit_log WHERE action = 'export.docx' "
            "AND actor_kind = 'anonymous'")).all()
        recorded = conn.execute(sa.text("SELECT count(*) FROM brief_records")).scalar_one()
    assert [(a[0], a[1]) for a in audit] == [("anonymous", f"brief:{PROVINCE}:{FY}")]
    assert audit[0][2]["sensitive_exact"] is False
    assert recorded == 1  # a public brief is not kept as the meeting's record
