"""Thai address geocoding to subdistrict (tambon) codes against the ``geothai`` gazetteer."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from rapidfuzz import fuzz, process

from com.errors import ParseError, ValidationError
from com.io.escape import escape_formula
from com.text.thai import clean_text
from com.text.typos import typing_distance, typing_similarity

__all__ = [
    "CONFIDENT_SCORE",
    "Candidate",
    "GeocodeResult",
    "Gazetteer",
    "ParsedAddress",
    "clear_caches",
    "geocode",
    "geocode_csv",
    "geocode_many",
    "get_gazetteer",
    "parse_address",
]

# Why hand-written: geothai.match() needs the address already split into fields and exact names,
# and no maintained library splits free Thai address text (ต./อ./จ., หมู่, บ้าน..., Thai digits,
# romanised forms) or weighs typos against ambiguity. geothai supplies the gazetteer, pythainlp
# the text normalisation and rapidfuzz the typo matching; this module only combines them.

Quality = Literal["coordinates", "subdistrict", "district", "province", "none"]

#: A single best subdistrict at or above this score is a confident answer.
CONFIDENT_SCORE = 75.0
#: A runner-up within this many points of the best makes the answer ambiguous.
AMBIGUITY_MARGIN = 5.0
#: Fuzzy cut-offs (rapidfuzz ratio, 0-100): looser in a small scope, strict nationwide.
_FUZZY_CUTOFF = {"district": 72.0, "province": 80.0, "nation": 88.0}
_EVIDENCE_MIN = 80.0  # a labelled district/province agrees from this similarity
_FREE_MIN = 85.0  # an unlabelled word counts as district/province evidence from here
_FREE_PROVINCE_MIN = 92.0  # an unlabelled word this close to a province name names it
_EXACT_NAME_MARGIN = 15.0  # exact name, wrong district vs near name, right district
_NAME_MIN = 80.0  # a subdistrict name this similar (or better) can be a confident answer
_MAX_CANDIDATES = 10
_PREFILTER_SLACK = 15.0  # rapidfuzz ratio below the cut-off still worth re-scoring for slips

# Weights of the evidence in the score (a weighted mean, 0-100).
_W_SUB, _W_DIST, _W_PROV, _W_POSTAL, _W_CONTEXT = 4.0, 2.5, 2.0, 1.0, 2.0
_LONE_FACTOR = 0.85  # only a subdistrict name, nothing to corroborate it
_UNEXPLAINED_PENALTY = 8.0  # per gazetteer name in the address the candidate does not explain
_CONSUMED_PENALTY = 30.0  # a district's name read as its subdistrict beside a misspelt one
_OTHER_PROVINCE_PENALTY = 20.0  # an unlabelled province name the candidate is not in

_BANGKOK = "10"

# Other names people write for provinces (Thai and romanised); keys are in _key() form.
_PROVINCE_ALIASES = {
    "กทม": "10",
    "กรุงเทพ": "10",
    "กรุงเทพฯ": "10",
    "bangkok": "10",
    "krungthep": "10",
    "bkk": "10",
    "อยุธยา": "14",
    "ayutthaya": "14",
    "ayuthaya": "14",
    "โคราช": "30",
    "korat": "30",
    "khorat": "30",
    "อุบล": "34",
    "ubon": "34",
    "นครศรีฯ": "80",
    "นครศรี": "80",
    "buriram": "31",
    "sisaket": "33",
    "srisaket": "33",
    "lopburi": "16",
    "chonburi": "20",
    "prachinburi": "25",
    "suphanburi": "72",
    "singburi": "17",
    "phangnga": "82",
}
_MUEANG = {"เมือง", "mueang", "muang", "meuang", "muaeng"}
#: A word this close to "เมือง" (one slip: a swap, a dropped mark or letter) still means it.
_MUEANG_SLIP = 1.0


# --------------------------------------------------------------------------- normalisation

_KEY_DROP = re.compile(r"[\s.\-'’`ฯ()\[\]{}\"]")


def _key(text: str) -> str:
    """Put cleaned text in matching form: no spaces, dots, hyphens, brackets; romanised unified."""
    key = _KEY_DROP.sub("", text.lower())
    if key.isascii():
        key = re.sub(r"^(muang|meuang|muaeng)", "mueang", key)
    return key


# --------------------------------------------------------------------------- gazetteer


@dataclass(frozen=True, slots=True)
class _Sub:
    code: str
    name_th: str
    name_en: str
    district_code: str
    province_code: str
    postal_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Area:
    code: str
    name_th: str
    name_en: str


class Gazetteer:
    """Provinces, districts and subdistricts with name indexes for geocoding.

    Build it once with :func:`get_gazetteer` (cached); it is read-only afterwards and safe to
    share between threads.

    Parameters
    ----------
    provinces, districts, subdistricts : sequence of tuple
        ``(code, name_th, name_en)`` rows for provinces and districts and
        ``(code, name_th, name_en, postal_codes)`` rows for subdistricts, as in ``geothai``.
    abolished : sequence of tuple, optional
        ``(name_th, name_en, successor_codes)`` of abolished subdistricts, so that old records
        naming them reach the subdistricts that replaced them.
    """

    def __init__(
        self,
        provinces: Sequence[tuple[str, str, str]],
        districts: Sequence[tuple[str, str, str]],
        subdistricts: Sequence[tuple[str, str, str, Sequence[str]]],
        abolished: Sequence[tuple[str, str | None, Sequence[str]]] = (),
    ) -> None:
        self.provinces = {c: _Area(c, th, en) for c, th, en in provinces}
        self.districts = {c: _Area(c, th, en) for c, th, en in districts}
        self.subdistricts = {
            c: _Sub(c, th, en, c[:4], c[:2], tuple(postal)) for c, th, en, postal in subdistricts
        }
        self.province_keys: dict[str, set[str]] = {}
        self.district_keys: dict[str, set[str]] = {}
        self.sub_keys: dict[str, set[str]] = {}
        self.postal: dict[str, set[str]] = {}
        self.subs_of_district: dict[str, list[str]] = {}
        self.subs_of_province: dict[str, list[str]] = {}
        self.districts_of_province: dict[str, list[str]] = {}
        self._area_keys: dict[str, tuple[str, ...]] = {}
        for p in self.provinces.values():
            keys = self._names(p.name_th, p.name_en)
            self._area_keys[p.code] = tuple(keys)
            for k in keys:
                self.province_keys.setdefault(k, set()).add(p.code)
        for alias, code in _PROVINCE_ALIASES.items():
            if code in self.provinces:
                self.province_keys.setdefault(_key(alias), set()).add(code)
        for d in self.districts.values():
            name_th = d.name_th
            if d.code.startswith(_BANGKOK):
                name_th = re.sub(r"^เขต", "", name_th)
            keys = self._names(name_th, d.name_en)
            self._area_keys[d.code] = tuple(keys)
            for k in keys:
                self.district_keys.setdefault(k, set()).add(d.code)
            self.districts_of_province.setdefault(d.code[:2], []).append(d.code)
        for s in self.subdistricts.values():
            keys = self._names(s.name_th, s.name_en)
            self._area_keys[s.code] = tuple(keys)
            for k in keys:
                self.sub_keys.setdefault(k, set()).add(s.code)
            for postal in s.postal_codes:
                self.postal.setdefault(postal, set()).add(s.code)
            self.subs_of_district.setdefault(s.district_code, []).append(s.code)
            self.subs_of_province.setdefault(s.province_code, []).append(s.code)
        # Names holding a marker ("สามตำบล", the dotted "จ.ป.ร.") would be cut by the
        # ต./ตำบล/อ./จ. markers: the parser protects them.
        marker = re.compile(r"ตำบล|อำเภอ|จังหวัด|แขวง|\.")
        self.protected_names = tuple(
            sorted(
                {a.name_th for a in self.subdistricts.values()}
                | {a.name_th for a in self.districts.values()},
                key=len,
                reverse=True,
            )
        )
        self.protected_names = tuple(n for n in self.protected_names if marker.search(n))
        # Abolished subdistricts (old records): name key -> current successor codes.
        self.abolished: dict[str, set[str]] = {}
        for name_th, name_en, successors in abolished:
            current = {c for c in successors if c in self.subdistricts}
            if current:
                for k in self._names(name_th, name_en or ""):
                    self.abolished.setdefault(k, set()).update(current)
        self.postal_provinces = {code: {c[:2] for c in subs} for code, subs in self.postal.items()}

    @staticmethod
    def _names(name_th: str, name_en: str) -> list[str]:
        name_th, name_en = clean_text(name_th), clean_text(name_en)
        keys = {_key(name_th), _key(name_en)}
        # "ปอภาร (ปอพาน)": both the name and the bracketed older name.
        for inner in re.findall(r"\(([^)]*)\)", name_th):
            keys.add(_key(inner))
            keys.add(_key(re.sub(r"\([^)]*\)", "", name_th)))
        return sorted(k for k in keys if k)

    @classmethod
    def from_geothai(cls) -> Gazetteer:
        """Build the gazetteer from the ``geothai`` package (77 provinces, 7,436 subdistricts).

        Returns
        -------
        Gazetteer
            A new gazetteer.
        """
        import geothai
        from geothai.abolished import abolished_areas

        provinces = [(p.code, p.name_th, p.name_en) for p in geothai.provinces()]
        districts = [
            (d.code, d.name_th, d.name_en) for p in provinces for d in geothai.districts(p[0])
        ]
        subdistricts = [
            (s.code, s.name_th, s.name_en, s.postal_codes)
            for d in districts
            for s in geothai.subdistricts(d[0])
        ]
        abolished = [
            (a.name_th, a.name_en, a.successors)
            for a in abolished_areas()
            if a.level == "subdistrict"
        ]
        return cls(provinces, districts, subdistricts, abolished)

    def keys_of(self, code: str) -> tuple[str, ...]:
        """Return the matching keys (Thai and English) of an area code."""
        return self._area_keys.get(code, ())

    def label(self, tambon_code: str) -> str:
        """Return ``ต.<name> อ.<name> จ.<name>`` for a subdistrict code."""
        s = self.subdistricts[tambon_code]
        d = self.districts.get(s.district_code)
        p = self.provinces.get(s.province_code)
        district = d.name_th if d else s.district_code
        if s.province_code == _BANGKOK:
            return f"แขวง{s.name_th} {district} {p.name_th if p else ''}".strip()
        return f"ต.{s.name_th} อ.{district} จ.{p.name_th if p else s.province_code}"

    def fuzzy(
        self, query: str, kind: str, scope: frozenset[str] = frozenset(), cutoff: float = 80.0
    ) -> dict[str, float]:
        """Find areas whose name is at least ``cutoff`` similar to ``query`` (rapidfuzz ratio).

        Parameters
        ----------
        query : str
            A name in matching-key form.
        kind : {"sub", "dist", "prov"}
            Which level to search.
        scope : frozenset of str
            District (4-digit) or province (2-digit) codes to search within; empty = all.
        cutoff : float
            Lowest similarity kept, 0-100.

        Returns
        -------
        dict of str to float
            Area code -> best similarity of any of its names (Thai or romanised, the script of
            the query).
        """
        if len(query) < 3:
            return {}
        return dict(_fuzzy_cached(self, query, kind, scope, cutoff))

    def choices(self, kind: str, scope: frozenset[str], ascii_keys: bool) -> dict[str, list[str]]:
        """Return name key -> area codes for one level within a scope (cached)."""
        return _choices_cached(self, kind, scope, ascii_keys)


@lru_cache(maxsize=4096)
def _choices_cached(
    gaz: Gazetteer, kind: str, scope: frozenset[str], ascii_keys: bool
) -> dict[str, list[str]]:
    if kind == "prov":
        codes: Iterable[str] = gaz.provinces
    elif kind == "dist":
        codes = (
            [c for p in sorted(scope) for c in gaz.districts_of_province.get(p, ())]
            if scope
            else gaz.districts
        )
    elif scope:
        codes = [
            c
            for area in sorted(scope)
            for c in (
                (area,)
                if len(area) == 6
                else gaz.subs_of_district.get(area, ())
                if len(area) == 4
                else gaz.subs_of_province.get(area, ())
            )
        ]
    else:
        codes = gaz.subdistricts
    table: dict[str, list[str]] = {}
    for code in codes:
        for key in gaz.keys_of(code):
            if key.isascii() == ascii_keys:
                table.setdefault(key, []).append(code)
    if kind == "prov":
        for alias, code in _PROVINCE_ALIASES.items():
            if _key(alias).isascii() == ascii_keys and code in gaz.provinces:
                table.setdefault(_key(alias), []).append(code)
    return table


class _NameIndex:
    """The names of one level and scope, with a character-count filter for large tables.

    ``fuzz.ratio`` is ``200 * LCS / (len(a) + len(b))`` and a common subsequence holds at
    most ``min(count_a(c), count_b(c))`` of each character ``c``, so the summed minimum counts
    bound the ratio from above. They are counted from postings (for each character and
    each k, the names holding it at least k times) with one ``numpy.bincount``; the bound
    drops nearly all of the country's 6,000 names before rapidfuzz sees any.
    """

    __slots__ = ("keys", "lengths", "postings")

    #: Tables smaller than this go straight to rapidfuzz.
    MIN_FILTERED = 400

    def __init__(self, keys: Sequence[str]) -> None:
        import numpy as np

        self.keys = list(keys)
        self.postings: dict[tuple[str, int], Any] = {}
        self.lengths: Any = None
        if len(self.keys) < self.MIN_FILTERED:
            return
        lists: dict[tuple[str, int], list[int]] = {}
        for i, key in enumerate(self.keys):
            seen: dict[str, int] = {}
            for ch in key:
                seen[ch] = seen.get(ch, 0) + 1
                lists.setdefault((ch, seen[ch]), []).append(i)
        self.postings = {k: np.array(v, dtype=np.int32) for k, v in lists.items()}
        self.lengths = np.array([len(k) for k in self.keys], dtype=np.float64)

    def near(self, query: str, min_ratio: float) -> list[str]:
        """Return the names whose ratio with ``query`` can reach ``min_ratio``."""
        import numpy as np

        if self.lengths is None:
            return self.keys
        parts = []
        postings = self.postings
        for ch in set(query):
            for k in range(1, query.count(ch) + 1):
                found = postings.get((ch, k))
                if found is None:
                    break
                parts.append(found)
        if not parts:
            return []
        common = np.bincount(np.concatenate(parts), minlength=len(self.keys))
        keep = common * 200.0 >= (min_ratio - 1e-9) * (self.lengths + len(query))
        keys = self.keys
        return [keys[i] for i in np.flatnonzero(keep)]


@lru_cache(maxsize=4096)
def _index_cached(
    gaz: Gazetteer, kind: str, scope: frozenset[str], ascii_keys: bool
) -> _NameIndex:
    return _NameIndex(list(_choices_cached(gaz, kind, scope, ascii_keys)))


def _fuzzy_floor(kind: str, scope: frozenset[str]) -> float:
    """Return the lowest cut-off the matcher asks of a level and scope (one search serves all)."""
    if kind == "prov":
        return _FUZZY_CUTOFF["province"]
    if not scope:
        return _FUZZY_CUTOFF["nation"]
    return _FUZZY_CUTOFF["district"] if kind == "sub" else _FUZZY_CUTOFF["province"]


@lru_cache(maxsize=65536)
def _near_names(
    gaz: Gazetteer, query: str, kind: str, scope: frozenset[str], cutoff: float
) -> tuple[tuple[str, float, float], ...]:
    """Names near ``query``: ``(name, ratio, typing similarity)``, exact from ``cutoff`` up.

    rapidfuzz finds the near names quickly (the character-count filter first for a large
    table); the typing-slip similarity (never below the ratio) then re-scores them, so a
    swapped pair or a dropped tone mark counts as close. The same word is looked up at
    several cut-offs (as a province at 80, 85 and 92): one search at the lowest serves all.
    """
    ascii_keys = query.isascii()
    floor = max(50.0, cutoff - _PREFILTER_SLACK)
    names = _index_cached(gaz, kind, scope, ascii_keys).near(query, floor)
    return tuple(
        (key, ratio, typing_similarity(query, key, score_cutoff=cutoff))
        for key, ratio, _ in process.extract(
            query, names, scorer=fuzz.ratio, score_cutoff=floor, limit=3 * _MAX_CANDIDATES
        )
    )


@lru_cache(maxsize=65536)
def _fuzzy_cached(
    gaz: Gazetteer, query: str, kind: str, scope: frozenset[str], cutoff: float
) -> tuple[tuple[str, float], ...]:
    table = _choices_cached(gaz, kind, scope, query.isascii())
    lowest = _fuzzy_floor(kind, scope)
    if cutoff < lowest:
        lowest = cutoff
    # The names a search at ``cutoff`` itself would re-score: the same top 30 by ratio, cut
    # at its own floor (extract orders by ratio, so those are a prefix of the list).
    floor = max(50.0, cutoff - _PREFILTER_SLACK)
    found: dict[str, float] = {}
    for key, ratio, score in _near_names(gaz, query, kind, scope, lowest):
        if ratio < floor:
            break
        if score < cutoff:
            continue
        for code in table[key]:
            found[code] = max(found.get(code, 0.0), score)
    best = sorted(found.items(), key=lambda x: -x[1])[:_MAX_CANDIDATES]
    return tuple(best)


def clear_caches() -> None:
    """Forget every cached look-up (name searches, similarities), keeping the gazetteer.

    The caches make repeated and related addresses cheap; benchmarks clear them to measure
    distinct addresses cold.
    """
    from com.text.typos import clear_typing_caches

    for cached in (_choices_cached, _index_cached, _near_names, _fuzzy_cached,
                   _area_sim_cached, _label, _is_mueang, _free_support_cached,
                   _district_matches_cached, _province_matches_cached):
        cached.cache_clear()
    clear_typing_caches()


@lru_cache(maxsize=1)
def get_gazetteer() -> Gazetteer:
    """Return the process-wide gazetteer built from ``geothai`` (built once, then cached).

    Returns
    -------
    Gazetteer
        The shared gazetteer.
    """
    return Gazetteer.from_geothai()


# --------------------------------------------------------------------------- parsing

Role = Literal["sub", "dist", "prov", "free"]


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    key: str
    role: Role
    index: int
    village: bool = False


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """An address split into labelled parts and free words.

    Attributes
    ----------
    tokens : tuple
        Name parts in their order, each with a role: ``sub`` (after ต./ตำบล/แขวง/Tambon),
        ``dist`` (อ./อำเภอ/เขต/Amphoe/District), ``prov`` (จ./จังหวัด/Province), or ``free``.
    postal_code : str or None
        A five-digit postal code found in the text.
    english : bool
        True for a romanised address.
    """

    tokens: tuple[_Token, ...]
    postal_code: str | None
    english: bool

    def of(self, role: Role) -> list[_Token]:
        """Return the tokens with a given role."""
        return [t for t in self.tokens if t.role == role]


_TH_MARKERS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(?:ตำบล|แขวง|ต\.|ต\s*\.|ขว\.)"), "sub"),
    (re.compile(r"^(?:กิ่งอำเภอ|กิ่ง\s*อ\.|อำเภอ|เขต|อ\.|อ\s*\.)"), "dist"),
    (re.compile(r"^(?:จังหวัด|จ\.|จ\s*\.)"), "prov"),
]
_TH_SKIP_WITH_NUMBER = re.compile(
    r"^(?:บ้านเลขที่|เลขที่|หมู่ที่|หมู่บ้านที่|หมู่|ม\.|ห้อง|ชั้น|อาคาร|no\.?)\s*(\d[\d/\-]*)?"
)
_TH_SKIP_WITH_NAME = re.compile(r"^(?:ซอย|ซ\.|ถนน|ถ\.|ตรอก|หมู่บ้าน|ม\.บ\.|โครงการ)")
_TH_SPLIT_BEFORE = re.compile(
    r"(?<=[\u0e00-\u0e7f\d)])(?=(?:ตำบล|อำเภอ|จังหวัด|แขวง|กิ่งอำเภอ|[ตอจม]\.))"
)
_POSTAL = re.compile(r"(?<![\d/.\-])([1-9]\d{4})(?![\d/.\-])")
_HOUSE = re.compile(r"^\d+(?:[/\-]\d+)*[ก-ฮ]?$")
_COUNTRY = re.compile(r"ประเทศไทย|\bthailand\b|\bราชอาณาจักรไทย\b", re.IGNORECASE)

_EN_ROLE_WORDS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"^(?:tambon|t\.|khwaeng|kwaeng|sub-?district|subdistrict)\s+|\s+(?:sub-?district|tambon)$"
        ),
        "sub",
    ),
    (
        re.compile(r"^(?:amphoe|amphur|a\.|khet|district)\s+|\s+(?:district|amphoe)$"),
        "dist",
    ),
    (re.compile(r"^(?:changwat|province|ch\.|jangwat)\s+|\s+(?:province|changwat)$"), "prov"),
]
_EN_SKIP = re.compile(
    r"^(?:\d+(?:/\d+)?|moo\.?\s*\d+|m\.\s*\d+|village\s+no\.?\s*\d+|no\.?\s*\d+|soi\b.*|"
    r".*\broad$|.*\brd\.?$|thanon\b.*)$"
)


def parse_address(address: str, *, gazetteer: Gazetteer | None = None) -> ParsedAddress:
    """Split a Thai or romanised address into subdistrict/district/province parts.

    Thai digits, spacing and the short forms ต./ตำบล/แขวง, อ./อำเภอ/เขต/กิ่งอำเภอ,
    จ./จังหวัด, ม./หมู่/หมู่ที่ are read; house numbers, หมู่, ซอย and ถนน are dropped.

    Parameters
    ----------
    address : str
        The address text.
    gazetteer : Gazetteer, optional
        Used to recognise postal codes and dotted names; default: :func:`get_gazetteer`.

    Returns
    -------
    ParsedAddress
        The parts in order.
    """
    return _parse_clean(clean_text(address), gazetteer or get_gazetteer())


def _parse_clean(text: str, gaz: Gazetteer) -> ParsedAddress:
    """Split an address already through :func:`com.text.thai.clean_text` (see parse_address)."""
    text = _COUNTRY.sub(" ", text)
    postal: str | None = None
    for m in reversed(list(_POSTAL.finditer(text))):
        if m.group(1) in gaz.postal:
            postal = m.group(1)
            text = text[: m.start()] + " " + text[m.end() :]
            break
    thai_chars = sum(1 for ch in text if "\u0e00" <= ch <= "\u0e7f")
    latin_chars = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    if latin_chars > thai_chars:
        return ParsedAddress(tuple(_english_tokens(text, gaz)), postal, True)
    return ParsedAddress(tuple(_thai_tokens(text, gaz)), postal, False)


def _thai_tokens(text: str, gaz: Gazetteer) -> list[_Token]:
    protected: dict[str, str] = {}
    for i, name in enumerate(gaz.protected_names):
        if name in text:
            placeholder = f"\x00{i}\x00"
            protected[placeholder] = name
            text = text.replace(name, placeholder)
    text = _TH_SPLIT_BEFORE.sub(" ", text)
    for placeholder, name in protected.items():
        text = text.replace(placeholder, name)
    words = [w for w in re.split(r"[\s,;]+", text) if w]
    tokens: list[_Token] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        skip = _TH_SKIP_WITH_NUMBER.match(word)
        if skip and (skip.group(1) or skip.end() == len(word)):
            rest = word[skip.end() :]
            if not skip.group(1) and i < len(words) and re.fullmatch(r"\d[\d/\-]*", words[i]):
                i += 1  # "หมู่ที่ 4", "เลขที่ 12/3"
            if rest:
                words.insert(i, rest)
            continue
        if _TH_SKIP_WITH_NAME.match(word) and not _known(gaz, _key(word)):
            if _TH_SKIP_WITH_NAME.fullmatch(word) and i < len(words):
                i += 1  # "ซอย สุขใจ", "ถนน มิตรภาพ"
            continue
        if _HOUSE.match(word):
            continue
        role: Role = "free"
        for pattern, marker_role in () if word in gaz.protected_names else _TH_MARKERS:
            m = pattern.match(word)
            if m is not None:
                rest = word[m.end() :]
                if not rest and i < len(words):
                    rest = words[i]
                    i += 1
                if rest:
                    role = marker_role  # type: ignore[assignment]
                    word = rest
                else:
                    word = ""
                break
        if not word:
            continue
        key = _key(word)
        if not key or key.isdigit():
            continue
        village = role == "free" and word.startswith("บ้าน") and len(word) > 4
        tokens.append(_Token(word, key, role, len(tokens), village))
    return tokens


def _known(gaz: Gazetteer, key: str) -> bool:
    return key in gaz.sub_keys or key in gaz.district_keys or key in gaz.province_keys


def _segment(gaz: Gazetteer, words: list[str]) -> list[str]:
    """Split "nong rakhang sanom surin" into known names (most words covered, fewest parts)."""
    n = len(words)
    # best[i] = (words covered, -parts, spans) for words[i:]
    best: list[tuple[int, int, list[str]]] = [(0, 0, [])] * (n + 1)
    for i in range(n - 1, -1, -1):
        options = [(best[i + 1][0], best[i + 1][1], best[i + 1][2])]  # skip words[i]
        for j in range(i + 1, min(n, i + 6) + 1):
            span = " ".join(words[i:j])
            if _known(gaz, _key(span)):
                covered, parts, spans = best[j]
                options.append((covered + (j - i), parts - 1, [span, *spans]))
        best[i] = max(options, key=lambda o: (o[0], o[1]))
    return best[0][2]


def _english_tokens(text: str, gaz: Gazetteer) -> list[_Token]:
    parts: list[tuple[str, Role]] = []
    # Thai word order is kept in romanised addresses: subdistrict, district, province.
    for part in re.split(r"[,;\n]+", text.lower()):
        part = re.sub(r"\s+", " ", part).strip(" .")
        part = re.sub(r"^(?:\d+(?:/\d+)?\s+)?(?:moo|m\.|village no\.?)\s*\d+\s*", "", part)
        part = re.sub(r"^\d+(?:/\d+)?\s+", "", part).strip()
        if not part:
            continue
        if _known(gaz, _key(part)):
            parts.append((part, "free"))  # "Soi Lakhon", "Sam Tambon" are subdistricts
            continue
        if _EN_SKIP.match(part):
            continue
        role: Role = "free"
        for pattern, marker_role in _EN_ROLE_WORDS:
            new = pattern.sub("", part)
            if new != part:
                role = marker_role  # type: ignore[assignment]
                part = new.strip()
                break
        if role == "free" and " " in part and not _known(gaz, _key(part)):
            spans = _segment(gaz, part.split(" "))
            if spans:
                parts.extend((span, "free") for span in spans)
                continue
        parts.append((part, role))
    tokens: list[_Token] = []
    for part, role in parts:
        key = _key(part)
        if key and not key.isdigit():
            tokens.append(_Token(part, key, role, len(tokens)))
    return tokens


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Candidate:
    """One subdistrict an address may mean."""

    tambon_code: str
    amphoe_code: str
    province_code: str
    name: str
    score: float


@dataclass(frozen=True, slots=True)
class GeocodeResult:
    """The answer for one address.

    Attributes
    ----------
    tambon_code, amphoe_code, province_code : str or None
        Codes down to the level the address was placed at (all None for ``none``).
    quality : {"coordinates", "subdistrict", "district", "province", "none"}
        The level reached; ``coordinates`` when the text itself was a coordinate or map link.
    score : int
        0-100 agreement of the address with the answer.
    ambiguous : bool
        True when more than one subdistrict fits about equally; ``candidates`` lists them and
        no subdistrict is chosen.
    candidates : tuple of Candidate
        The best subdistricts considered, best first (up to 10).
    lat, lon : float or None
        Only for ``coordinates``.
    message : str
        Why the answer is not a confident subdistrict (empty when it is).
    """

    tambon_code: str | None
    amphoe_code: str | None
    province_code: str | None
    quality: Quality
    score: int
    ambiguous: bool
    candidates: tuple[Candidate, ...] = ()
    lat: float | None = None
    lon: float | None = None
    message: str = ""

    @property
    def confident(self) -> bool:
        """True for a single subdistrict answer (quality subdistrict, not ambiguous)."""
        return self.quality == "subdistrict" and not self.ambiguous

    def candidates_text(self) -> str:
        """Candidates as ``code name (score)`` joined with ``; `` for CSV output."""
        return "; ".join(f"{c.tambon_code} {c.name} ({c.score:.0f})" for c in self.candidates)


_NONE = GeocodeResult(None, None, None, "none", 0, False, message="empty address")


# --------------------------------------------------------------------------- matching


@dataclass(slots=True)
class _Scored:
    code: str
    score: float
    sub_token: int
    name_sim: float


def _stretch(similarity: float) -> float:
    """Widen the gap between exact and fuzzy matches: 100 stays 100, 90 becomes 80."""
    return similarity if similarity >= 100.0 else max(0.0, 100.0 - 2.0 * (100.0 - similarity))


def _area_sim(gaz: Gazetteer, key: str, code: str, *, level: str) -> float:
    """Similarity 0-100 of a written name and a district or province (fuzzy ones stretched)."""
    if key in gaz.keys_of(code):
        return 100.0
    return _area_sim_cached(gaz, key, code, level)


@lru_cache(maxsize=131072)
def _area_sim_cached(gaz: Gazetteer, key: str, code: str, level: str) -> float:
    keys = gaz.keys_of(code)
    if key in keys:
        return 100.0
    if level == "prov":
        if code in gaz.province_keys.get(key, ()):
            return 100.0
    elif _is_mueang(gaz, key):
        if code.endswith("01") and not code.startswith(_BANGKOK):
            return 100.0
        if any(k.startswith(("เมือง", "mueang")) for k in keys):
            return 70.0  # "อ.เมือง" written for เมืองจันทร์ and the like: plausible, not exact
        return 0.0
    ascii_key = key.isascii()
    # A word that is exactly another area's name is that area, not a slip for this one: only
    # the plain ratio then ("ระยอง" is not a mistyped "ระนอง").
    exact_elsewhere = key in (gaz.province_keys if level == "prov" else gaz.district_keys)
    best = 0.0
    for k in keys:
        if k.isascii() == ascii_key:
            # Only a better name matters: the best so far is the cut-off of the next one.
            sim = (fuzz.ratio(key, k) if exact_elsewhere
                   else typing_similarity(key, k, score_cutoff=best))
            if sim > best:
                best = sim
    return _stretch(best)


def _district_matches(
    gaz: Gazetteer, token: _Token, provinces: set[str] | None
) -> Mapping[str, float]:
    return _district_matches_cached(
        gaz, token.key, frozenset(provinces) if provinces is not None else None
    )


@lru_cache(maxsize=65536)
def _district_matches_cached(
    gaz: Gazetteer, key: str, provinces: frozenset[str] | None
) -> Mapping[str, float]:
    # Read-only (shared by every address that writes the word): a mapping proxy.
    return MappingProxyType(_district_matches_of(gaz, key, provinces))


def _district_matches_of(
    gaz: Gazetteer, key: str, provinces: frozenset[str] | None
) -> dict[str, float]:
    found: dict[str, float] = {}
    if _is_mueang(gaz, key):
        for code in gaz.districts:
            capital = code.endswith("01") and not code.startswith(_BANGKOK)
            if capital and (provinces is None or code[:2] in provinces):
                found[code] = 100.0
        return found
    for code in gaz.district_keys.get(key, ()):
        if provinces is None or code[:2] in provinces:
            found[code] = 100.0
    if found:
        return found
    scope = frozenset(provinces or ())
    cutoff = _FUZZY_CUTOFF["province" if scope else "nation"]
    for code, score in gaz.fuzzy(key, "dist", scope, cutoff).items():
        found[code] = max(found.get(code, 0.0), _stretch(score))
    return found


@lru_cache(maxsize=16384)
def _label(gaz: Gazetteer, code: str) -> str:
    return gaz.label(code)


@lru_cache(maxsize=65536)
def _is_mueang(gaz: Gazetteer, key: str) -> bool:
    """Tell whether a word is "เมือง" (the capital district), typing slips forgiven."""
    if key in _MUEANG:
        return True
    if key.isascii() or len(key) < 3 or _known(gaz, key):
        return False
    return typing_distance(key, "เมือง", _MUEANG_SLIP) <= _MUEANG_SLIP


def _known_sub_only(gaz: Gazetteer, key: str) -> bool:
    """Tell whether a word is a subdistrict name and no district or province name."""
    return key in gaz.sub_keys and key not in gaz.district_keys and key not in gaz.province_keys


def _province_matches(
    gaz: Gazetteer, token: _Token, *, fuzzy_cutoff: float
) -> Mapping[str, float]:
    return _province_matches_cached(gaz, token.key, fuzzy_cutoff)


@lru_cache(maxsize=65536)
def _province_matches_cached(gaz: Gazetteer, key: str, fuzzy_cutoff: float) -> Mapping[str, float]:
    found = dict.fromkeys(gaz.province_keys.get(key, ()), 100.0)
    if not found:
        for code, score in gaz.fuzzy(key, "prov", frozenset(), fuzzy_cutoff).items():
            found[code] = max(found.get(code, 0.0), _stretch(score))
    return MappingProxyType(found)


def _sub_candidates(
    gaz: Gazetteer,
    token: _Token,
    *,
    districts: set[str],
    provinces: set[str],
    postal: str | None = None,
) -> dict[str, float]:
    """Subdistricts a word may name, with the raw name similarity (0-100).

    Exact names first; then names of abolished subdistricts (their successors); then fuzzy
    names in the narrowest scope known (the district, the postal code's subdistricts, the
    province, the whole country).
    """

    def in_scope(code: str) -> bool:
        return (not districts or code[:4] in districts) and (not provinces or code[:2] in provinces)

    exact = dict.fromkeys(gaz.sub_keys.get(token.key, ()), 100.0)
    if token.village and not exact:
        # "บ้านหนองแวง" may be the village of ต.หนองแวง.
        exact = dict.fromkeys(gaz.sub_keys.get(_key(token.text[4:]), ()), 90.0)
    if any(in_scope(c) for c in exact):
        return exact
    found = dict(exact)
    # An old name: every successor is a candidate, so a split subdistrict stays ambiguous.
    for code in gaz.abolished.get(token.key, ()):
        found.setdefault(code, 95.0)
    if any(in_scope(c) for c in found):
        return found
    if token.role == "free" and (token.key in gaz.district_keys or token.key in gaz.province_keys):
        return found  # a district or province name, not a misspelt subdistrict
    postal_subs = frozenset(gaz.postal.get(postal or "", ()))
    if districts:
        fuzzy = gaz.fuzzy(token.key, "sub", frozenset(districts), _FUZZY_CUTOFF["district"])
    elif postal_subs:
        # A postal code covers a handful of subdistricts: a near name among them is telling.
        fuzzy = gaz.fuzzy(token.key, "sub", postal_subs, _FUZZY_CUTOFF["district"])
        if not fuzzy and provinces:
            fuzzy = gaz.fuzzy(token.key, "sub", frozenset(provinces), _FUZZY_CUTOFF["province"])
    elif provinces:
        fuzzy = gaz.fuzzy(token.key, "sub", frozenset(provinces), _FUZZY_CUTOFF["province"])
    else:
        fuzzy = {}
    if not found and not fuzzy:
        fuzzy = gaz.fuzzy(token.key, "sub", frozenset(), _FUZZY_CUTOFF["nation"])
    for code, score in fuzzy.items():
        found[code] = max(found.get(code, 0.0), score)
    return found


def geocode(
    address: object,
    *,
    province_code: str | None = None,
    gazetteer: Gazetteer | None = None,
) -> GeocodeResult:
    """Find the subdistrict (tambon) of a Thai or romanised address.

    The address is split into ต./อ./จ. parts (or the comma-separated parts of a romanised
    address), each part is matched exactly, then fuzzily for typos, against the ``geothai``
    gazetteer, and every subdistrict that fits is scored by how well the district, province
    and postal code agree. When two subdistricts fit about equally the result is ambiguous
    and lists them; when nothing fits well enough the quality drops to district, province or
    none. A confident wrong answer is worse than an honest "ambiguous".

    Parameters
    ----------
    address : object
        The address text (other values are read with ``str``; empty gives quality none).
    province_code : str, optional
        Two-digit code of the upload's province, used when the address names no province.
    gazetteer : Gazetteer, optional
        Default: :func:`get_gazetteer`.

    Returns
    -------
    GeocodeResult
        Codes, quality, score 0-100, the ambiguity flag and candidates.

    Raises
    ------
    com.errors.ValidationError
        When ``province_code`` is not a province code.

    Examples
    --------
    >>> r = geocode("๑๒๓ หมู่ที่ ๔ ต.ด่าน อ.กาบเชิง จ.สุรินทร์")
    >>> (r.tambon_code, r.quality, r.ambiguous)
    ('320605', 'subdistrict', False)
    """
    gaz = gazetteer or get_gazetteer()
    context = _check_province(gaz, province_code)
    if address is None or isinstance(address, float) and address != address:
        return _NONE
    text = clean_text(str(address))
    if not text or text.lower() in ("nan", "none", "null", "-"):
        return _NONE
    coordinate = _as_coordinate(text)
    if coordinate is not None:
        return coordinate
    return _match(_parse_clean(text, gaz), gaz, context)


def _check_province(gaz: Gazetteer, province_code: object) -> str | None:
    if province_code is None:
        return None
    code = str(province_code).strip()
    if code == "":
        return None
    if code.isdigit() and len(code) == 1:
        code = "0" + code
    if code not in gaz.provinces:
        raise ValidationError(f"province code {province_code!r} is not a Thai province code")
    return code


def _as_coordinate(text: str) -> GeocodeResult | None:
    """Read a cell that holds a coordinate or a map link instead of an address."""
    looks = re.fullmatch(r"[-+]?\d{1,3}\.\d+\s*[, ]\s*[-+]?\d{1,3}\.\d+", text) or re.match(
        r"(?i)^(?:https?://|www\.|maps\.|geo:)", text
    )
    if not looks:
        return None
    from com.geo.coords import parse_coordinate

    try:
        c = parse_coordinate(text)
    except ParseError as exc:
        return GeocodeResult(None, None, None, "none", 0, False, message=str(exc))
    return GeocodeResult(None, None, None, "coordinates", 100, False, lat=c.lat, lon=c.lon)


def _match(parsed: ParsedAddress, gaz: Gazetteer, context: str | None) -> GeocodeResult:
    if not parsed.tokens:
        return GeocodeResult(None, None, None, "none", 0, False, message="no place names found")
    subs = parsed.of("sub")
    dist_l = parsed.of("dist")
    prov_l = parsed.of("prov")
    free = parsed.of("free")

    # Province evidence: the labelled province, else free words naming a province.
    prov_scores: dict[str, float] = {}
    for t in prov_l:
        for code, s in _province_matches(gaz, t, fuzzy_cutoff=_FUZZY_CUTOFF["province"]).items():
            prov_scores[code] = max(prov_scores.get(code, 0.0), s)
    free_prov: dict[int, Mapping[str, float]] = {}
    for t in free:
        m = _province_matches(gaz, t, fuzzy_cutoff=_FREE_PROVINCE_MIN)
        if m:
            free_prov[t.index] = m
    postal_provinces = gaz.postal_provinces.get(parsed.postal_code or "", set())

    scope_provinces: set[str] = set()
    if prov_scores:
        scope_provinces = {c for c, s in prov_scores.items() if s >= _EVIDENCE_MIN}
    elif postal_provinces:
        scope_provinces = set(postal_provinces)
    elif context and not free_prov:
        scope_provinces = {context}

    # District evidence from the labelled district.
    dist_scores: dict[str, float] = {}
    for t in dist_l:
        m = _district_matches(gaz, t, scope_provinces or None)
        if not m and scope_provinces:
            m = _district_matches(gaz, t, None)
        for code, s in m.items():
            dist_scores[code] = max(dist_scores.get(code, 0.0), s)
    scope_districts = {c for c, s in dist_scores.items() if s >= _EVIDENCE_MIN}

    # Candidate subdistricts, each scored against all the evidence.
    scored: dict[str, _Scored] = {}
    for t in subs or free:
        districts = scope_districts
        if not subs and not districts:
            # Unlabelled: a later (or, written backwards, earlier) word may name its district.
            # A province named exactly by another word bounds those districts ("เมือง"
            # next to "นครสวรรค์" is เมืองนครสวรรค์, not every capital district).
            named = {
                c
                for i, m in free_prov.items()
                if i != t.index
                for c, s in m.items()
                if s >= 100.0
            }
            districts = {
                c
                for other in free
                if other.index != t.index and not _known_sub_only(gaz, other.key)
                for c, s in _district_matches(gaz, other, scope_provinces or named or None).items()
                if s >= 90.0
            }
        cands = _sub_candidates(
            gaz, t, districts=districts, provinces=scope_provinces, postal=parsed.postal_code
        )
        for code, name_sim in cands.items():
            total = _score(gaz, code, name_sim, t, parsed, dist_l, prov_l, free, context)
            current = scored.get(code)
            if current is None or total > current.score:
                scored[code] = _Scored(code, total, t.index, name_sim)

    ranked = sorted(scored.values(), key=lambda c: (-c.score, c.code))
    candidates = tuple(
        Candidate(c.code, c.code[:4], c.code[:2], _label(gaz, c.code), round(c.score, 1))
        for c in ranked[:_MAX_CANDIDATES]
    )
    if ranked and ranked[0].score >= CONFIDENT_SCORE:
        best = ranked[0]
        tied = [c for c in ranked if c.score >= best.score - AMBIGUITY_MARGIN]
        if best.name_sim < 100.0:
            # A near name where the district points is no better than the exact name in
            # another district: the district or the spelling is wrong, and we cannot tell which.
            tied += [
                c
                for c in ranked
                if c not in tied
                and c.name_sim >= 100.0
                and c.score >= best.score - _EXACT_NAME_MARGIN
            ]
        if len(tied) == 1 and best.name_sim >= _NAME_MIN:
            return GeocodeResult(
                best.code,
                best.code[:4],
                best.code[:2],
                "subdistrict",
                round(best.score),
                False,
                candidates,
            )
        if len(tied) > 1:
            return _common_level(tied, candidates, "several subdistricts fit about equally")
    return _fallback(gaz, ranked, candidates, dist_scores, prov_scores, free_prov, scope_provinces)


def _fallback(
    gaz: Gazetteer,
    ranked: list[_Scored],
    candidates: tuple[Candidate, ...],
    dist_scores: dict[str, float],
    prov_scores: dict[str, float],
    free_prov: dict[int, Mapping[str, float]],
    scope_provinces: set[str],
) -> GeocodeResult:
    """No single subdistrict: place the address at its district or province, if clear."""
    reason = "no subdistrict fits well enough" if ranked else "subdistrict not found"
    good = {c: s for c, s in dist_scores.items() if s >= 85.0}
    if scope_provinces:
        good = {c: s for c, s in good.items() if c[:2] in scope_provinces} or good
    strong = [c for c in ranked if c.name_sim >= 100.0 and c.score >= 60.0]
    if len(good) == 1 and strong and all(c.code[:4] not in good for c in strong):
        # The subdistrict named exists, but not in the district named: one of them is wrong.
        province = next(iter(good))[:2]
        if all(c.code[:2] == province for c in strong):
            return GeocodeResult(
                None,
                None,
                province,
                "province",
                50,
                True,
                candidates,
                message="the subdistrict named is not in the district named",
            )
        return GeocodeResult(
            None,
            None,
            None,
            "none",
            round(strong[0].score),
            True,
            candidates,
            message="the subdistrict named is not in the district named",
        )
    if len(good) == 1:
        ((code, s),) = good.items()
        return GeocodeResult(
            None,
            code,
            code[:2],
            "district",
            round(s * 0.8),
            False,
            candidates,
            message=f"{reason}; placed at district level",
        )
    provinces = {c for c, s in prov_scores.items() if s >= 85.0} or {
        c for m in free_prov.values() for c, s in m.items() if s >= 95.0
    }
    if not provinces and len(good) > 1 and len({c[:2] for c in good}) == 1:
        provinces = {next(iter(good))[:2]}
    if len(provinces) == 1:
        code = next(iter(provinces))
        return GeocodeResult(
            None,
            None,
            code,
            "province",
            50,
            len(good) > 1,
            candidates,
            message=f"{reason}; placed at province level",
        )
    best = round(ranked[0].score) if ranked else 0
    return GeocodeResult(
        None,
        None,
        None,
        "none",
        best,
        len(ranked) > 1,
        candidates,
        message=reason if ranked else "no place names matched the gazetteer",
    )


def _common_level(
    tied: list[_Scored], candidates: tuple[Candidate, ...], message: str
) -> GeocodeResult:
    best = round(tied[0].score)
    districts = {c.code[:4] for c in tied}
    provinces = {c.code[:2] for c in tied}
    if len(districts) == 1:
        d = districts.pop()
        return GeocodeResult(None, d, d[:2], "district", best, True, candidates, message=message)
    if len(provinces) == 1:
        p = provinces.pop()
        return GeocodeResult(None, None, p, "province", best, True, candidates, message=message)
    return GeocodeResult(None, None, None, "none", best, True, candidates, message=message)


def _free_support(
    gaz: Gazetteer,
    code: str,
    usable: list[_Token],
    *,
    want_dist: bool,
    want_prov: bool,
    forward: bool,
) -> tuple[float, float, frozenset[int]]:
    """Best district and province agreement from free words.

    Each word plays one role and each role is played by one word, district before province
    in reading order (``forward``) or after it (an address written backwards).
    """
    return _free_support_cached(
        gaz, code[:4], code[:2], tuple((t.index, t.key) for t in usable), want_dist, want_prov,
        forward,
    )


@lru_cache(maxsize=65536)
def _free_support_cached(
    gaz: Gazetteer,
    district: str,
    province: str,
    usable: tuple[tuple[int, str], ...],
    want_dist: bool,
    want_prov: bool,
    forward: bool,
) -> tuple[float, float, frozenset[int]]:
    # Candidates of one district share the answer: cached on the district and the words.
    d_sims = {
        index: _area_sim(gaz, key, district, level="dist") if want_dist else 0.0
        for index, key in usable
    }
    p_sims = {
        index: _area_sim(gaz, key, province, level="prov") if want_prov else 0.0
        for index, key in usable
    }
    d_opts = [(None, 0.0)] + [(i, s) for i, s in d_sims.items() if s >= _FREE_MIN]
    p_opts = [(None, 0.0)] + [(i, s) for i, s in p_sims.items() if s >= _FREE_MIN]
    best = (0.0, 0.0, 0.0, frozenset[int]())
    for di, ds in d_opts:
        for pi, ps in p_opts:
            both = di is not None and pi is not None
            if both and (di == pi or (di > pi if forward else di < pi)):  # type: ignore[operator]
                continue
            total = ds + ps
            if total > best[0]:
                used = frozenset(i for i in (di, pi) if i is not None)
                best = (total, ds, ps, used)
    return best[1], best[2], best[3]


def _near_other_province(gaz: Gazetteer, key: str, province: str) -> bool:
    """Tell whether a word is a near spelling of a province other than ``province``."""
    near = gaz.fuzzy(key, "prov", frozenset(), _FREE_PROVINCE_MIN)
    return bool(near) and province not in near


def _names_an_area(gaz: Gazetteer, key: str, code: str) -> bool:
    """Tell whether a word read as subdistrict ``code`` could as well be a district/province.

    True when the subdistrict is named after its district (the word must then be both), for
    the name of any district or province ("เมือง" included, slips forgiven), and for a near
    spelling of a district of the candidate's province or of any province.
    """
    if set(gaz.keys_of(code)) & set(gaz.keys_of(code[:4])):
        return True
    if key in gaz.district_keys or key in gaz.province_keys or _is_mueang(gaz, key):
        return True
    return bool(
        gaz.fuzzy(key, "dist", frozenset({code[:2]}), _FREE_MIN)
        or gaz.fuzzy(key, "prov", frozenset(), _FREE_MIN)
    )


def _score(
    gaz: Gazetteer,
    code: str,
    name_sim: float,
    sub_token: _Token,
    parsed: ParsedAddress,
    dist_l: list[_Token],
    prov_l: list[_Token],
    free: list[_Token],
    context: str | None,
) -> float:
    """Weighted agreement (0-100) of an address with one subdistrict."""
    province = code[:2]
    base: list[tuple[float, float]] = [(_stretch(name_sim), _W_SUB)]
    corroborated = False
    if dist_l:
        best_d = max(_area_sim(gaz, t.key, code[:4], level="dist") for t in dist_l)
        base.append((best_d, _W_DIST))
        corroborated = best_d >= _EVIDENCE_MIN
    if prov_l:
        best_p = max(_area_sim(gaz, t.key, province, level="prov") for t in prov_l)
        base.append((best_p, _W_PROV))
        corroborated = corroborated or best_p >= _EVIDENCE_MIN
    if parsed.postal_code:
        if code in gaz.postal.get(parsed.postal_code, ()):
            base.append((100.0, _W_POSTAL))
            corroborated = True
        elif province in gaz.postal_provinces.get(parsed.postal_code, ()):
            base.append((70.0, _W_POSTAL))
        else:
            base.append((30.0, _W_POSTAL))

    others = [t for t in free if t.index != sub_token.index]
    consumed = sub_token.role == "free" and _names_an_area(gaz, sub_token.key, code)
    if sub_token.role == "free":
        # Unlabelled words follow the Thai order (subdistrict, district, province) or, less
        # often, the reverse; a word on the wrong side of the subdistrict explains nothing.
        readings = [
            ([t for t in others if t.index > sub_token.index], True),
            ([t for t in others if t.index < sub_token.index], False),
        ]
    else:
        readings = [(others, True), (others, False)]
    best_total = 0.0
    for usable, forward in readings:
        free_d, free_p, used = _free_support(
            gaz, code, usable, want_dist=not dist_l, want_prov=not prov_l, forward=forward
        )
        parts = list(base)
        supported = corroborated
        if free_d:
            parts.append((free_d, _W_DIST))
            supported = True
        if free_p:
            parts.append((free_p, _W_PROV))
            supported = True
        if context and not prov_l and not free_p:
            parts.append((100.0 if province == context else 0.0, _W_CONTEXT))
            supported = supported or province == context
        total = sum(v * w for v, w in parts) / sum(w for _, w in parts)
        if not supported:
            total *= _LONE_FACTOR
        # Place names in the address that this candidate leaves unexplained speak against it
        # (a village "บ้าน..." next to a labelled ต. is expected and not counted).
        for t in others:
            if t.index in used or (sub_token.role == "sub" and t.village):
                continue
            if t.key in gaz.province_keys and not prov_l:
                total -= _OTHER_PROVINCE_PENALTY  # a province named, and it is not this one
            elif t.key in gaz.sub_keys or t.key in gaz.district_keys or t.key in gaz.province_keys:
                total -= _UNEXPLAINED_PENALTY
            elif consumed:
                # The word read as this subdistrict also names a district or province, and
                # another word is left over: that word is more likely the (misspelt)
                # subdistrict and this one the district or province.
                total -= _CONSUMED_PENALTY
            elif not prov_l and _near_other_province(gaz, t.key, province):
                total -= _OTHER_PROVINCE_PENALTY
        best_total = max(best_total, total)
    return max(0.0, min(100.0, best_total))


# --------------------------------------------------------------------------- batches


def geocode_many(
    addresses: Iterable[object],
    *,
    province_code: str | None = None,
    gazetteer: Gazetteer | None = None,
) -> list[GeocodeResult]:
    """Geocode many addresses; repeated addresses are looked up once.

    Parameters
    ----------
    addresses : iterable
        Address texts (a list, a pandas Series, ...), in order.
    province_code : str, optional
        Context province for addresses that name none.
    gazetteer : Gazetteer, optional
        Default: :func:`get_gazetteer`.

    Returns
    -------
    list of GeocodeResult
        One result per input, in the same order.
    """
    gaz = gazetteer or get_gazetteer()
    cache: dict[str, GeocodeResult] = {}
    out: list[GeocodeResult] = []
    for value in addresses:
        key = "" if value is None else str(value)
        result = cache.get(key)
        if result is None:
            result = geocode(value, province_code=province_code, gazetteer=gaz)
            cache[key] = result
        out.append(result)
    return out


RESULT_COLUMNS = (
    "tambon_code",
    "amphoe_code",
    "province_code",
    "quality",
    "score",
    "ambiguous",
    "candidates",
)


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp874"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(f"{path}: not UTF-8 or TIS-620/cp874 text")


def geocode_csv(
    in_path: str | Path,
    out_path: str | Path,
    column: str,
    province_code: str | None = None,
    *,
    gazetteer: Gazetteer | None = None,
) -> dict[str, int]:
    """Geocode one column of a CSV file, writing every row in order with the results added.

    Added columns: tambon_code, amphoe_code, province_code, quality, score, ambiguous
    (``true``/``false``) and candidates. An input column with one of these names is kept as
    ``input_<name>``. The input may be UTF-8 (with or without BOM) or TIS-620/cp874, with any
    common delimiter; the output is UTF-8 with a BOM (so Excel shows Thai) and commas.

    Parameters
    ----------
    in_path, out_path : str or Path
        Input and output CSV files.
    column : str
        Name of the address column.
    province_code : str, optional
        Context province for addresses that name none.
    gazetteer : Gazetteer, optional
        Default: :func:`get_gazetteer`.

    Returns
    -------
    dict
        Counts: rows, and rows per quality, confident and ambiguous.

    Raises
    ------
    com.errors.ValidationError
        When the file cannot be read or has no such column.
    """
    in_path, out_path = Path(in_path), Path(out_path)
    text = _read_text(in_path)
    sample = text[:20000]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationError(f"{in_path}: the file is empty") from None
    header = [h.strip() for h in header]
    if column not in header:
        wanted = column.strip().lower()
        matches = [i for i, h in enumerate(header) if h.lower() == wanted]
        if not matches:
            raise ValidationError(
                f"{in_path}: no column {column!r}; columns are: {', '.join(header)}"
            )
        index = matches[0]
    else:
        index = header.index(column)
    rows = list(reader)
    addresses = [row[index] if index < len(row) else "" for row in rows]
    results = geocode_many(addresses, province_code=province_code, gazetteer=gazetteer)
    out_header = [f"input_{h}" if h in RESULT_COLUMNS else h for h in header]
    counts: dict[str, int] = {"rows": len(rows), "confident": 0, "ambiguous": 0}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*out_header, *RESULT_COLUMNS])
        for row, r in zip(rows, results, strict=True):
            padded = row + [""] * (len(header) - len(row))
            writer.writerow(
                [
                    *(escape_formula(v) for v in padded),
                    r.tambon_code or "",
                    r.amphoe_code or "",
                    r.province_code or "",
                    r.quality,
                    r.score,
                    "true" if r.ambiguous else "false",
                    escape_formula(r.candidates_text()),
                ]
            )
            counts[r.quality] = counts.get(r.quality, 0) + 1
            counts["confident"] += int(r.confident)
            counts["ambiguous"] += int(r.ambiguous)
    return counts
