"""Issue 16: regions are named sets of provinces, from the packaged file and an override."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from com.analysis.risk.filters import make_filter
from com.config.regions import load_regions, province_codes_of
from com.errors import ConfigError, ValidationError

GEODATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "geodata"


def _adm1_codes() -> set[str]:
    data = json.loads((GEODATA / "tha_adm1.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["ADM1_PCODE"].removeprefix("TH") for f in data["features"]}


def test_each_family_covers_every_province_once():
    regions = load_regions()
    adm1 = _adm1_codes()
    assert len(adm1) == 77
    for group, count in (("isoc", 4), ("oncb", 10)):
        members = [r for r in regions.regions if r.group == group]
        assert len(members) == count
        codes = [c for r in members for c in r.provinces]
        assert sorted(codes) == sorted(adm1), group  # each province in exactly one region
    assert regions.known_provinces == frozenset(adm1)


def test_lookup_by_key_or_name():
    regions = load_regions()
    assert regions.get("isoc-2").provinces == tuple(str(c) for c in range(30, 50))
    assert regions.get("กอ.รมน. ภาค 3") == regions.get("ISOC region 3")
    assert len(regions.get("isoc-3").provinces) == 17  # the northern meeting's 17 provinces
    assert "32" in regions.get("ป.ป.ส. ภาค 3").provinces
    with pytest.raises(ValidationError, match="unknown region 'nowhere'.*isoc-1"):
        regions.get("nowhere")


def test_override_adds_and_replaces(tmp_path):
    path = tmp_path / "regions.toml"
    path.write_text(
        '[regions.lower-isan]\nth = "อีสานใต้"\nen = "Lower Isan"\n'
        'provinces = ["TH32", "33", "31"]\n'
        '[regions.isoc-2]\nth = "กอ.รมน. ภาค 2"\nen = "ISOC Region 2"\nprovinces = ["32"]\n',
        encoding="utf-8",
    )
    regions = load_regions(path)
    assert regions.get("lower-isan").provinces == ("31", "32", "33")
    assert regions.get("lower-isan").group == "custom"
    assert regions.get("isoc-2").provinces == ("32",)
    assert len(regions.regions) == 15


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[regions.x]\nth = "ก"\nen = "X"\nprovinces = ["32", "99"]\n',
         r"regions\.x\.provinces: .*unknown province code '99'"),
        ('[regions.x]\nth = "ก"\nen = "X"\nprovinces = []\n', "non-empty list"),
        ('[regions.x]\nen = "X"\nprovinces = ["32"]\n', r"regions\.x\.th"),
        ('[regions."Bad Key"]\nth = "ก"\nen = "X"\nprovinces = ["32"]\n', "region key"),
        ("[regions.x\n", "regions file"),
    ],
)
def test_override_is_validated_on_load(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        load_regions(path)
    assert str(path) in str(info.value)


def test_missing_override_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_regions(tmp_path / "absent.toml")


def test_a_region_becomes_a_set_of_provinces_in_the_filter():
    filt = make_filter(region="oncb-3")
    assert filt.provinces == ("30", "31", "32", "33", "34", "35", "36", "37")
    assert filt.province is None and filt.region == "oncb-3"
    assert make_filter(region="oncb-3", province="32").province_codes == ("32",)
    assert make_filter(province="32").province_codes == ("32",)
    assert make_filter().province_codes is None
    assert make_filter(region="isoc-2", district="3206").district == "3206"
    with pytest.raises(ValidationError, match="district 5001 is not in region isoc-2"):
        make_filter(region="isoc-2", district="5001")
    with pytest.raises(ValidationError, match="province 50 is not in region isoc-2"):
        province_codes_of(province="50", region="isoc-2")
