"""The decision: one subdistrict, or the district or province the candidates share, or none."""

from __future__ import annotations

from com.ingest.geocode.evidence import _Evidence
from com.ingest.geocode.gazetteer import Gazetteer
from com.ingest.geocode.result import Candidate, GeocodeResult
from com.ingest.geocode.scoring import _Scored
from com.ingest.geocode.tuning import (
    _EXACT_NAME_MARGIN,
    _MAX_CANDIDATES,
    _NAME_MIN,
    AMBIGUITY_MARGIN,
    CONFIDENT_SCORE,
)


def _decide(gaz: Gazetteer, ranked: list[_Scored], evidence: _Evidence) -> GeocodeResult:
    """Answer from the scored subdistricts (best first) and the province and district evidence.

    A single best subdistrict that is confident and clear of the runners-up is the answer;
    several that fit about equally give the level they share, ambiguous; otherwise the
    address is placed at its district or province when those are clear.
    """
    labels = gaz.labels  # (made with the gazetteer)
    candidates = tuple(
        Candidate(c.code, c.code[:4], c.code[:2], labels[c.code], round(c.score, 1))
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
    return _fallback(ranked, candidates, evidence)


def _fallback(
    ranked: list[_Scored], candidates: tuple[Candidate, ...], evidence: _Evidence
) -> GeocodeResult:
    """No single subdistrict: place the address at its district or province, if clear."""
    dist_scores, prov_scores = evidence.dist_scores, evidence.prov_scores
    free_prov, scope_provinces = evidence.free_prov, evidence.scope_provinces
    reason = "no subdistrict fits well enough" if ranked else "subdistrict not found"
    good = {c: s for c, s in dist_scores.items() if s >= 85.0}
    if scope_provinces:
        good = {c: s for c, s in good.items() if c[:2] in scope_provinces} or good
    strong = [c for c in ranked if c.name_sim >= 100.0 and c.score >= 60.0]
    if len(good) == 1 and strong and all(c.code[:4] not in good for c in strong):
        return _not_in_named_district(strong, next(iter(good)), candidates)
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


def _not_in_named_district(
    strong: list[_Scored], district: str, candidates: tuple[Candidate, ...]
) -> GeocodeResult:
    """Answer an address whose subdistrict exists, but not in the district it names.

    One of the two is wrong: the answer is the province when the named subdistricts and the
    district share it, else none.
    """
    province = district[:2]
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


def _common_level(
    tied: list[_Scored], candidates: tuple[Candidate, ...], message: str
) -> GeocodeResult:
    """Place an ambiguous address at the district or province its tied candidates share."""
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



