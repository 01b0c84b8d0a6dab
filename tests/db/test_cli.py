"""The `com` command line, run as a user runs it: a subprocess with COM_ environment variables."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import sqlalchemy as sa
import typer

from com.cli import app


def run_com(*args: str, database_url: str, geodata_dir, cwd) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "COLUMNS": "200",  # rich wraps help text at the terminal width
        "COM_DATABASE_URL": database_url,
        "COM_GEODATA_DIR": str(geodata_dir),
    }
    return subprocess.run(
        [sys.executable, "-m", "com.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,  # no stray .env file
        timeout=180,
    )


def test_help_lists_every_command_with_one_line_help(database_url, geodata_dir, tmp_path):
    out = run_com("--help", database_url=database_url, geodata_dir=geodata_dir, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    commands = typer.main.get_command(app).commands
    assert {"db", "geodata", "where", "serve", "demo"} <= set(commands)
    for name, command in commands.items():
        short = command.get_short_help_str(limit=200)
        assert short, name
        assert re.search(rf"^\W*{re.escape(name)}\s+{re.escape(short)}\W*$", out.stdout, re.M), (
            name,
            out.stdout,
        )
    sub = run_com(
        "geodata", "--help", database_url=database_url, geodata_dir=geodata_dir, cwd=tmp_path
    )
    for name in ("load", "status", "fetch"):
        assert re.search(rf"^\W*{name}\s+\w", sub.stdout, re.M), sub.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("geodata", "load", "/nonexistent"), "error: boundary directory /nonexistent does not"),
        (
            ("geodata", "fetch", "{tmp}/fetched"),
            "error: tha_adm_rtsd_itos_20210121_shp.zip: no sha",
        ),
    ],
)
def test_user_mistakes_print_one_error_line(args, message, database_url, geodata_dir, tmp_path):
    args = tuple(a.replace("{tmp}", str(tmp_path)) for a in args)
    out = run_com(*args, database_url=database_url, geodata_dir=geodata_dir, cwd=tmp_path)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().count("\n") == 0, out.stderr
    assert out.stderr.startswith(message), out.stderr


def test_unreachable_database_is_one_error_line(geodata_dir, tmp_path):
    url = "postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2"
    out = run_com("geodata", "status", database_url=url, geodata_dir=geodata_dir, cwd=tmp_path)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    assert out.stderr.startswith("error: the database is unavailable"), out.stderr
    assert out.stderr.strip().count("\n") == 0, out.stderr


def test_where_prints_the_subdistrict_as_json(engine, database_url, geodata_dir, tmp_path):
    out = run_com(
        "where", "14.4086", "103.6905",
        database_url=database_url, geodata_dir=geodata_dir, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    hit = json.loads(out.stdout)
    assert hit["subdistrict_code"] == "320605"
    assert (hit["subdistrict_th"], hit["district_th"], hit["province_th"]) == (
        "ด่าน",
        "กาบเชิง",
        "สุรินทร์",
    )


def test_demo_load_only_loads_280_synthetic_points(
    clean_engine, database_url, geodata_dir, tmp_path
):
    out = run_com(
        "demo", "--load-only", database_url=database_url, geodata_dir=geodata_dir, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["synthetic"] is True and report["risk_points"] == 280
    assert report["boundaries"]["subdistricts"] == 7425
    with clean_engine.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT count(*) FROM risk_points WHERE synthetic AND province_code = '32'")
        ).scalar_one()
    assert stored == 280
