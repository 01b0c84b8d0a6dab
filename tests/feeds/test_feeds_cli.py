"""`com sensors` and `com webhooks` as a user runs them; the printed secret signs real alerts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from feedkit import alert

from com.feeds.alerts import AlertRefused, receive_alert

pytestmark = pytest.mark.db
REPO = Path(__file__).resolve().parents[2]


def _com(*args: str, settings, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": str(REPO),
           "COM_DATABASE_URL": settings.database_url, "COM_SECRET_KEY": settings.secret_key,
           "COM_GEODATA_DIR": str(settings.geodata_dir)}
    return subprocess.run([sys.executable, "-m", "com.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=120)


def test_sensors_add_prints_a_secret_that_signs(clean_engine, test_settings, tmp_path) -> None:
    out = _com("sensors", "add", "surin-cli-1", "--province", "32", "--lat", "14.43",
               "--lon", "103.45", settings=test_settings, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    secret = json.loads(out.stdout)["secret"]
    assert len(secret) == 64
    got = receive_alert(clean_engine, alert("surin-cli-1", secret),
                        secret_key=test_settings.secret_key)
    assert got.alert_id is not None
    again = _com("sensors", "secret", "surin-cli-1", settings=test_settings, cwd=tmp_path)
    assert json.loads(again.stdout)["secret"] == secret
    assert _com("sensors", "disable", "surin-cli-1", settings=test_settings,
                cwd=tmp_path).returncode == 0
    with pytest.raises(AlertRefused, match="disabled device"):
        receive_alert(clean_engine, alert("surin-cli-1", secret),
                      secret_key=test_settings.secret_key)
    listed = json.loads(_com("sensors", "list", settings=test_settings, cwd=tmp_path).stdout)
    assert [d["id"] for d in listed] == ["surin-cli-1"] and listed[0]["alerts"] == 1
    bad = _com("sensors", "add", "x y", "--province", "32", "--lat", "14", "--lon", "103",
               settings=test_settings, cwd=tmp_path)
    assert bad.returncode == 1 and bad.stderr.startswith("error: ") and "device id" in bad.stderr


def test_webhooks_add_list_disable(clean_engine, test_settings, tmp_path) -> None:
    out = _com("webhooks", "add", "ตม.สุรินทร์", "https://immigration.example/hook",
               "--province", "32", "--category", "illegal_entry", "--min-severity", "3",
               settings=test_settings, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    created = json.loads(out.stdout)
    listed = json.loads(_com("webhooks", "list", settings=test_settings, cwd=tmp_path).stdout)
    assert listed[0]["provinces"] == ["32"] and listed[0]["categories"] == ["illegal_entry"]
    assert "secret" not in listed[0] and "secret_salt" not in listed[0]
    assert _com("webhooks", "disable", str(created["id"]), settings=test_settings,
                cwd=tmp_path).returncode == 0
    bad = _com("webhooks", "add", "x", "ftp://x", settings=test_settings, cwd=tmp_path)
    assert bad.returncode == 1 and "http(s)" in bad.stderr
