"""Thai address geocoding against the geothai gazetteer (no database)."""

from __future__ import annotations

import csv
import random
from collections import Counter
from pathlib import Path

import geothai
import pytest
from typer.testing import CliRunner

from com.errors import ValidationError
from com.ingest.geocode import (
    Gazetteer,
    geocode,
    geocode_csv,
    geocode_many,
    get_gazetteer,
    parse_address,
)
from com.text.thai import to_thai_digits

REPO = Path(__file__).resolve().parents[3]
DEV_FILE = (REPO / ".." / "shared" / "samples" / "geocode_dev.csv").resolve()


# --------------------------------------------------------------------------- the dev file


def test_dev_file_hit_rate_and_no_confident_answer_without_a_code() -> None:
    """Done means 2: >= 97% of coded rows exact, no confident answer on uncoded rows."""
    if not DEV_FILE.exists():
        pytest.fail(f"{DEV_FILE} is missing (../shared/samples/geocode_dev.csv)")
    with DEV_FILE.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    results = geocode_many(r["address"] for r in rows)
    coded = [(r, g) for r, g in zip(rows, results, strict=True) if r["tambon_code"].strip()]
    uncoded = [(r, g) for r, g in zip(rows, results, strict=True) if not r["tambon_code"].strip()]
    hits = sum(1 for r, g in coded if g.tambon_code == r["tambon_code"].strip())
    confident_uncoded = [r["address"] for r, g in uncoded if g.confident]
    wrong_confident = [
        (r["address"], r["tambon_code"], g.tambon_code)
        for r, g in coded
        if g.confident and g.tambon_code != r["tambon_code"].strip()
    ]
    hit_rate = hits / len(coded)
    print(
        f"\ngeocode_dev.csv: {len(rows)} rows, {len(coded)} with a code; "
        f"hit rate {hits}/{len(coded)} = {hit_rate:.1%}; "
        f"confident answers on {len(uncoded)} uncoded rows: {len(confident_uncoded)}; "
        f"confident but wrong on coded rows: {len(wrong_confident)}; "
        f"quality counts {dict(Counter(g.quality for g in results))}"
    )
    assert hit_rate >= 0.97, [r["address"] for r, g in coded if g.tambon_code != r["tambon_code"]]
    assert confident_uncoded == []


# --------------------------------------------------------------------------- generality


def _all_subdistricts() -> list[geothai.types.Subdistrict]:
    return [
        s
        for p in geothai.provinces()
        for d in geothai.districts(p.code)
        for s in geothai.subdistricts(d.code)
    ]


