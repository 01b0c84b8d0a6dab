"""Scoring: how well an address agrees with one candidate subdistrict (0-100)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from com.ingest.geocode.gazetteer import Gazetteer
from com.ingest.geocode.parsing import ParsedAddress, _Token
from com.ingest.geocode.similarity import _area_sim, _is_mueang, _stretch
from com.ingest.geocode.tuning import (
    _CONSUMED_PENALTY,
    _EVIDENCE_MIN,
    _FREE_MIN,
    _FREE_PROVINCE_MIN,
    _LONE_FACTOR,
    _OTHER_PROVINCE_PENALTY,
    _UNEXPLAINED_PENALTY,
    _W_CONTEXT,
    _W_DIST,
    _W_POSTAL,
    _W_PROV,
    _W_SUB,
)


@dataclass(slots=True)
class _Scored:
    """A candidate subdistrict with its score, the word read as it and that word's similarity."""

    code: str
    score: float
    sub_token: int
    name_sim: float


class _AddressTerms:
    """What scoring needs of one address, read once and shared by all its candidates.

    The words beside each word read as the subdistrict (the two reading orders), the kind of
    each word for the penalties, and the labelled district and province similarities per
    area; scoring thousands of candidates then repeats none of this per candidate.
    """

    __slots__ = ("_area", "_readings", "context", "dist_l", "free", "gaz", "parsed", "prov_l")

    def __init__(self, gaz: Gazetteer, parsed: ParsedAddress, context: str | None) -> None:
        self.gaz = gaz
        self.parsed = parsed
        self.context = context
        self.dist_l = parsed.of("dist")
        self.prov_l = parsed.of("prov")
        self.free = parsed.of("free")
        self._readings: dict[int, _Readings] = {}
        self._area: dict[tuple[str, str], float] = {}

    def readings(self, sub_token: _Token) -> _Readings:
        """Return the other free words and reading orders when ``sub_token`` is the subdistrict."""
        found = self._readings.get(sub_token.index)
        if found is None:
            found = _Readings(self.gaz, sub_token, self.free, bool(self.prov_l))
            self._readings[sub_token.index] = found
        return found

    def labelled_sim(self, code: str, level: str) -> float:
        """Best similarity of the labelled district (or province) words to an area code."""
        sim = self._area.get((code, level))
        if sim is None:
            tokens = self.dist_l if level == "dist" else self.prov_l
            sim = max(_area_sim(self.gaz, t.key, code, level=level) for t in tokens)
            self._area[(code, level)] = sim
        return sim


# Kinds of a word left unexplained by a candidate (see _score): not counted, a province name,
# another gazetteer name, or any other word.
_SKIP, _PROVINCE, _KNOWN, _OTHER = 0, 1, 2, 3


class _Readings:
    """The words beside a subdistrict word: each reading order's usable words, and their kinds."""

    __slots__ = ("orders", "others")

    def __init__(
        self, gaz: Gazetteer, sub_token: _Token, free: list[_Token], prov_labelled: bool
    ) -> None:
        others = [t for t in free if t.index != sub_token.index]
        if sub_token.role == "free":
            # Unlabelled words follow the Thai order (subdistrict, district, province) or, less
            # often, the reverse; a word on the wrong side of the subdistrict explains nothing.
            orders = [
                (tuple((t.index, t.key) for t in others if t.index > sub_token.index), True),
                (tuple((t.index, t.key) for t in others if t.index < sub_token.index), False),
            ]
        else:
            usable = tuple((t.index, t.key) for t in others)
            # With fewer than two words the order cannot matter: one reading serves both.
            orders = [(usable, True), (usable, False)] if len(usable) > 1 else [(usable, True)]
        self.orders = orders
        kinds: list[tuple[int, str, int]] = []
        for t in others:
            if sub_token.role == "sub" and t.village:
                kind = _SKIP  # a village "บ้าน..." next to a labelled ต. is expected
            elif t.key in gaz.province_keys and not prov_labelled:
                kind = _PROVINCE
            elif t.key in gaz.sub_keys or t.key in gaz.district_keys or t.key in gaz.province_keys:
                kind = _KNOWN
            else:
                kind = _OTHER
            kinds.append((t.index, t.key, kind))
        self.others = kinds


