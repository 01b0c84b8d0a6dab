"""The matcher's cut-offs, weights and penalties, in one place to tune."""

from __future__ import annotations

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