def test_generated_addresses_in_every_province() -> None:
    """Addresses built from the gazetteer itself, in the forms Thai offices write.

    Expectation computed independently by counting the gazetteer: when the parts given fit
    exactly one subdistrict the answer must be that one and confident; when they fit several,
    it must not be confident.
    """
    subs = _all_subdistricts()
    districts = {d.code: d for p in geothai.provinces() for d in geothai.districts(p.code)}
    provinces = {p.code: p for p in geothai.provinces()}
    by_name = Counter(s.name_th for s in subs)
    by_name_district = Counter((s.name_th, s.district_code) for s in subs)
    by_name_district_name = Counter((s.name_th, districts[s.district_code].name_th) for s in subs)
    by_name_province = Counter((s.name_th, s.province_code) for s in subs)
    rnd = random.Random(20240611)
    outcomes: Counter[str] = Counter()
    problems: list[str] = []
    for s in rnd.sample([x for x in subs if x.province_code != "10"], 250):
        d, p = districts[s.district_code], provinces[s.province_code]
        full_unique = by_name_district[(s.name_th, s.district_code)] == 1
        cases = [
            (f"ต.{s.name_th} อ.{d.name_th} จ.{p.name_th}", full_unique, None),
            (f"ตำบล{s.name_th} อำเภอ{d.name_th} จังหวัด{p.name_th}", full_unique, None),
            (
                f"ต.{s.name_th} อ.{d.name_th}",
                by_name_district_name[(s.name_th, d.name_th)] == 1,
                None,
            ),
            (f"{s.name_th} {d.name_th} {p.name_th}", full_unique, None),
            (
                to_thai_digits(f"{rnd.randint(1, 300)} หมู่ที่ {rnd.randint(1, 20)} ")
                + f"ต.{s.name_th} อ.{d.name_th} {p.name_th}",
                full_unique,
                None,
            ),
            (f"{s.name_en}, {d.name_en}, {p.name_en} {s.postal_codes[0]}", None, None),
            (f"ต.{s.name_th}", by_name[s.name_th] == 1, None),
            (f"ต.{s.name_th}", by_name_province[(s.name_th, s.province_code)] == 1, p.code),
        ]
        for text, unique, context in cases:
            r = geocode(text, province_code=context)
            right = r.confident and r.tambon_code == s.code
            if r.confident and r.tambon_code != s.code:
                outcomes["confident_wrong"] += 1
                problems.append(f"wrong: {text} -> {r.tambon_code} (want {s.code})")
            elif unique is False and r.confident:
                outcomes["confident_on_ambiguous"] += 1
                problems.append(f"not unique but confident: {text}")
            elif unique is not False and not right:
                outcomes["missed"] += 1
                problems.append(f"missed: {text} -> {r.quality} {r.candidates_text()[:80]}")
            else:
                outcomes["ok"] += 1
    print(f"\ngenerated addresses: {dict(outcomes)}")
    assert outcomes["confident_wrong"] == 0, problems
    assert outcomes["confident_on_ambiguous"] == 0, problems
    assert outcomes["missed"] <= 0.01 * sum(outcomes.values()), problems


def test_typos_are_corrected_or_left_unconfident() -> None:
    subs = [s for s in _all_subdistricts() if len(s.name_th) >= 6 and s.province_code != "10"]
    rnd = random.Random(7)
    right = wrong = 0
    for s in rnd.sample(subs, 150):
        name = list(s.name_th)
        name[rnd.randrange(1, len(name) - 1)] = "ก"
        d = geothai.district(s.district_code)
        p = geothai.province(s.province_code)
        assert d is not None and p is not None
        r = geocode(f"ต.{''.join(name)} อ.{d.name_th} จ.{p.name_th}")
        if r.confident:
            right += r.tambon_code == s.code
            wrong += r.tambon_code != s.code
    print(f"\ntypos: {right} corrected, {wrong} confidently wrong, of 150")
    assert right >= 120
    assert wrong <= 2  # a typo can spell another subdistrict of the same district


# --------------------------------------------------------------------------- behaviour


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("๑๒๓ หมู่ที่ ๔ ต.ด่าน อ.กาบเชิง จ.สุรินทร์", "320605"),
        ("ต.ด่านอ.กาบเชิงจ.สุรินทร์", "320605"),
        ("ต. ด่าน  อ. กาบเชิง  จ. สุรินทร์", "320605"),
        ("ตำบลด่าน อำเภอกาบเชิง จังหวัดสุรินทร์ 32210", "320605"),
        ("ต.ในเมือง อ.เมือง จ.สุรินทร์", "320101"),  # อ.เมือง = เมืองสุรินทร์
        ("ในเมือง เมือง สุรินทร์", "320101"),
        ("Nong Rakhang, Sanom, Surin 32160", "320803"),
        ("Tambon Nai Mueang, Amphoe Muang, Surin", "320101"),
        ("Nong Rakhang Sanom Surin", "320803"),
        ("แขวงบางนาเหนือ เขตบางนา กทม", "104702"),
        ("ต.หนองกราค อ.ด่านขุนทด จ.นครราชสีมา", "300810"),  # typo: หนองกราด
        ("ต.จ.ป.ร. อ.กระบุรี จ.ระนอง", "850406"),  # a name with dots
        ("ต.สามตำบล อ.จุฬาภรณ์ จ.นครศรีธรรมราช", "801906"),  # a name holding ตำบล
        ("สุรินทร์ สังขะ สังขะ", "321001"),  # written province first
    ],
)
def test_address_forms(address: str, code: str) -> None:
    r = geocode(address)
    assert (r.tambon_code, r.quality, r.ambiguous) == (code, "subdistrict", False)
    assert r.amphoe_code == code[:4] and r.province_code == code[:2]
    assert 75 <= r.score <= 100


