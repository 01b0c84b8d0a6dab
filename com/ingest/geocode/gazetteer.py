"""The gazetteer: provinces, districts and subdistricts of ``geothai`` with their name keys."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from com.ingest.geocode.name_index import _choices, _fuzzy_cached, build_name_tables
from com.ingest.geocode.names import _BANGKOK, _PROVINCE_ALIASES, _key
from com.text.thai import clean_text


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
        self.name_tables = build_name_tables(self)
        # Every answer lists up to ten candidates by label: made once here (a few
        # milliseconds), not per address, and kept when the look-up caches are cleared.
        self.labels = {code: self.label(code) for code in self.subdistricts}

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
        # Deferred: geothai loads its country-wide tables on import (~50 ms); only the build
        # of the shared gazetteer needs it, and a Gazetteer may be built from other rows.
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

    def fuzzy_pairs(
        self,
        query: str,
        kind: str,
        scope: frozenset[str] = frozenset(),
        cutoff: float = 80.0,
        *,
        alone: bool = False,
    ) -> tuple[tuple[str, float], ...]:
        """Find areas whose name is at least ``cutoff`` similar to ``query`` (rapidfuzz ratio).

        The cached answer itself, not a copy: the matcher's hot path reads it without
        building a dict per look-up. Words under three characters are not searched.

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
        alone : bool
            Search at ``cutoff`` itself instead of sharing one search at the level's lowest
            cut-off (the same answer; faster for a strict look-up nothing else repeats).

        Returns
        -------
        tuple of (str, float)
            ``(area code, best similarity of any of its names)`` (Thai or romanised, the
            script of the query), best first.
        """
        if len(query) < 3:
            return ()
        return _fuzzy_cached(self, query, kind, scope, cutoff, alone)

    def choices(self, kind: str, scope: frozenset[str], ascii_keys: bool) -> dict[str, list[str]]:
        """Return name key -> area codes for one level within a scope (cached)."""
        return _choices(self, kind, scope, ascii_keys)


@lru_cache(maxsize=1)
def get_gazetteer() -> Gazetteer:
    """Return the process-wide gazetteer built from ``geothai`` (built once, then cached).

    Returns
    -------
    Gazetteer
        The shared gazetteer.
    """
    return Gazetteer.from_geothai()


def _known(gaz: Gazetteer, key: str) -> bool:
    """Tell whether a word is exactly the name of any subdistrict, district or province."""
    return key in gaz.sub_keys or key in gaz.district_keys or key in gaz.province_keys


def _known_sub_only(gaz: Gazetteer, key: str) -> bool:
    """Tell whether a word is a subdistrict name and no district or province name."""
    return key in gaz.sub_keys and key not in gaz.district_keys and key not in gaz.province_keys
