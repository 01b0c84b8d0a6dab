"""Issue 15: `com cctv` uses the planner's default radius, the one the web page offers."""

from __future__ import annotations

import inspect

from typer.testing import CliRunner

from com.cli import app
from com.siting import runners
from com.siting.coverage import DEFAULT_RADIUS_M


def test_com_cctv_leaves_the_radius_to_the_planner(monkeypatch):
    seen: dict = {}

    def fake_run(engine, settings, **kwargs):  # records what the command passes
        seen.update(kwargs)
        return {"ok": True}

    monkeypatch.setattr(runners, "run_cctv", fake_run)
    result = CliRunner().invoke(app, ["cctv", "--province", "32", "--k", "3"])
    assert result.exit_code == 0, result.output
    assert "radius_m" not in seen  # run_cctv's own default applies
    result = CliRunner().invoke(app, ["cctv", "--province", "32", "--k", "3", "--radius", "150"])
    assert result.exit_code == 0 and seen["radius_m"] == 150.0
    monkeypatch.undo()
    assert inspect.signature(runners.run_cctv).parameters["radius_m"].default == DEFAULT_RADIUS_M