def test_context_province_is_used_only_when_the_address_names_none() -> None:
    assert not geocode("ต.ด่าน").confident  # in Surin and in Si Sa Ket
    assert geocode("ต.ด่าน", province_code="32").tambon_code == "320605"
    assert geocode("ต.ด่าน", province_code="33").tambon_code == "330907"
    # The address names Si Sa Ket: the upload's province does not override it.
    assert geocode("ต.ด่าน จ.ศรีสะเกษ", province_code="32").tambon_code == "330907"
    with pytest.raises(ValidationError):
        geocode("ต.ด่าน", province_code="99")


def test_postal_code_narrows_the_choice() -> None:
    assert not geocode("ต.ด่าน").confident
    r = geocode("ต.ด่าน 32210")
    assert r.tambon_code == "320605" and r.confident


def test_ambiguous_names_list_their_candidates() -> None:
    r = geocode("ต.โพธิ์ไทร")
    assert r.ambiguous and not r.confident and r.tambon_code is None
    names = {geothai.subdistrict(c.tambon_code).name_th for c in r.candidates}  # type: ignore[union-attr]
    assert names == {"โพธิ์ไทร"}
    expected = {s.code for s in _all_subdistricts() if s.name_th == "โพธิ์ไทร"}
    assert {c.tambon_code for c in r.candidates} == expected


def test_ambiguous_within_one_province_keeps_the_province() -> None:
    # ในเมือง exists in several districts of Nakhon Ratchasima.
    expected = {
        s.code for s in _all_subdistricts() if s.name_th == "ในเมือง" and s.province_code == "30"
    }
    assert len(expected) > 1
    r = geocode("ต.ในเมือง จ.นครราชสีมา")
    assert r.ambiguous and r.quality == "province" and r.province_code == "30"


def test_nonsense_is_none_and_district_only_is_district() -> None:
    assert geocode("ต.ฟดธนฉซ อ.ซฉนธดฟ").quality == "none"
    assert geocode("qwerty asdf").quality == "none"
    r = geocode("ต.ฟดธนฉซ อ.ประทาย จ.นครราชสีมา")
    assert (r.quality, r.amphoe_code, r.tambon_code) == ("district", "3013", None)
    r = geocode("จ.สุรินทร์")
    assert (r.quality, r.province_code) == ("province", "32")
    for empty in (None, "", "  ", float("nan")):
        assert geocode(empty).quality == "none"


def test_subdistrict_in_the_wrong_district_is_not_confident() -> None:
    # ตาโกน is in เมืองจันทร์, not ขุขันธ์: one of the two parts is wrong.
    r = geocode("ต.ตาโกน อ.ขุขันธ์ จ.ศรีสะเกษ")
    assert not r.confident
    assert "331802" in {c.tambon_code for c in r.candidates}


def test_abolished_names_reach_their_successors() -> None:
    # แขวงบางนา was split into บางนาเหนือ and บางนาใต้: ambiguous between the two.
    r = geocode("แขวงบางนา เขตบางนา กรุงเทพมหานคร")
    assert r.ambiguous and not r.confident
    assert {"104702", "104703"} <= {c.tambon_code for c in r.candidates}


def test_coordinates_in_the_address_cell() -> None:
    r = geocode("14.88, 103.49")
    assert (r.quality, r.lat, r.lon) == ("coordinates", 14.88, 103.49)
    r = geocode("https://maps.google.com/?q=14.88,103.49")
    assert r.quality == "coordinates"


