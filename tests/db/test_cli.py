"""The `com` command line, run as a user runs it: a subprocess with COM_ environment variables."""

from __future__ import annotations

import json
import os
import pty
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
        "demo", "--load-only", "--json",
        database_url=database_url, geodata_dir=geodata_dir, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["synthetic"] is True and report["risk_points"] == 280
    assert report["boundaries"]["subdistricts"] == 7425
    assert "risk_points" not in report["boundaries"]  # issue 15: no stale 0 beside the 280
    with clean_engine.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT count(*) FROM risk_points WHERE synthetic AND province_code = '32'")
        ).scalar_one()
    assert stored == 280


# --- issue 15: the demo's summary, the KPI right after it, progress on a terminal only -------

PROGRESS_MARKS = ("loading boundaries", "ranking subdistrict", "storing 280 points")


def run_com_on_a_terminal(
    *args: str, database_url: str, geodata_dir, cwd
) -> tuple[int, str, str]:
    """Run `com` with standard error on a pseudo-terminal (standard output still piped).

    Returns the exit code, standard output and what the terminal received.
    """
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm", "COM_DATABASE_URL": database_url,
           "COM_GEODATA_DIR": str(geodata_dir)}
    with subprocess.Popen(
        [sys.executable, "-m", "com.cli", *args], stdout=subprocess.PIPE,
        stderr=slave, stdin=subprocess.DEVNULL, env=env, cwd=cwd,
    ) as proc:
        os.close(slave)
        received = bytearray()
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            received += chunk
        stdout = proc.stdout.read() if proc.stdout else b""
        code = proc.wait(timeout=180)
    os.close(master)
    return code, stdout.decode(), received.decode(errors="replace")


def test_demo_summary_then_kpi_succeeds(clean_engine, database_url, geodata_dir, tmp_path):
    out = run_com("demo", "--load-only", database_url=database_url, geodata_dir=geodata_dir,
                  cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert len(text.splitlines()) <= 15, text
    assert "http://127.0.0.1:8000/" in text and "com serve" in text
    with clean_engine.connect() as conn:
        usernames = set(conn.execute(sa.text("SELECT username FROM users")).scalars())
    assert {"demo_viewer", "demo_staff"} <= usernames
    for username in ("demo_viewer", "demo_staff"):
        line = next(x for x in text.splitlines() if username in x)
        assert re.search(rf"{username}\s+\S{{12,}}", line), line  # the new password
    assert "risk points: 280" in text and "ข้อมูลสมมติ" in text
    # Piped: no progress display anywhere.
    assert not any(mark in out.stderr or mark in text for mark in PROGRESS_MARKS), out.stderr
    kpi = run_com("kpi", "--province", "32", "--fy", "2568", database_url=database_url,
                  geodata_dir=geodata_dir, cwd=tmp_path)
    assert kpi.returncode == 0, kpi.stderr
    report = json.loads(kpi.stdout)
    assert report["fiscal_year_be"] == 2568 and report["target_list"]["count"] == 10
    assert {"annual_reduction_target", "path_to_final_target"} <= set(report["verdicts"])


def test_progress_shows_on_a_terminal_and_never_when_piped_or_quiet(
    clean_engine, database_url, geodata_dir, tmp_path
):
    kw = {"database_url": database_url, "geodata_dir": geodata_dir, "cwd": tmp_path}
    # geodata load: on a terminal the step shows; the JSON on stdout stays clean.
    code, stdout, tty = run_com_on_a_terminal("geodata", "load", **kw)
    assert code == 0, tty
    assert "loading boundaries" in tty
    assert json.loads(stdout)["counts"]["subdistricts"] == 7425
    piped = run_com("geodata", "load", **kw)
    assert piped.returncode == 0 and "loading boundaries" not in piped.stderr + piped.stdout
    code, stdout, tty = run_com_on_a_terminal("geodata", "load", "--quiet", **kw)
    assert code == 0 and "loading boundaries" not in tty, tty
    # rank, on the demo data.
    code, stdout, tty = run_com_on_a_terminal("demo", "--load-only", **kw)
    assert code == 0, tty
    assert "storing 280 points" in tty and "loading boundaries" in tty
    assert "storing 280 points" not in stdout
    code, stdout, tty = run_com_on_a_terminal("rank", "--province", "32", **kw)
    assert code == 0, tty
    assert "ranking subdistrict areas" in tty
    assert json.loads(stdout)["areas"] > 0
    piped = run_com("rank", "--province", "32", **kw)
    assert piped.returncode == 0 and "ranking" not in piped.stderr
    assert json.loads(piped.stdout) == json.loads(stdout)
    code, stdout, tty = run_com_on_a_terminal("rank", "--province", "32", "-q", **kw)
    assert code == 0 and "ranking" not in tty, tty
