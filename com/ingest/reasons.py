"""Why a row was rejected (or set aside as a duplicate): a reason code, Thai and English.

Every row outcome is written in English where it arises (the coordinate parser, the readers,
the row builders, the set-based SQL checks); :func:`describe` is the one place that turns
such a text into a machine-readable code and a Thai sentence, so the report of any upload,
old or new, carries both languages. The English text stays as written (it names the value
and the limit); the Thai text says the same for the uploader, keeping values as written.

Each rule is a regular expression over the English text with named groups reused by the
Thai template. The rules are tried in order; a text no rule knows gets the code
``rejected`` and a generic Thai sentence with the English appended (the tests check that no
rejection path of the importer falls through to it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["REASON_CODES", "RowReason", "describe"]


@dataclass(frozen=True)
class RowReason:
    """A row's reason in both languages.

    Attributes
    ----------
    code : str
        Machine-readable (``coordinate_out_of_range``, ``outside_province``, ...).
    en, th : str
        The reason in English and in Thai.
    """

    code: str
    en: str
    th: str

    def as_dict(self) -> dict[str, str]:
        """Return ``{"reason_code", "reason_en", "reason_th"}``."""
        return {"reason_code": self.code, "reason_en": self.en, "reason_th": self.th}


_V = r"(?P<value>.+?)"
#: (code, pattern over the English text, Thai template using the pattern's named groups).
_RULES: tuple[tuple[str, str, str], ...] = (
    # ---- place: coordinates
    ("coordinate_not_finite", r"^coordinate (?:(?P<value>.+?) )?is not a (?:finite )?number"
     r"(?: \(NaN/Infinity\)|: .* out of range)",
     "ค่าพิกัด {value} ไม่ใช่ตัวเลขที่ใช้ได้ (NaN/Infinity หรือใหญ่เกินไป)"),
    ("coordinate_not_finite", r"^(?P<value>.+?) is (?:NaN \(not a number\)|infinite)$",
     "{value} ไม่ใช่ตัวเลขที่ใช้ได้ (NaN/Infinity)"),
    ("coordinate_not_number", rf"^{_V} '(?P<cell>.*)' is not a number$",
     "{value} '{cell}' ไม่ใช่ตัวเลข"),
    ("coordinate_empty", r"^(?:coordinate|(?P<value>.+?)) is empty$",
     "ช่องพิกัดว่าง"),
    ("coordinate_out_of_range",
     r"^coordinate (?P<value>.+?): (?P<axis>latitude|longitude) (?P<number>\S+) is out of range",
     "พิกัด {value}: ค่า{axis_th} {number} เกินช่วงที่เป็นไปได้ (ละติจูด -90 ถึง 90, "
     "ลองจิจูด -180 ถึง 180)"),
    ("coordinate_outside_area",
     r"^coordinate (?P<value>.+?): point (?P<lat>\S+), (?P<lon>\S+) is outside (?P<area>.+)$",
     "พิกัด {value}: จุด {lat}, {lon} อยู่นอกพื้นที่ ({area})"),
    ("coordinate_one_value", r"^coordinate (?P<value>.+?) holds one value",
     "พิกัด {value} มีค่าเดียว ต้องมีทั้งละติจูดและลองจิจูด"),
    ("coordinate_value_count",
     r"^coordinate (?P<value>.+?): expected latitude and longitude, found (?P<n>\d+) values",
     "พิกัด {value}: ต้องมีละติจูดและลองจิจูด 2 ค่า แต่พบ {n} ค่า"),
    ("coordinate_same_axis", r"^coordinate (?P<value>.+?): both values are (?P<axis>\w+)s$",
     "พิกัด {value}: ทั้งสองค่าเป็น{axis_th} (ต้องมีละติจูดหนึ่งค่าและลองจิจูดหนึ่งค่า)"),
    ("coordinate_hemisphere",
     r"^(?P<value>.+?) has the hemisphere letter of a (?P<axis>\w+)itude$",
     "{value} มีอักษรซีกโลกของ{axis_th}ผิดช่อง"),
    ("coordinate_more_values", r"^(?P<value>.+?) holds more than one value$",
     "{value} มีมากกว่าหนึ่งค่าในช่องเดียว"),
    # The parser's detail is English: the Thai text explains in Thai instead (issue 15); the
    # English reason keeps it.
    ("coordinate_unreadable", r"^coordinate (?P<value>.+?) cannot be read \((?P<detail>.*)\)$",
     "อ่านพิกัด {value} ไม่ได้ (ไม่ใช่รูปแบบพิกัดที่อ่านได้ เช่น 14.88, 103.49 หรือ 14°52'N 103°29'E)"),
    ("coordinate_unreadable", r"^coordinate (?P<value>.+?): (?P<detail>.+)$",
     "อ่านพิกัด {value} ไม่ได้ (รูปแบบองศา-ลิปดา-ฟิลิปดาหรือตัวเลขไม่ถูกต้อง)"),
    ("coordinate_unreadable", r"^(?P<value>.+?) cannot be read: (?P<detail>.+)$",
     "อ่านค่า {value} ไม่ได้ (ไม่ใช่รูปแบบพิกัดที่อ่านได้ เช่น 14.88, 103.49 หรือ 14°52'N 103°29'E)"),
    ("utm_zone_invalid", r"^UTM zone (?P<value>.*)$",
     "โซน UTM ไม่ถูกต้อง ({value}); ประเทศไทยใช้โซน 47 หรือ 48"),
    ("utm_zone_missing", r"^UTM (?P<value>.+?) has no zone",
     "พิกัด UTM {value} ไม่มีโซน (47 หรือ 48): เพิ่มคอลัมน์โซนหรือเขียนเช่น 48P"),
    ("utm_zone_conflict", r"^UTM (?P<value>.+?): zone (?P<a>\S+) in the value but (?P<b>\S+)",
     "พิกัด UTM {value}: ในค่าระบุโซน {a} แต่คอลัมน์โซนระบุ {b}"),
    ("utm_unreadable", r"^UTM (?P<value>.+?): (?P<detail>.+)$",
     "อ่านพิกัด UTM {value} ไม่ได้ (ต้องมีค่าตะวันออก ค่าเหนือ และโซน เช่น 48P 291000 1646000)"),
    ("mgrs_invalid", r"^MGRS (?P<value>.+?)(?::| is| needs)(?P<detail>.*)$",
     "พิกัด MGRS {value} ไม่ถูกต้อง (ตัวอย่างรูปแบบที่ถูกต้อง: 48PTA 91000 46000)"),
    ("datum_invalid", r"^(?:datum|transformation) (?P<value>.+)$",
     "ระบบพิกัดอ้างอิง (datum) ไม่ถูกต้อง: {value}"),
    ("link_unresolvable", r"^link (?P<value>.+?) needs the full link",
     "ลิงก์ {value} เป็นลิงก์ย่อ (เช่น goo.gl) ซึ่งเปิดดูพิกัดแบบออฟไลน์ไม่ได้: "
     "เปิดลิงก์แล้วคัดลอกพิกัดหรือลิงก์เต็มมาแทน"),
    ("link_no_coordinates", r"^link (?P<value>.+?) holds no coordinates",
     "ลิงก์ {value} ไม่มีพิกัดอยู่ในลิงก์"),
    ("link_not_map", r"^link (?P<value>.+?) is not (?:a Google Maps link|a valid URL)",
     "ลิงก์ {value} ไม่ใช่ลิงก์แผนที่ที่มีพิกัด (เช่น Google Maps)"),
    ("plus_code_invalid", r"^plus code (?P<value>.+?) is not valid",
     "รหัส Plus Code {value} ไม่ถูกต้อง"),
    ("plus_code_no_locality", r"^plus code (?P<value>.+?) is short",
     "รหัส Plus Code แบบย่อ {value} ต้องมีชื่อตำบล อำเภอ หรือจังหวัดต่อท้าย "
     "(เช่น VQ5R+XX สุรินทร์)"),
    ("plus_code_unknown_locality",
     r"^plus code (?P<value>.+?): the place (?P<place>.+?) is not",
     "รหัส Plus Code {value}: ไม่รู้จักสถานที่ {place} ที่ใช้อ้างอิง"),
    ("coordinate_not_finite", r"^coordinate is not a finite number",
     "ค่าพิกัดไม่ใช่ตัวเลขที่ใช้ได้ (NaN/Infinity)"),
    # ---- place: addresses
    ("no_place", r"^no coordinates and no address$",
     "ไม่มีพิกัดและไม่มีที่อยู่"),
    ("address_not_accepted", r"^(?P<kind>\w+) need coordinates; an address",
     "ข้อมูลประเภท {kind} ต้องมีพิกัด: ที่อยู่ระบุตำแหน่งได้เพียงโดยประมาณ"),
    ("address_ambiguous", r"^the address fits more than one subdistrict equally: (?P<rest>.+)$",
     "ที่อยู่ตรงกับหลายตำบลพอ ๆ กัน: {rest}"),
    ("address_too_coarse",
     r"^the address only identifies a (?P<level>district|province), not a subdistrict: "
     r"(?P<rest>.+)$",
     "ที่อยู่ระบุได้เพียงระดับ{level_th} ไม่ถึงตำบล: {rest}"),
    ("address_no_match", r"^the address matches no subdistrict well enough: (?P<rest>.+)$",
     "ที่อยู่ไม่ตรงกับตำบลใดมากพอ: {rest}"),
    ("unknown_subdistrict_code",
     r"^the address gives subdistrict (?P<code>\S+), which the loaded boundaries do not have",
     "ที่อยู่ระบุตำบลรหัส {code} ซึ่งไม่มีในขอบเขตการปกครองที่โหลดไว้"),
    # ---- place: the database checks
    ("outside_thailand", r"^outside Thailand: the feature",
     "อยู่นอกประเทศไทย: ข้อมูลเส้นหรือพื้นที่นี้ไม่อยู่ในระยะ 1 กม. จากตำบลใดของไทย"),
    ("outside_thailand",
     r"^outside Thailand: (?P<lat>\S+), (?P<lon>\S+) is not inside \(or within (?P<m>\S+) m",
     "อยู่นอกประเทศไทย: จุด {lat}, {lon} ไม่อยู่ในตำบลใดของไทย (หรือห่างเกิน {m} ม.)"),
    ("outside_province",
     r"^outside province (?P<code>\S+) (?P<name>.+?) \((?P<en>.*?)\): the place is in "
     r"(?P<code2>\S+) (?P<name2>.+?) \((?P<en2>.*?)\), subdistrict (?P<sub>\S+)",
     "อยู่นอกจังหวัด {name} ({code}) ที่อัปโหลด: จุดนี้อยู่ใน{name2} ({code2}) ตำบลรหัส {sub}"),
    # ---- geometry
    ("geometry_too_large", r"^geometry has (?P<n>[\d,]+) vertices; at most (?P<max>[\d,]+)",
     "รูปทรงมี {n} จุดยอด เกินที่รับได้ ({max})"),
    ("geometry_too_large", r"^geometry has more than (?P<max>[\d,]+) vertices",
     "รูปทรงมีจุดยอดเกิน {max} จุด"),
    ("geometry_not_finite", r"^geometry has NaN or infinite coordinates$",
     "รูปทรงมีพิกัดที่ไม่ใช่ตัวเลข (NaN/Infinity)"),
    ("geometry_out_of_range", r"^geometry coordinates are outside -180\.\.180",
     "พิกัดของรูปทรงเกินช่วง -180..180 / -90..90 องศา"),
    ("geometry_empty", r"^(?:geometry is empty|WKT geometry is empty|an empty MultiGeometry)$",
     "รูปทรงว่างเปล่า"),
    ("geometry_wrong_type", r"^(?P<kind>\w+) must be points, not (?P<type>\w+)",
     "ข้อมูลประเภท {kind} ต้องเป็นจุด ไม่ใช่ {type}"),
    ("geometry_ring_open", r"^polygon ring is not closed",
     "วงรอบของรูปหลายเหลี่ยมไม่ปิด (จุดแรกกับจุดสุดท้ายไม่ตรงกัน)"),
    ("geometry_too_few_points",
     r"^(?:polygon ring has too few points|a line needs at least two points|a LineString "
     r"needs at least two|a polygon ring needs at least three|a Point needs exactly one)",
     "รูปทรงมีจำนวนจุดไม่พอ (เส้นต้องมีอย่างน้อย 2 จุด วงรอบต้องมีอย่างน้อย 4 จุด)"),
    ("geometry_unreadable",
     r"^(?:WKT cannot be read|geometry cannot be (?:read|built)|a Polygon has no outer|"
     r"unsupported KML geometry|coordinate .* is not lon,lat)(?P<detail>.*)$",
     "อ่านรูปทรงไม่ได้ (ใช้จุด เส้น หรือรูปหลายเหลี่ยม เขียนแบบลองจิจูด,ละติจูด)"),
    # ---- record fields
    ("fiscal_year_missing", r"^no fiscal year", "ไม่ได้ระบุปีงบประมาณ"),
    ("fiscal_year_invalid", r"^fiscal year:? (?P<detail>.+)$",
     "ปีงบประมาณไม่ถูกต้อง (ใช้ปี พ.ศ. เช่น 2568)"),
    # ---- duplicates (not rejections, but reported the same way)
    ("duplicate_identical", r"^identical to row (?P<row>\d+)$", "ซ้ำกับแถวที่ {row} ทุกช่อง"),
    ("duplicate_stored",
     r"^same (?:(?P<col>\w+) and )?place within (?P<m>[\d.]+) m as stored record (?P<id>\d+)",
     "ซ้ำกับข้อมูลที่บันทึกไว้แล้ว (รหัส {id}): ประเภทเดียวกันในระยะ {m} ม."),
    ("duplicate_stored",
     r"^same subdistrict, name and address as stored record (?P<id>\d+)",
     "ซ้ำกับข้อมูลที่บันทึกไว้แล้ว (รหัส {id}): ตำบล ชื่อ และที่อยู่เดียวกัน"),
    ("duplicate_nearby_row",
     r"^same (?:\w+ )?(?:place )?within (?P<m>[\d.]+) m of row (?P<row>\d+)",
     "ซ้ำกับแถวที่ {row}: ในระยะ {m} ม."),
    ("duplicate_same_address", r"^same subdistrict, name and address as row (?P<row>\d+)",
     "ซ้ำกับแถวที่ {row}: ตำบล ชื่อ และที่อยู่เดียวกัน"),
    ("duplicate_layer_feature", r"^the same feature is already in layer (?P<layer>.+)$",
     "มีข้อมูลนี้อยู่แล้วในชั้นข้อมูล {layer}"),
)

_COMPILED = tuple((code, re.compile(pattern, re.DOTALL), th) for code, pattern, th in _RULES)
#: Every code :func:`describe` can give (``rejected``: a reason no rule knows).
REASON_CODES: tuple[str, ...] = (*dict.fromkeys(code for code, _, _ in _RULES), "rejected")

_AXIS_TH = {"latitude": "ละติจูด", "longitude": "ลองจิจูด", "lat": "ละติจูด", "lon": "ลองจิจูด",
            "latitud": "ละติจูด", "longitud": "ลองจิจูด"}
_LEVEL_TH = {"district": "อำเภอ", "province": "จังหวัด"}


class _Blank(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return ""


def describe(reason_en: str | None) -> RowReason | None:
    """Return the code and the Thai text of an English row reason (None for None).

    Examples
    --------
    >>> describe("no coordinates and no address").th
    'ไม่มีพิกัดและไม่มีที่อยู่'
    >>> describe("identical to row 3").code
    'duplicate_identical'
    """
    if reason_en is None:
        return None
    text = reason_en.strip()
    for code, pattern, th in _COMPILED:
        m = pattern.search(text)
        if m is None:
            continue
        groups = _Blank({k: v for k, v in m.groupdict().items() if v is not None})
        if "axis" in groups:
            groups["axis_th"] = _AXIS_TH.get(groups["axis"], groups["axis"])
        if "level" in groups:
            groups["level_th"] = _LEVEL_TH.get(groups["level"], groups["level"])
        if "detail" in groups and code == "geometry_unreadable":
            groups["detail"] = f" ({text})"
        return RowReason(code, reason_en, " ".join(th.format_map(groups).split()))
    return RowReason("rejected", reason_en, f"แถวนี้นำเข้าไม่ได้ ({reason_en})")