def test_parse_address_parts() -> None:
    parsed = parse_address("๑๒๓/๔ หมู่ที่ ๔ บ้านหนองแวง ซอยสุขใจ ต.ด่าน อ.กาบเชิง จ.สุรินทร์ ๓๒๒๑๐")
    assert [(t.role, t.text) for t in parsed.tokens] == [
        ("free", "บ้านหนองแวง"),
        ("sub", "ด่าน"),
        ("dist", "กาบเชิง"),
        ("prov", "สุรินทร์"),
    ]
    assert parsed.postal_code == "32210"
    assert parse_address("Nong Rakhang, Sanom, Surin 32160").english


def test_gazetteer_is_built_once_and_covers_geothai() -> None:
    gaz = get_gazetteer()
    assert gaz is get_gazetteer()
    assert isinstance(gaz, Gazetteer)
    assert len(gaz.subdistricts) == len(_all_subdistricts()) >= 7436
    assert len(gaz.provinces) == 77
    assert gaz.label("320605") == "ต.ด่าน อ.กาบเชิง จ.สุรินทร์"


def test_geocode_many_keeps_order_and_length() -> None:
    addresses = ["ต.ด่าน อ.กาบเชิง", None, "ต.ด่าน อ.กาบเชิง", "ต.โพธิ์ไทร", ""]
    results = geocode_many(addresses)
    assert [r.tambon_code for r in results] == ["320605", None, "320605", None, None]


# --------------------------------------------------------------------------- CSV and CLI


def _write(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.write_bytes(text.encode(encoding))


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_geocode_csv_keeps_every_row_in_order(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    _write(
        src,
        "id,address,tambon_code\n"
        "1,ต.ด่าน อ.กาบเชิง จ.สุรินทร์,320605\n"
        "2,ต.โพธิ์ไทร,\n"
        "3,,\n"
        '4,=HYPERLINK("x"),\n'
        '5,"Nong Rakhang, Sanom, Surin 32160",320803\n',
    )
    out = tmp_path / "out.csv"
    counts = geocode_csv(src, out, "address")
    rows = _read(out)
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert counts["rows"] == 5 and counts["confident"] == 2
    assert list(rows[0])[-7:] == [
        "tambon_code",
        "amphoe_code",
        "province_code",
        "quality",
        "score",
        "ambiguous",
        "candidates",
    ]
    assert rows[0]["input_tambon_code"] == "320605"  # the input's own column is kept
    assert rows[0]["tambon_code"] == "320605" and rows[0]["ambiguous"] == "false"
    assert rows[1]["ambiguous"] == "true" and rows[1]["tambon_code"] == ""
    assert "โพธิ์ไทร" in rows[1]["candidates"]
    assert rows[2]["quality"] == "none"
    assert rows[3]["address"].startswith("'=")  # no formula reaches a spreadsheet
    assert rows[4]["tambon_code"] == "320803"


def test_geocode_csv_reads_tis620_and_semicolons(tmp_path: Path) -> None:
    src = tmp_path / "old_excel.csv"
    _write(src, "ลำดับ;ที่อยู่\n1;ต.ด่าน อ.กาบเชิง\n2;ต.สังขะ อ.สังขะ\n", encoding="cp874")
    out = tmp_path / "out.csv"
    geocode_csv(src, out, "ที่อยู่", province_code="32")
    assert [r["tambon_code"] for r in _read(out)] == ["320605", "321001"]


def test_geocode_csv_missing_column(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    _write(src, "a,b\n1,2\n")
    with pytest.raises(ValidationError, match="no column 'address'"):
        geocode_csv(src, tmp_path / "out.csv", "address")


def test_cli_geocode(tmp_path: Path) -> None:
    from com.cli import app

    src = tmp_path / "in.csv"
    _write(src, "address\nต.ด่าน อ.กาบเชิง จ.สุรินทร์\n")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app, ["geocode", str(src), "--column", "address", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert '"confident": 1' in result.output
    assert _read(out)[0]["tambon_code"] == "320605"