def _score(
    terms: _AddressTerms,
    code: str,
    name_sim: float,
    sub_token: _Token,
) -> float:
    """Weighted agreement (0-100) of an address with one subdistrict."""
    gaz = terms.gaz
    province = code[:2]
    dist_l, prov_l, context = terms.dist_l, terms.prov_l, terms.context
    base, corroborated = _labelled_agreement(terms, code, name_sim)
    readings = terms.readings(sub_token)
    consumed: bool | None = None  # computed when first needed
    best_total = 0.0
    for usable, forward in readings.orders:
        if usable:
            free_d, free_p, used = _free_support_cached(
                gaz, code[:4], province, usable, not dist_l, not prov_l, forward
            )
        else:
            free_d, free_p, used = 0.0, 0.0, frozenset()
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
        # Place names in the address that this candidate leaves unexplained speak against it.
        for index, key, kind in readings.others:
            if kind == _SKIP or index in used:
                continue
            if kind == _PROVINCE:
                total -= _OTHER_PROVINCE_PENALTY  # a province named, and it is not this one
            elif kind == _KNOWN:
                total -= _UNEXPLAINED_PENALTY
            else:
                if consumed is None:
                    consumed = sub_token.role == "free" and _names_an_area(
                        gaz, sub_token.key, code
                    )
                if consumed:
                    # The word read as this subdistrict also names a district or province,
                    # and another word is left over: that word is more likely the (misspelt)
                    # subdistrict and this one the district or province.
                    total -= _CONSUMED_PENALTY
                elif not prov_l and _near_other_province(gaz, key, province):
                    total -= _OTHER_PROVINCE_PENALTY
        if total > best_total:
            best_total = total
    return max(0.0, min(100.0, best_total))


def _labelled_agreement(
    terms: _AddressTerms, code: str, name_sim: float
) -> tuple[list[tuple[float, float]], bool]:
    """Weigh the name, labelled district and province, and postal code against a subdistrict.

    Returns the ``(similarity, weight)`` parts of the score and whether anything besides the
    subdistrict name corroborates it.
    """
    gaz = terms.gaz
    province = code[:2]
    base: list[tuple[float, float]] = [(_stretch(name_sim), _W_SUB)]
    corroborated = False
    if terms.dist_l:
        best_d = terms.labelled_sim(code[:4], "dist")
        base.append((best_d, _W_DIST))
        corroborated = best_d >= _EVIDENCE_MIN
    if terms.prov_l:
        best_p = terms.labelled_sim(province, "prov")
        base.append((best_p, _W_PROV))
        corroborated = corroborated or best_p >= _EVIDENCE_MIN
    postal_code = terms.parsed.postal_code
    if postal_code:
        if code in gaz.postal.get(postal_code, ()):
            base.append((100.0, _W_POSTAL))
            corroborated = True
        elif province in gaz.postal_provinces.get(postal_code, ()):
            base.append((70.0, _W_POSTAL))
        else:
            base.append((30.0, _W_POSTAL))
    return base, corroborated


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
    """Best district and province agreement from free words ``(index, key)``.

    Each word plays one role and each role is played by one word, district before province
    in reading order (``forward``) or after it (an address written backwards). Candidates of
    one district share the answer: cached on the district and the words.
    """
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
    near = gaz.fuzzy_pairs(key, "prov", frozenset(), _FREE_PROVINCE_MIN)
    return bool(near) and all(code != province for code, _ in near)


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
        gaz.fuzzy_pairs(key, "dist", frozenset({code[:2]}), _FREE_MIN)
        or gaz.fuzzy_pairs(key, "prov", frozenset(), _FREE_MIN)
    )
