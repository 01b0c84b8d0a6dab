"""Candidate subdistricts: every subdistrict each word of an address may name."""

from __future__ import annotations

from collections.abc import Iterator

from com.ingest.geocode.evidence import _STRONG_DISTRICT, _district_matches, _Evidence
from com.ingest.geocode.gazetteer import Gazetteer, _known_sub_only
from com.ingest.geocode.names import _key
from com.ingest.geocode.parsing import ParsedAddress, _Token
from com.ingest.geocode.tuning import _FUZZY_CUTOFF


def _subdistrict_candidates(
    gaz: Gazetteer, parsed: ParsedAddress, evidence: _Evidence
) -> Iterator[tuple[_Token, str, float]]:
    """Yield ``(word, subdistrict code, name similarity)`` for every subdistrict a word may name.

    The words labelled ต./ตำบล/แขวง are read as subdistricts, else every unlabelled word, in
    reading order, each searched within the districts and provinces the evidence points to.
    """
    subs = parsed.of("sub")
    free = parsed.of("free")
    for t in subs or free:
        if _names_no_subdistrict(gaz, t):
            continue  # (_sub_candidates would find none, whatever the districts in scope)
        districts = evidence.scope_districts
        if not subs and not districts:
            districts = _districts_named_beside(gaz, t, free, evidence)
        cands = _sub_candidates(
            gaz,
            t,
            districts=districts,
            provinces=evidence.scope_provinces,
            postal=parsed.postal_code,
        )
        for code, name_sim in cands.items():
            yield t, code, name_sim


def _names_no_subdistrict(gaz: Gazetteer, token: _Token) -> bool:
    """Tell whether an unlabelled word is a district or province name and names no subdistrict.

    Such a word is never read as a misspelt subdistrict (see :func:`_sub_candidates`), so
    the districts named beside it need not be searched.
    """
    key = token.key
    return (
        token.role == "free"
        and (key in gaz.district_keys or key in gaz.province_keys)
        and key not in gaz.sub_keys
        and key not in gaz.abolished
        and not (token.village and _key(token.text[4:]) in gaz.sub_keys)
    )


def _districts_named_beside(
    gaz: Gazetteer, token: _Token, free: list[_Token], evidence: _Evidence
) -> set[str]:
    """Districts the other unlabelled words name, to search an unlabelled word within.

    A later (or, written backwards, earlier) word may name its district. A province named
    exactly by another word bounds those districts ("เมือง" next to "นครสวรรค์" is
    เมืองนครสวรรค์, not every capital district).
    """
    named = {
        c
        for i, m in evidence.free_prov.items()
        if i != token.index
        for c, s in m.items()
        if s >= 100.0
    }
    return {
        c
        for other in free
        if other.index != token.index and not _known_sub_only(gaz, other.key)
        for c, s in _district_matches(
            gaz, other, evidence.scope_provinces or named or None, strong=True
        ).items()
        if s >= _STRONG_DISTRICT
    }


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
    near = gaz.fuzzy_pairs
    if districts:
        fuzzy = near(token.key, "sub", frozenset(districts), _FUZZY_CUTOFF["district"])
    elif postal_subs:
        # A postal code covers a handful of subdistricts: a near name among them is telling.
        fuzzy = near(token.key, "sub", postal_subs, _FUZZY_CUTOFF["district"])
        if not fuzzy and provinces:
            fuzzy = near(token.key, "sub", frozenset(provinces), _FUZZY_CUTOFF["province"])
    elif provinces:
        fuzzy = near(token.key, "sub", frozenset(provinces), _FUZZY_CUTOFF["province"])
    else:
        fuzzy = ()
    if not found and not fuzzy:
        fuzzy = near(token.key, "sub", frozenset(), _FUZZY_CUTOFF["nation"])
    for code, score in fuzzy:
        found[code] = max(found.get(code, 0.0), score)
    return found
