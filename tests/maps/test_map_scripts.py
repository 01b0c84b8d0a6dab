"""The map's JavaScript lives in com/maps/js/*.js, ships as package data and is inlined once."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path

from com.maps.scripts import script

JS_DIR = resources.files("com.maps").joinpath("js")
NAMES = sorted(p.name.removesuffix(".js") for p in JS_DIR.iterdir() if p.name.endswith(".js"))
PACKAGE = Path(__file__).resolve().parents[2] / "com" / "maps"


def test_every_script_is_one_named_function_without_its_header():
    assert NAMES == [
        "area_feature", "area_labels", "date_filters", "fit_view", "html_control",
        "live_alerts",  # issue 17
        "map_notice", "measure_control",
        "risk_points",
    ]
    for name in NAMES:
        source = script(name)
        assert re.match(r"function com[A-Z]\w*\(", source), name
        assert not source.startswith("//")
        assert source.endswith("}")


def test_scripts_are_package_data():
    pyproject = tomllib.loads((PACKAGE.parents[1] / "pyproject.toml").read_text())
    assert "maps/js/*.js" in pyproject["tool"]["setuptools"]["package-data"]["com"]


def test_no_javascript_left_in_python_strings():
    for module in PACKAGE.glob("*.py"):
        source = module.read_text()
        for marker in ("L.DomUtil", "L.control(", "function (", "bindPopup", "addLayers"):
            assert marker not in source, (module.name, marker)
