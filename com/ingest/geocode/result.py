"""The answer for one address: its codes, quality, score and candidates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Quality = Literal["coordinates", "subdistrict", "district", "province", "none"]


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
