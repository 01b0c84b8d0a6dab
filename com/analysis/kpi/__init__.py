"""Provincial KPIs: target lists (บัญชีเป้าหมาย), year-on-year change, significance, projects, PAI.

The national targets (``[kpi]`` in ``com/config/severity.toml``): projects reach at least 80% of the
declared target areas; threats in the target areas fall by at least 10% a fiscal year, and by
80% in all by fiscal year 2570. Thai fiscal years run from 1 October to 30 September and are
written in the Buddhist era (FY 2568 = 1 October 2024 - 30 September 2025).

With a few incidents per area a "-10%" is usually noise, so every comparison carries an exact
test (the conditional binomial test of two Poisson counts) and the weighted displacement
difference against a ring around the target areas, and says in words when a change is not
statistically significant.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.analysis.risk import (
    _points_sql,
    _sql_params,
    make_filter,
    rank_areas,
)
from com.config.severity import SeverityModel
from com.config.severity import severity_model_of as _model
from com.db.tables_risk import projects as projects_table
from com.db.tables_risk import target_areas, target_lists
from com.errors import ConflictError, NotFoundError, ValidationError
from com.security import audit
from com.security.access import Principal
from com.text.thai import fiscal_year_be, fiscal_year_bounds

__all__ = [
    "binomial_change_test",
    "build_project",
    "declare_targets",
    "fiscal_year_be",
    "fiscal_year_bounds",
    "get_target_list",
    "kpi_report",
    "list_target_lists",
    "predictive_accuracy_index",
    "project_coverage",
    "reduction_path",
    "store_projects",
    "weighted_displacement_difference",
]

TARGET_LEVELS = ("subdistrict", "district")
#: Fiscal years (Buddhist era) a target list or KPI report can be about: 2400 BE is 1857 CE
#: (below it a year is read as Common Era), 2800 BE leaves centuries of room.
FISCAL_YEAR_BE_MIN = 2400
FISCAL_YEAR_BE_MAX = 2800
_CODE_LENGTH = {"subdistrict": 6, "district": 4}
_AREA_TABLE = {"subdistrict": "subdistricts", "district": "districts"}

NOT_SIGNIFICANT_TH = "ไม่มีนัยสำคัญทางสถิติ"
NOT_SIGNIFICANT_EN = "likely noise"


# --------------------------------------------------------------------------- small checks


def _province(value: object) -> str:
    text = str(value or "").strip()
    if not re.fullmatch(r"\d{2}", text):
        raise ValidationError(f"province {value!r} must be a 2-digit code such as 32")
    return text


def _fy(value: object) -> int:
    try:
        year = int(str(value).strip())
    except ValueError:
        raise ValidationError(
            f"fiscal year {value!r} must be a Buddhist-era year such as 2568"
        ) from None
    fiscal_year_bounds(year)  # raises ParseError for a Common-Era or implausible year
    return year


def _level(value: str) -> str:
    if value not in TARGET_LEVELS:
        raise ValidationError(f"target lists are per subdistrict or district, not {value!r}")
    return value


def _check_province_exists(conn: Connection, province: str) -> dict[str, Any]:
    row = conn.execute(
        sa.text("SELECT code, name_th, name_en, area_km2 FROM provinces WHERE code = :c"),
        {"c": province},
    ).mappings().first()
    if row is None:
        raise NotFoundError(f"province {province} does not exist")
    return dict(row)


# --------------------------------------------------------------------------- target lists


def declare_targets(
    conn: Connection,
    *,
    province: str,
    fiscal_year_be: int,
    principal: Principal,
    top: int | None = None,
    codes: Iterable[str] | str | None = None,
    level: str = "subdistrict",
    model: SeverityModel | Path | str | None = None,
    replace: bool = False,
    as_of: dt.date | None = None,
    client: str | None = None,
) -> dict[str, Any]:
    """Declare the target list (บัญชีเป้าหมาย) of a province for a fiscal year.

    The list comes from the ranking of the data reported before the fiscal year starts
    (``as_of`` = 30 September before it, unless given): either its ``top`` areas with a
    positive score, or the ``codes`` chosen by the planner (each must be an area of the
    province). The list, each area's rank and score, and the settings are stored, and an
    audit row ``targets.declare`` is written in the same transaction.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        Connection of the caller's transaction.
    province : str
        Province code (``32``).
    fiscal_year_be : int
        Fiscal year in the Buddhist era (``2568``).
    principal : com.security.access.Principal
        Who declares (needs the planner role).
    top : int, optional
        Take the N highest-ranked areas.
    codes : iterable of str or str, optional
        Take these area codes (a comma-separated string is accepted).
    level : str
        ``subdistrict`` (default) or ``district``.
    model : SeverityModel or path, optional
        Severity model of the ranking.
    replace : bool
        Replace an existing list of the same province, year and level.
    as_of : datetime.date, optional
        Date of the ranking (default: the day before the fiscal year).
    client : str, optional
        Client address for the audit trail.

    Returns
    -------
    dict
        The stored list as :func:`get_target_list` returns it.

    Raises
    ------
    com.errors.ValidationError
        Neither or both of ``top`` and ``codes``; an unknown or foreign code.
    com.errors.ConflictError
        A list exists and ``replace`` is False.
    com.errors.PermissionDenied
        The principal is not a planner or is restricted to another province.
    """
    principal.require_role("planner")
    province = _province(province)
    principal.require_province(province)
    fy = _fy(fiscal_year_be)
    level = _level(level)
    model = _model(model)
    if (top is None) == (codes is None):
        raise ValidationError("give either top N or a list of area codes, not both or neither")
    _check_province_exists(conn, province)
    first_day, _ = fiscal_year_bounds(fy)
    basis = as_of or (first_day - dt.timedelta(days=1))
    ranking = rank_areas(conn, level=level, province=province, date_to=basis, as_of=basis,
                         model=model)
    code_column = f"{level}_code"
    by_code = ranking.set_index(code_column)
    notes: list[str] = []
    if top is not None:
        if int(top) < 1:
            raise ValidationError(f"top {top} must be at least 1")
        ranked = ranking[ranking["risk_score"] > 0]
        chosen = ranked[code_column].head(int(top)).tolist()
        if len(chosen) < int(top):
            notes.append(
                f"only {len(chosen)} areas had reported points before {basis}; "
                f"the list has {len(chosen)} areas, not {top}"
            )
        method = "top"
    else:
        items = codes.split(",") if isinstance(codes, str) else list(codes or [])
        chosen = list(dict.fromkeys(str(c).strip() for c in items if str(c).strip()))
        if not chosen:
            raise ValidationError("the list of area codes is empty")
        bad = [c for c in chosen if c not in by_code.index]
        if bad:
            raise ValidationError(
                f"not {level} codes of province {province}: {', '.join(bad[:20])}"
            )
        method = "codes"
    existing = conn.execute(
        sa.select(target_lists.c.id, target_lists.c.declared_by, target_lists.c.declared_at)
        .where(target_lists.c.province_code == province,
               target_lists.c.fiscal_year_be == fy, target_lists.c.level == level)
    ).first()
    replaced = None
    if existing is not None:
        if not replace:
            raise ConflictError(
                f"province {province} already has a {level} target list for FY {fy} "
                f"(declared by {existing.declared_by} on {existing.declared_at:%Y-%m-%d}); "
                "replace it explicitly"
            )
        conn.execute(sa.delete(target_lists).where(target_lists.c.id == existing.id))
        replaced = existing.id
    params = {
        "top": top, "codes": chosen if method == "codes" else None,
        "ranking_as_of": basis.isoformat(), "model": model.digest(), "notes": notes,
        "replaced_list_id": replaced,
    }
    list_id = conn.execute(
        sa.insert(target_lists)
        .values(province_code=province, fiscal_year_be=fy, level=level,
                declared_by=principal.name, method=method, params=params)
        .returning(target_lists.c.id)
    ).scalar_one()
    if chosen:
        conn.execute(
            sa.insert(target_areas),
            [
                {"target_list_id": list_id, "area_code": code,
                 "rank": int(by_code.loc[code, "rank"]),
                 "score": float(by_code.loc[code, "risk_score"])}
                for code in chosen
            ],
        )
    audit.record(
        conn, principal=principal, action="targets.declare",
        target=f"target_list:{list_id}", record_ids=chosen,
        details={"province_code": province, "fiscal_year_be": fy, "level": level,
                 "method": method, "top": top, "replaced_list_id": replaced},
        client=client,
    )
    return get_target_list(conn, province=province, fiscal_year_be=fy, level=level)


def get_target_list(
    conn: Connection, *, province: str, fiscal_year_be: int, level: str = "subdistrict"
) -> dict[str, Any]:
    """Return a declared target list with its areas (names, rank and score when declared).

    Raises
    ------
    com.errors.NotFoundError
        When no list was declared for that province, year and level.
    """
    province = _province(province)
    fy = _fy(fiscal_year_be)
    level = _level(level)
    head = conn.execute(
        sa.select(target_lists).where(
            target_lists.c.province_code == province, target_lists.c.fiscal_year_be == fy,
            target_lists.c.level == level,
        )
    ).mappings().first()
    if head is None:
        raise NotFoundError(
            f"no {level} target list declared for province {province}, FY {fy}: "
            f"declare one with `com targets declare --province {province} --fy {fy} --top N`"
        )
    table = sa.table(_AREA_TABLE[level], sa.column("code"), sa.column("name_th"),
                     sa.column("name_en"), sa.column("area_km2"))
    rows = conn.execute(
        sa.select(target_areas.c.area_code, target_areas.c.rank, target_areas.c.score,
                  table.c.name_th, table.c.name_en, table.c.area_km2)
        .select_from(target_areas.outerjoin(table, table.c.code == target_areas.c.area_code))
        .where(target_areas.c.target_list_id == head["id"])
        .order_by(target_areas.c.rank.nulls_last(), target_areas.c.area_code)
    ).mappings().all()
    first, last = fiscal_year_bounds(fy)
    return {
        "id": head["id"],
        "province_code": province,
        "fiscal_year_be": fy,
        "fiscal_year_start": first.isoformat(),
        "fiscal_year_end": last.isoformat(),
        "level": level,
        "method": head["method"],
        "declared_by": head["declared_by"],
        "declared_at": head["declared_at"].isoformat(),
        "params": head["params"],
        "count": len(rows),
        "areas": [
            {f"{level}_code": r["area_code"], "name_th": r["name_th"], "name_en": r["name_en"],
             "rank": r["rank"], "score": r["score"], "area_km2": r["area_km2"]}
            for r in rows
        ],
    }


def list_target_lists(
    conn: Connection, *, province: str | None = None, fiscal_year_be: int | None = None
) -> list[dict[str, Any]]:
    """Return the declared lists (newest year first), optionally of one province or year."""
    query = (
        sa.select(target_lists, sa.func.count(target_areas.c.area_code).label("count"))
        .select_from(target_lists.outerjoin(
            target_areas, target_areas.c.target_list_id == target_lists.c.id))
        .group_by(target_lists.c.id)
        .order_by(target_lists.c.fiscal_year_be.desc(), target_lists.c.province_code,
                  target_lists.c.level)
    )
    if province is not None:
        query = query.where(target_lists.c.province_code == _province(province))
    if fiscal_year_be is not None:
        query = query.where(target_lists.c.fiscal_year_be == _fy(fiscal_year_be))
    return [
        {"id": r["id"], "province_code": r["province_code"],
         "fiscal_year_be": r["fiscal_year_be"], "level": r["level"], "method": r["method"],
         "declared_by": r["declared_by"], "declared_at": r["declared_at"].isoformat(),
         "count": r["count"]}
        for r in conn.execute(query).mappings()
    ]


def _list_codes(conn: Connection, list_id: int) -> list[str]:
    return list(conn.execute(
        sa.select(target_areas.c.area_code).where(target_areas.c.target_list_id == list_id)
        .order_by(target_areas.c.area_code)
    ).scalars())


def _find_list(conn: Connection, province: str, fy: int, level: str) -> dict[str, Any] | None:
    row = conn.execute(
        sa.select(target_lists).where(
            target_lists.c.province_code == province, target_lists.c.fiscal_year_be == fy,
            target_lists.c.level == level)
    ).mappings().first()
    return dict(row) if row is not None else None


# --------------------------------------------------------------------------- statistics


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
    from scipy.stats import binomtest

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
    from scipy.stats import norm

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


# --------------------------------------------------------------------------- projects


def project_coverage(
    project_codes: Sequence[str | None],
    target_codes: Iterable[str],
    *,
    level: str = "subdistrict",
    target: float = 0.80,
) -> dict[str, Any]:
    """Share of projects located in target areas, and share of target areas reached.

    Parameters
    ----------
    project_codes : sequence of str or None
        Each project's subdistrict code (or district code for a district list; a subdistrict
        code is cut to its district). None or a coarser code: not located precisely enough.
    target_codes : iterable of str
        The declared target areas.
    level : str
        Level of the list.
    target : float
        The KPI threshold (0.80).

    Returns
    -------
    dict
        ``projects``, ``in_targets``, ``share_in_targets``, ``targets``,
        ``targets_reached``, ``share_targets_reached``, ``too_coarse`` and pass flags.

    Examples
    --------
    >>> project_coverage(["320605", "320605", "320601", "320111", "321001"],
    ...                  ["320605", "320601", "320111", "320701"])["share_in_targets"]
    0.8
    """
    length = _CODE_LENGTH[_level(level)]
    targets = {str(c) for c in target_codes}
    located: list[str | None] = []
    coarse = 0
    for code in project_codes:
        text = None if code is None else str(code)
        if text is None or len(text) < length:
            coarse += 1
            located.append(None)
        else:
            located.append(text[:length])
    n = len(located)
    inside = sum(1 for c in located if c is not None and c in targets)
    reached = {c for c in located if c is not None and c in targets}
    share = inside / n if n else None
    reach = len(reached) / len(targets) if targets else None
    return {
        "projects": n,
        "in_targets": inside,
        "share_in_targets": share,
        "targets": len(targets),
        "targets_reached": len(reached),
        "share_targets_reached": reach,
        "too_coarse": coarse,
        "target_share": target,
        "passed_share_in_targets": None if share is None else share >= target - 1e-12,
        "passed_targets_reached": None if reach is None else reach >= target - 1e-12,
    }


def _parse_fy_value(value: object, what: str) -> int:
    from com.text.thai import clean_text

    text = clean_text(str(value)).upper()
    text = re.sub(r"^(FY|ปีงบประมาณ|ปีงบ|พ\.ศ\.|พศ)\s*", "", text).strip()
    if not re.fullmatch(r"\d{4}(\.0)?", text):
        raise ValidationError(f"{what}: {value!r} is not a fiscal year such as 2568")
    year = int(float(text))
    if year < 2400:
        raise ValidationError(
            f"{what}: {value!r} looks like a Common-Era year; write the Buddhist-era fiscal "
            f"year (FY {year + 543 + 1} runs 1 Oct {year} - 30 Sep {year + 1})"
        )
    return year


def store_projects(
    conn: Connection,
    frame: pd.DataFrame,
    *,
    source_upload_id: int | None = None,
    province: str | None = None,
) -> list[int]:
    """Store projects given by coordinates or by an area code, in the caller's transaction.

    Columns: ``name``, ``fiscal_year_be`` (Buddhist era, ``FY2568`` and Thai digits accepted)
    and either ``lat`` + ``lon`` or ``area_code`` (a subdistrict, district or province code).
    Points get their subdistrict, district and province as risk points do (the containing
    subdistrict, else the nearest within 1 km).

    Returns
    -------
    list of int
        Ids of the stored projects, in row order.

    Raises
    ------
    com.errors.ValidationError
        Naming the row (1 = first data row) and the problem; nothing is stored then.
    """
    missing = [c for c in ("fiscal_year_be",) if c not in frame.columns]
    if missing:
        raise ValidationError(f"projects need a {missing[0]!r} column")
    has_point = {"lat", "lon"} <= set(frame.columns)
    if not has_point and "area_code" not in frame.columns:
        raise ValidationError("projects need lat and lon columns or an area_code column")
    rows: list[dict[str, Any]] = []
    for number, record in enumerate(frame.to_dict("records"), start=1):
        fy = _parse_fy_value(record.get("fiscal_year_be"), f"row {number}: fiscal_year_be")
        lat = record.get("lat") if has_point else None
        lon = record.get("lon") if has_point else None
        code = record.get("area_code")
        code = None if code is None or (isinstance(code, float) and math.isnan(code)) else str(
            code).strip().removeprefix("TH")
        point = lat is not None and lon is not None and not (
            isinstance(lat, float) and math.isnan(lat)) and not (
            isinstance(lon, float) and math.isnan(lon))
        if point:
            try:
                lat_f, lon_f = float(lat), float(lon)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise ValidationError(
                    f"row {number}: lat/lon {lat!r}, {lon!r} are not numbers"
                ) from None
            if not (5.0 <= lat_f <= 21.0 and 97.0 <= lon_f <= 106.0):
                raise ValidationError(f"row {number}: {lat_f}, {lon_f} is outside Thailand")
        elif code:
            if not re.fullmatch(r"\d{2}|\d{4}|\d{6}", code):
                raise ValidationError(f"row {number}: area code {code!r} is not 2, 4 or 6 digits")
        else:
            raise ValidationError(f"row {number}: no coordinates and no area code")
        name = record.get("name")
        rows.append({
            "number": number, "name": None if name is None else str(name), "fy": fy,
            "lat": lat_f if point else None, "lon": lon_f if point else None,
            "code": None if point else code,
        })
    ids: list[int] = []
    values: list[dict[str, Any]] = []
    for row in rows:
        if row["code"] is not None:
            found = _area_codes(conn, row["code"])
            if found is None:
                raise ValidationError(
                    f"row {row['number']}: area code {row['code']} does not exist"
                )
            sub, dist, prov = found
            geom = None
        else:
            hit = conn.execute(
                sa.text(
                    "SELECT s.code, s.district_code, s.province_code FROM subdistricts s "
                    "WHERE s.code = COALESCE("
                    " (SELECT p.subdistrict_code FROM subdistrict_parts p "
                    "  WHERE ST_Contains(p.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) "
                    "  LIMIT 1),"
                    " (SELECT s2.code FROM subdistricts s2 WHERE ST_DWithin(s2.geom::geography,"
                    "  ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, 1000) "
                    "  ORDER BY s2.geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) LIMIT 1))"
                ),
                {"lat": row["lat"], "lon": row["lon"]},
            ).first()
            if hit is None:
                raise ValidationError(
                    f"row {row['number']}: {row['lat']}, {row['lon']} is in no subdistrict"
                )
            sub, dist, prov = hit
            geom = f"SRID=4326;POINT({row['lon']} {row['lat']})"
        if province is not None and prov != province:
            raise ValidationError(f"row {row['number']}: not in province {province}")
        values.append({
            "name": row["name"], "fiscal_year_be": row["fy"], "area_code": row["code"],
            "geom": geom, "subdistrict_code": sub, "district_code": dist,
            "province_code": prov, "source_upload_id": source_upload_id,
            "source_row": row["number"],
        })
    # Every row is checked before the first is written.
    for record in values:
        ids.append(conn.execute(
            sa.insert(projects_table).values(**record).returning(projects_table.c.id)
        ).scalar_one())
    return ids


def _area_codes(conn: Connection, code: str) -> tuple[str | None, str | None, str] | None:
    if len(code) == 6:
        row = conn.execute(sa.text(
            "SELECT code, district_code, province_code FROM subdistricts WHERE code = :c"),
            {"c": code}).first()
    elif len(code) == 4:
        row = conn.execute(sa.text(
            "SELECT NULL, code, province_code FROM districts WHERE code = :c"), {"c": code}
        ).first()
    else:
        row = conn.execute(sa.text("SELECT NULL, NULL, code FROM provinces WHERE code = :c"),
                           {"c": code}).first()
    return None if row is None else (row[0], row[1], row[2])


def build_project(row: Any) -> Any:
    """Build a project record for the upload machinery (``com.ingest`` kind ``projects``).

    Reads the name and the fiscal year (ปีงบประมาณ, Buddhist era); the upload places the row
    (coordinates, or an address at its subdistrict) like a risk point.
    """
    from com.ingest import BuiltRecord, RowRejected

    raw = row.get("fiscal_year_be")
    if raw is None:
        raise RowRejected("no fiscal year (ปีงบประมาณ) given", "fiscal_year_be")
    try:
        fy = _parse_fy_value(raw, "fiscal year")
    except ValidationError as exc:
        raise RowRejected(str(exc), row.columns.get("fiscal_year_be")) from None
    name = row.text("name")
    attributes = dict(row.extra)
    return BuiltRecord(
        values={"name": name, "fiscal_year_be": fy, "attributes": attributes},
        dedupe_key=f"{name or ''}|{fy}",
    )


#: Column names the upload machinery recognises as the fiscal year of a project.
PROJECT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "fiscal_year_be": ("ปีงบประมาณ", "ปีงบ", "ปีงบประมาณ พ.ศ.", "fiscal year", "fiscal_year",
                       "fiscal_year_be", "fy"),
}


# --------------------------------------------------------------------------- the report


def _zone_counts(
    conn: Connection, *, province: str, level: str, codes: Sequence[str], model: SeverityModel,
    this: tuple[dt.date, dt.date], previous: tuple[dt.date, dt.date], buffer_m: float,
) -> pd.DataFrame:
    filt = make_filter(date_from=previous[0], date_to=this[1], use_recency=False, model=model)
    params = _sql_params(filt, model, level=level)
    params.update({
        "codes": list(codes), "zone_province": province, "buffer_m": float(buffer_m),
        # 1 degree is at least 100 km anywhere in Thailand (longitude at 20.5 N: 104 km).
        "buffer_deg": float(buffer_m) / 100_000.0,
        "this_start": this[0], "this_end": this[1],
        "prev_start": previous[0], "prev_end": previous[1],
    })
    rows = conn.execute(_points_sql("kpi_zones"), params).all()
    return pd.DataFrame(rows, columns=["zone", "area_code", "period", "points", "incidents",
                                       "weighted"])


def _sums(frame: pd.DataFrame, zone: str, period: str) -> dict[str, Any]:
    part = frame[(frame["zone"] == zone) & (frame["period"] == period)]
    return {"points": int(part["points"].sum()), "incidents": int(part["incidents"].sum()),
            "weighted_score": float(part["weighted"].sum())}


def _pct(now: float, before: float) -> float | None:
    return None if not before else (now / before - 1) * 100


def kpi_report(
    conn: Connection,
    *,
    province: str,
    fiscal_year_be: int,
    level: str = "subdistrict",
    model: SeverityModel | Path | str | None = None,
    baseline_fy: int | None = None,
    as_of: dt.date | None = None,
) -> dict[str, Any]:
    """Report a province's KPIs for a fiscal year against its declared target list.

    Compares the fiscal year with the previous one in the declared target areas (points,
    incidents, weighted score without recency, % change, pass/fail against the yearly
    reduction), tests the change exactly (:func:`binomial_change_test`) and for displacement
    (:func:`weighted_displacement_difference`, ring of ``displacement_buffer_m``), places it
    on the path to the final reduction (:func:`reduction_path`), reports the projects of the
    year located in the target areas (:func:`project_coverage`) and the Predictive Accuracy
    Index of the previous year's list for this year's incidents.

    A fiscal year still running (``as_of``, default today, before its end) is compared with
    the same number of days of the previous year.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        Database connection.
    province : str
        Province code.
    fiscal_year_be : int
        Fiscal year (Buddhist era).
    level : str
        Level of the target list.
    model : SeverityModel or path, optional
        Severity model (weights and the ``[kpi]`` targets).
    baseline_fy : int, optional
        Baseline of the path to the final reduction; default the year before the province's
        first declared list (at least one year before this one).
    as_of : datetime.date, optional
        Date of the report (default today).

    Returns
    -------
    dict
        JSON-ready report.

    Raises
    ------
    com.errors.NotFoundError
        When the province has no target list for the year.
    """
    model = _model(model)
    settings = model.kpi
    province = _province(province)
    fy = _fy(fiscal_year_be)
    level = _level(level)
    info = _check_province_exists(conn, province)
    listing = get_target_list(conn, province=province, fiscal_year_be=fy, level=level)
    codes = [a[f"{level}_code"] for a in listing["areas"]]
    start, end = fiscal_year_bounds(fy)
    prev_start, prev_end = fiscal_year_bounds(fy - 1)
    today = as_of or dt.date.today()
    if today < start:
        raise ValidationError(f"FY {fy} starts on {start}; nothing to report on {today}")
    partial = today < end
    this_end = min(end, today)
    elapsed = (this_end - start).days
    if partial:
        prev_end = min(prev_end, prev_start + dt.timedelta(days=elapsed))
    days_this = (this_end - start).days + 1
    days_prev = (prev_end - prev_start).days + 1
    zones = _zone_counts(conn, province=province, level=level, codes=codes, model=model,
                         this=(start, this_end), previous=(prev_start, prev_end),
                         buffer_m=settings.displacement_buffer_m)
    target_now, target_before = _sums(zones, "target", "this"), _sums(zones, "target", "previous")
    ring_now, ring_before = _sums(zones, "ring", "this"), _sums(zones, "ring", "previous")
    rest_now, rest_before = _sums(zones, "rest", "this"), _sums(zones, "rest", "previous")
    change = _pct(target_now["incidents"], target_before["incidents"])
    passed = None if change is None else change <= -settings.annual_reduction * 100 + 1e-9
    test = binomial_change_test(target_now["incidents"], target_before["incidents"],
                                days_this=days_this, days_previous=days_prev,
                                alpha=settings.alpha)
    wdd = weighted_displacement_difference(
        target_before["incidents"], target_now["incidents"], ring_before["incidents"],
        ring_now["incidents"], alpha=settings.alpha)
    if passed is None:
        verdict_th = "ไม่มีเหตุในปีก่อนให้เทียบ"
        verdict_en = "no incidents in the previous year to compare with"
    else:
        goal = f"{settings.annual_reduction:.0%}"
        verdict_th = (f"{'ผ่าน' if passed else 'ไม่ผ่าน'}เป้าหมายลดลงร้อยละ "
                      f"{settings.annual_reduction * 100:g} ({change:+.1f}%)")
        verdict_en = (f"{'meets' if passed else 'misses'} the {goal} reduction target "
                      f"({change:+.1f}%)")
        if not test["significant"]:
            verdict_th += f" แต่{NOT_SIGNIFICANT_TH}"
            verdict_en += (
                f", but the change is not statistically significant — {NOT_SIGNIFICANT_EN}"
            )
    per_area = []
    by_area = zones[zones["zone"] == "target"]
    for area in listing["areas"]:
        code = area[f"{level}_code"]
        mine = by_area[by_area["area_code"] == code]
        now = int(mine[mine["period"] == "this"]["incidents"].sum())
        before = int(mine[mine["period"] == "previous"]["incidents"].sum())
        area_test = binomial_change_test(now, before, days_this=days_this,
                                         days_previous=days_prev, alpha=settings.alpha)
        per_area.append({f"{level}_code": code, "name_th": area["name_th"],
                         "name_en": area["name_en"], "incidents_this": now,
                         "incidents_previous": before, "change_pct": _pct(now, before),
                         "p_value": area_test["p_value"],
                         "significant": area_test["significant"],
                         "summary": area_test["summary"]})
    # Path to the final reduction, from the baseline year's full count in these areas.
    first_list = conn.execute(
        sa.select(sa.func.min(target_lists.c.fiscal_year_be)).where(
            target_lists.c.province_code == province, target_lists.c.level == level)
    ).scalar_one()
    base_fy = baseline_fy or min(int(first_list or fy), fy) - 1
    if base_fy >= fy:
        raise ValidationError(f"baseline FY {base_fy} must be before FY {fy}")
    base_start, base_end = fiscal_year_bounds(base_fy)
    base_counts = _zone_counts(conn, province=province, level=level, codes=codes, model=model,
                               this=(base_start, base_end), previous=(base_start, base_end),
                               buffer_m=settings.displacement_buffer_m)
    baseline_value = _sums(base_counts, "target", "this")["incidents"]
    # Scale a running year to a full year so it compares with the baseline's full year.
    full_year_days = (end - start).days + 1
    actual = target_now["incidents"] * (full_year_days / days_this if partial else 1)
    path = reduction_path(
        baseline_fy=base_fy, baseline_value=baseline_value, fiscal_year_be=fy,
        actual_value=actual, final_reduction=settings.final_reduction,
        final_fy=settings.final_fiscal_year_be, annual_reduction=settings.annual_reduction,
    ) if fy <= settings.final_fiscal_year_be else None
    if path is not None and partial:
        path["note"] = "this year's count is scaled to a full year"
    # Projects of the year.
    project_rows = conn.execute(
        sa.select(projects_table.c.subdistrict_code, projects_table.c.district_code,
                  projects_table.c.area_code)
        .where(projects_table.c.province_code == province,
               projects_table.c.fiscal_year_be == fy)
    ).all()
    located = [
        (r.subdistrict_code if level == "subdistrict" else r.district_code) for r in project_rows
    ]
    coverage = project_coverage(located, codes, level=level, target=settings.project_coverage)
    # Predictive Accuracy Index of last year's list for this year's incidents.
    previous_list = _find_list(conn, province, fy - 1, level)
    pai: dict[str, Any]
    if previous_list is None:
        pai = {"fiscal_year_be_of_list": fy - 1, "pai": None,
               "note": f"no {level} target list was declared for FY {fy - 1}"}
    else:
        prev_codes = _list_codes(conn, previous_list["id"])
        pai = _pai(conn, province=province, level=level, codes=prev_codes,
                   period=(start, this_end), province_area=info["area_km2"])
        pai["fiscal_year_be_of_list"] = fy - 1
    return {
        "province_code": province,
        "province_th": info["name_th"],
        "province_en": info["name_en"],
        "fiscal_year_be": fy,
        "previous_fiscal_year_be": fy - 1,
        "level": level,
        "as_of": today.isoformat(),
        "period": {"this": [start.isoformat(), this_end.isoformat()],
                   "previous": [prev_start.isoformat(), prev_end.isoformat()],
                   "partial": partial},
        "target_list": {k: listing[k] for k in ("id", "declared_by", "declared_at", "method",
                                                "count")} | {"codes": codes},
        "targets": {
            "this": target_now, "previous": target_before,
            "change_pct": {
                "points": _pct(target_now["points"], target_before["points"]),
                "incidents": change,
                "weighted_score": _pct(target_now["weighted_score"],
                                       target_before["weighted_score"]),
            },
            "reduction_target_pct": settings.annual_reduction * 100,
            "passed": passed,
            "verdict_th": verdict_th,
            "verdict_en": verdict_en,
        },
        "significance": test,
        "displacement": wdd | {"buffer_m": settings.displacement_buffer_m,
                               "ring": {"this": ring_now, "previous": ring_before}},
        "rest_of_province": {"this": rest_now, "previous": rest_before,
                             "change_pct": _pct(rest_now["incidents"],
                                                rest_before["incidents"])},
        "path": path,
        "projects": coverage,
        "pai": pai,
        "areas": per_area,
    }


def _pai(
    conn: Connection, *, province: str, level: str, codes: Sequence[str],
    period: tuple[dt.date, dt.date], province_area: float,
) -> dict[str, Any]:
    column = "subdistrict_code" if level == "subdistrict" else "district_code"
    counts = conn.execute(
        sa.text(
            f"SELECT COALESCE(sum(incident_count) FILTER (WHERE {column} = ANY(:codes)), 0), "  # noqa: S608 - column from a whitelist
            "COALESCE(sum(incident_count), 0) FROM risk_points "
            "WHERE province_code = :p AND reported_on BETWEEN :a AND :b"
        ),
        {"codes": list(codes), "p": province, "a": period[0], "b": period[1]},
    ).one()
    table = _AREA_TABLE[level]
    area = conn.execute(
        sa.text(f"SELECT COALESCE(sum(area_km2), 0) FROM {table} WHERE code = ANY(:codes)"),  # noqa: S608 - table from a whitelist
        {"codes": list(codes)},
    ).scalar_one()
    hits, total = int(counts[0]), int(counts[1])
    return {
        "incidents_in_list": hits, "incidents_total": total,
        "area_km2_in_list": float(area), "area_km2_total": float(province_area),
        "hit_rate": hits / total if total else None,
        "area_share": float(area) / province_area if province_area else None,
        "pai": predictive_accuracy_index(hits, total, float(area), float(province_area)),
    }
