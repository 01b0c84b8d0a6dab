"""Caps on the CCTV plans of callers below the planner role (``COM_CCTV_*`` settings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from com.errors import ValidationError
from com.siting.candidates import parse_candidates
from com.siting.mclp import DEFAULT_TIME_LIMIT_S

_NON_PLANNERS = "a viewer or read-only key"


@dataclass(frozen=True)
class PlanLimits:
    """Caps on the work a plan may ask, for callers below the planner role (issue 11).

    Planners and admins plan without them; viewers and read keys may explore, not run
    national optimisations. Each limit is a setting named in the error that refuses a plan.

    Attributes
    ----------
    max_k
        Most cameras (``COM_CCTV_MAX_K``).
    max_candidates
        Most candidate sites given inline or laid out as a grid (``COM_CCTV_MAX_CANDIDATES``).
    max_time_limit_s
        Longest solver time limit (``COM_CCTV_MAX_TIME_LIMIT_S``); the default is cut to it.
    min_radius_m
        Smallest radius around sites or cameras the caller places (inline or a grid;
        ``COM_CCTV_MIN_RADIUS_M``).

    Examples
    --------
    >>> limits = PlanLimits(max_k=100, max_candidates=20_000, max_time_limit_s=10,
    ...                     min_radius_m=50)
    >>> limits.time_limit(None)
    10.0
    >>> limits.check(k=2000, radius_m=200, candidates="points", existing="db")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    com.errors.ValidationError: k = 2,000 cameras is more than 100, ...
    """

    max_k: int
    max_candidates: int
    max_time_limit_s: float
    min_radius_m: float

    @classmethod
    def from_settings(cls, settings: Any) -> PlanLimits:
        """Read the limits from :class:`com.config.settings.Settings` (``COM_CCTV_*``)."""
        return cls(
            max_k=int(settings.cctv_max_k),
            max_candidates=int(settings.cctv_max_candidates),
            max_time_limit_s=float(settings.cctv_max_time_limit_s),
            min_radius_m=float(settings.cctv_min_radius_m),
        )

    @property
    def candidates_note(self) -> str:
        """Where the candidate limit comes from, for the messages that refuse a grid."""
        return (
            f", the most {_NON_PLANNERS} may use (COM_CCTV_MAX_CANDIDATES)"
            f" / เสนอจุดติดตั้งได้ไม่เกิน {self.max_candidates:,} จุดสำหรับผู้ชมและคีย์อ่านอย่างเดียว"
        )

    def time_limit(self, requested: float | None) -> float:
        """Return the solver time limit to use; refuse one above ``max_time_limit_s``."""
        if requested is None:
            return float(min(DEFAULT_TIME_LIMIT_S, self.max_time_limit_s))
        if requested > self.max_time_limit_s:
            raise ValidationError(
                f"time_limit_s = {requested:g} s is more than {self.max_time_limit_s:g} s, the "
                f"longest {_NON_PLANNERS} may ask (COM_CCTV_MAX_TIME_LIMIT_S)"
                f" / กำหนดเวลาคำนวณได้ไม่เกิน {self.max_time_limit_s:g} วินาที"
            )
        return float(requested)

    def check(
        self,
        *,
        k: int | None,
        radius_m: float,
        candidates: str | pd.DataFrame,
        existing: pd.DataFrame | str | None,
    ) -> None:
        """Raise ValidationError naming the limit when a plan asks more than these allow.

        The radius limit holds when the caller places the sites (an inline list or a grid)
        or the cameras (an inline list; their own radius, else ``radius_m``).
        """
        if k is not None and k > self.max_k:
            raise ValidationError(
                f"k = {k:,} cameras is more than {self.max_k:,}, the most {_NON_PLANNERS} may "
                f"ask (COM_CCTV_MAX_K); a planner can plan more"
                f" / วางกล้องได้ไม่เกิน {self.max_k:,} ตัวต่อแผนสำหรับผู้ชมและคีย์อ่านอย่างเดียว"
            )
        placed = isinstance(candidates, pd.DataFrame)
        if placed and len(candidates) > self.max_candidates:
            raise ValidationError(
                f"{len(candidates):,} candidate sites are more than {self.max_candidates:,}"
                f"{self.candidates_note}"
            )
        if not placed:
            placed = parse_candidates(str(candidates))[0] == "grid"
        radii = [radius_m] if placed else []
        if isinstance(existing, pd.DataFrame) and len(existing):
            given = (
                pd.to_numeric(existing["radius_m"], errors="coerce").fillna(radius_m)
                if "radius_m" in existing.columns
                else pd.Series([radius_m])
            )
            radii.append(float(given.min()))
        if radii and min(radii) < self.min_radius_m:
            raise ValidationError(
                f"a radius of {min(radii):g} m is less than {self.min_radius_m:g} m, the "
                f"smallest {_NON_PLANNERS} may use around sites or cameras of their own "
                f"(COM_CCTV_MIN_RADIUS_M)"
                f" / รัศมีรอบจุดที่กำหนดเองต้องไม่น้อยกว่า {self.min_radius_m:g} เมตร"
            )


def limits_for(principal: Any, settings: Any) -> PlanLimits | None:
    """Return the caps on ``principal``'s plans: None for planners, admins and the CLI."""
    if principal is not None and principal.has_role("planner"):
        return None
    return PlanLimits.from_settings(settings)
