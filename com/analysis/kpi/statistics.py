"""KPI statistics: change tests, weighted displacement, the reduction path and the PAI."""

from __future__ import annotations

import math
from typing import Any

from com.errors import ValidationError

NOT_SIGNIFICANT_TH = "ไม่มีนัยสำคัญทางสถิติ"


NOT_SIGNIFICANT_EN = "likely noise"


def _p_text(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else "< 0.001"


def binomial_change_test(
    k_this: int,
    k_previous: int,
    *,
    days_this: int = 365,
    days_previous: int = 365,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Exact test of a change between two Poisson counts (conditional binomial test).

    Given ``n = k_this + k_previous`` incidents, under "no change in the rate" each falls in
    this period with probability ``days_this / (days_this + days_previous)``;
    ``scipy.stats.binomtest`` gives the exact two-sided p-value. Exact for any count, which is
    what a subdistrict with a handful of incidents needs (10 -> 9 is p = 1.0).

    Parameters
    ----------
    k_this, k_previous : int
        Incident counts of this and the previous period.
    days_this, days_previous : int
        Lengths of the periods (exposure).
    alpha : float
        Significance level.

    Returns
    -------
    dict
        ``p_value``, ``significant``, ``rate_change_pct`` (change of the daily rate; None
        without a previous count),
        ``direction`` and the verdict in Thai and English (``text_th``, ``text_en``,
        ``summary``).

    Examples
    --------
    >>> binomial_change_test(9, 10)["summary"]
    'ไม่มีนัยสำคัญทางสถิติ — likely noise'
    """
    from scipy.stats import binomtest  # deferred: scipy is heavy to import

    if k_this < 0 or k_previous < 0:
        raise ValidationError("incident counts cannot be negative")
    n = int(k_this) + int(k_previous)
    share = days_this / (days_this + days_previous)
    p_value = 1.0 if n == 0 else float(binomtest(int(k_this), n, share).pvalue)
    expected = k_previous * days_this / days_previous if days_previous else None
    change = None if not k_previous else (k_this / expected - 1) * 100 if expected else None
    significant = p_value < alpha
    direction = "decrease" if k_this * days_previous < k_previous * days_this else (
        "increase" if k_this * days_previous > k_previous * days_this else "no change")
    if significant:
        amount = "" if change is None else f" {abs(change):.1f}%"
        word_th = "ลดลง" if direction == "decrease" else "เพิ่มขึ้น"
        text_th = f"{word_th}{amount} อย่างมีนัยสำคัญทางสถิติ (p = {_p_text(p_value)})"
        text_en = (f"a statistically significant {direction}{amount} "
                   f"(p = {_p_text(p_value)})")
        summary = "มีนัยสำคัญทางสถิติ — statistically significant"
    else:
        amount = "" if change is None else f" {change:+.1f}%"
        text_th = (f"การเปลี่ยนแปลง{amount} {NOT_SIGNIFICANT_TH} (p = {_p_text(p_value)}) "
                   "อาจเป็นเพียงความผันผวนตามธรรมชาติ")
        text_en = (f"the change{amount} is not statistically significant "
                   f"(p = {_p_text(p_value)}) — {NOT_SIGNIFICANT_EN}")
        summary = f"{NOT_SIGNIFICANT_TH} — {NOT_SIGNIFICANT_EN}"
    return {
        "test": "exact conditional binomial test of two Poisson counts",
        "this": int(k_this), "previous": int(k_previous),
        "days_this": int(days_this), "days_previous": int(days_previous),
        "rate_change_pct": change, "direction": direction, "p_value": p_value,
        "alpha": alpha, "significant": significant,
        "text_th": text_th, "text_en": text_en, "summary": summary,
    }


def weighted_displacement_difference(
    target_before: float,
    target_after: float,
    ring_before: float,
    ring_after: float,
    *,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Weighted displacement difference (Wheeler & Ratcliffe 2018) without control areas.

    ``WDD = (T1 - T0) + (D1 - D0)``: the change in the target areas plus the change in the
    displacement ring around them. Negative means fewer incidents overall, after counting any
    that moved next door. Under Poisson counts ``Var(WDD) = T0 + T1 + D0 + D1`` and
    ``z = WDD / sqrt(Var)`` gives a two-sided normal p-value. (The paper also subtracts the
    changes of control areas; COM leaves them out, as the province-wide trend is reported
    next to it.)

    Returns
    -------
    dict
        ``wdd``, ``variance``, ``z``, ``p_value``, ``significant`` and the verdict in words.

    Examples
    --------
    >>> weighted_displacement_difference(20, 10, 8, 9)["wdd"]
    -9.0
    """
    from scipy.stats import norm  # deferred: scipy is heavy to import

    wdd = (target_after - target_before) + (ring_after - ring_before)
    variance = target_before + target_after + ring_before + ring_after
    if variance > 0:
        z = wdd / math.sqrt(variance)
        p_value = float(2 * norm.sf(abs(z)))
    else:
        z, p_value = 0.0, 1.0
    significant = p_value < alpha
    displaced = ring_after > ring_before and target_after < target_before
    if significant and wdd < 0:
        text_th = (f"ลดลงสุทธิอย่างมีนัยสำคัญทางสถิติเมื่อรวมพื้นที่โดยรอบ (WDD = {wdd:g}, "
                   f"p = {_p_text(p_value)})")
        text_en = (f"a statistically significant net decrease including the surrounding ring "
                   f"(WDD = {wdd:g}, p = {_p_text(p_value)})")
    elif significant and wdd > 0:
        text_th = (f"เพิ่มขึ้นสุทธิอย่างมีนัยสำคัญทางสถิติเมื่อรวมพื้นที่โดยรอบ (WDD = {wdd:g}, "
                   f"p = {_p_text(p_value)})")
        text_en = (f"a statistically significant net increase including the surrounding ring "
                   f"(WDD = {wdd:g}, p = {_p_text(p_value)})")
    else:
        text_th = (f"ผลต่างสุทธิรวมพื้นที่โดยรอบ {NOT_SIGNIFICANT_TH} (WDD = {wdd:g}, "
                   f"p = {_p_text(p_value)})")
        text_en = (f"the net change including the surrounding ring is not statistically "
                   f"significant (WDD = {wdd:g}, p = {_p_text(p_value)}) — {NOT_SIGNIFICANT_EN}")
    if displaced:
        text_th += "; มีสัญญาณการย้ายไปพื้นที่ข้างเคียง"
        text_en += "; incidents rose in the ring while falling in the targets (displacement?)"
    return {
        "test": "weighted displacement difference (Wheeler & Ratcliffe 2018)",
        "target_before": target_before, "target_after": target_after,
        "ring_before": ring_before, "ring_after": ring_after,
        "wdd": float(wdd), "variance": float(variance), "z": float(z), "p_value": p_value,
        "significant": significant, "possible_displacement": displaced,
        "text_th": text_th, "text_en": text_en,
    }


def reduction_path(
    *,
    baseline_fy: int,
    baseline_value: float,
    fiscal_year_be: int,
    actual_value: float,
    final_reduction: float = 0.80,
    final_fy: int = 2570,
    annual_reduction: float = 0.10,
) -> dict[str, Any]:
    """Where a province stands on the path to an 80% reduction by FY 2570.

    The path is geometric: a constant yearly rate ``q = 1 - (1 - R) ** (1 / (F - B))`` takes the
    baseline ``B`` to ``(1 - R)`` of its level in the final year ``F``; the required level in
    year ``y`` is ``baseline x (1 - q) ** (y - B)``.

    Returns
    -------
    dict
        Required yearly rate from the baseline, required level and cumulative reduction this
        year, the actual ones, ``on_track``, the yearly rate still needed from here, and what
        the 10% a year target alone would reach by the final year.

    Examples
    --------
    >>> r = reduction_path(baseline_fy=2565, baseline_value=100, fiscal_year_be=2566,
    ...                    actual_value=72)
    >>> round(r["required_annual_reduction"], 4), r["on_track"]
    (0.2752, True)
    """
    years = final_fy - baseline_fy
    if years <= 0:
        raise ValidationError(f"baseline FY {baseline_fy} must be before FY {final_fy}")
    rate = 1 - (1 - final_reduction) ** (1 / years)
    elapsed = fiscal_year_be - baseline_fy
    required_level = baseline_value * (1 - rate) ** elapsed
    achieved = None if baseline_value <= 0 else 1 - actual_value / baseline_value
    on_track = actual_value <= required_level + 1e-9
    remaining_years = final_fy - fiscal_year_be
    final_level = baseline_value * (1 - final_reduction)
    if remaining_years > 0 and actual_value > 0:
        still_needed = max(0.0, 1 - (final_level / actual_value) ** (1 / remaining_years))
    else:
        still_needed = None
    return {
        "baseline_fiscal_year_be": baseline_fy,
        "baseline_value": baseline_value,
        "final_fiscal_year_be": final_fy,
        "final_reduction": final_reduction,
        "final_level": final_level,
        "required_annual_reduction": rate,
        "required_level": required_level,
        "required_cumulative_reduction": 1 - (1 - rate) ** elapsed,
        "actual_value": actual_value,
        "achieved_cumulative_reduction": achieved,
        "on_track": bool(on_track),
        "annual_reduction_still_needed": still_needed,
        "annual_target_alone_reaches": 1 - (1 - annual_reduction) ** years,
    }


def predictive_accuracy_index(
    hits: float, total: float, area_hit_km2: float, area_total_km2: float
) -> float | None:
    """Predictive Accuracy Index: share of incidents in the listed areas / their share of area.

    ``PAI = (n / N) / (a / A)`` (Chainey, Tompson & Uhlig 2008): 1 is no better than chance;
    higher means the list concentrated on where incidents then happened.

    Examples
    --------
    >>> predictive_accuracy_index(30, 100, 10, 200)
    6.0
    """
    if total <= 0 or area_hit_km2 <= 0 or area_total_km2 <= 0:
        return None
    return (hits / total) / (area_hit_km2 / area_total_km2)
