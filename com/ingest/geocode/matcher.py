"""The geocoder: one address to its subdistrict, through parsing, evidence, scores and decision."""

from __future__ import annotations

import re

from com.errors import ParseError, ValidationError
from com.geo.coords import parse_coordinate
from com.ingest.geocode.candidates import _subdistrict_candidates
from com.ingest.geocode.decision import _decide
from com.ingest.geocode.evidence import _Evidence, _gather_evidence
from com.ingest.geocode.gazetteer import Gazetteer, get_gazetteer
from com.ingest.geocode.parsing import ParsedAddress, _parse_clean
from com.ingest.geocode.result import _NONE, GeocodeResult
from com.ingest.geocode.scoring import _AddressTerms, _score, _Scored
from com.text.thai import clean_text


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
    prepared = _prepare(address, gaz)
    if isinstance(prepared, GeocodeResult):
        return prepared
    return _match(prepared, gaz, context)


def _prepare(address: object, gaz: Gazetteer) -> ParsedAddress | GeocodeResult:
    """Parse an address, or answer at once when it is empty or a coordinate."""
    if address is None or isinstance(address, float) and address != address:
        return _NONE
    text = clean_text(str(address))
    if not text or text.lower() in ("nan", "none", "null", "-"):
        return _NONE
    coordinate = _as_coordinate(text)
    if coordinate is not None:
        return coordinate
    return _parse_clean(text, gaz)


def _check_province(gaz: Gazetteer, province_code: object) -> str | None:
    """Return the context province as a two-digit code (None when not given)."""
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
    try:
        c = parse_coordinate(text)
    except ParseError as exc:
        return GeocodeResult(None, None, None, "none", 0, False, message=str(exc))
    return GeocodeResult(None, None, None, "coordinates", 100, False, lat=c.lat, lon=c.lon)


def _match(parsed: ParsedAddress, gaz: Gazetteer, context: str | None) -> GeocodeResult:
    """Geocode a parsed address: its evidence, the scored candidates, then the decision."""
    if not parsed.tokens:
        return GeocodeResult(None, None, None, "none", 0, False, message="no place names found")
    evidence = _gather_evidence(gaz, parsed, context)
    ranked = _rank(gaz, parsed, evidence, context)
    return _decide(gaz, ranked, evidence)


def _rank(
    gaz: Gazetteer, parsed: ParsedAddress, evidence: _Evidence, context: str | None
) -> list[_Scored]:
    """Score every candidate subdistrict against all the evidence; best first.

    A subdistrict that several words may name keeps its best score (the first word on a tie).
    """
    terms = _AddressTerms(gaz, parsed, context)
    scored: dict[str, _Scored] = {}
    for t, code, name_sim in _subdistrict_candidates(gaz, parsed, evidence):
        total = _score(terms, code, name_sim, t)
        current = scored.get(code)
        if current is None or total > current.score:
            scored[code] = _Scored(code, total, t.index, name_sim)
    return sorted(scored.values(), key=lambda c: (-c.score, c.code))
