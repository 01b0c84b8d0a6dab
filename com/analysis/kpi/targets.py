"""Target lists (บัญชีเป้าหมาย): declare, read and list a province's target areas per fiscal year."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.analysis.risk.filters import AreaLevel
from com.analysis.risk.ranking import rank_areas
from com.config.severity import SeverityModel, severity_model_of
from com.db.tables_risk import target_areas, target_lists
from com.errors import ConflictError, NotFoundError, ValidationError
from com.security import audit
from com.security.access import Principal
from com.text.thai import fiscal_year_bounds

TARGET_LEVELS = ("subdistrict", "district", "village", "layer:NAME")


#: Fiscal years (Buddhist era) a target list or KPI report can be about: 2400 BE is 1857 CE
#: (below it a year is read as Common Era), 2800 BE leaves centuries of room.
FISCAL_YEAR_BE_MIN = 2400


FISCAL_YEAR_BE_MAX = 2800


TARGET_AREA_TABLES = {"subdistrict": "subdistricts", "district": "districts"}


def parse_province(value: object) -> str:
    """Return a 2-digit province code, or raise :class:`com.errors.ValidationError`."""
    text = str(value or "").strip()
    if not re.fullmatch(r"\d{2}", text):
        raise ValidationError(f"province {value!r} must be a 2-digit code such as 32")
    return text


def parse_fiscal_year(value: object) -> int:
    """Return a Buddhist-era fiscal year such as 2568; refuse a Common-Era or implausible one."""
    try:
        year = int(str(value).strip())
    except ValueError:
        raise ValidationError(
            f"fiscal year {value!r} must be a Buddhist-era year such as 2568"
        ) from None
    fiscal_year_bounds(year)  # raises ParseError for a Common-Era or implausible year
    return year


def parse_target_level(value: str) -> str:
    """Return ``value`` when target lists can be kept at that level (:data:`TARGET_LEVELS`).

    ``village`` and ``layer:NAME`` (issue 16) are the areas of an imported layer.
    """
    try:
        level = AreaLevel.parse(value)
    except ValidationError:
        level = None
    if level is None or level.kind not in ("subdistrict", "district", "village", "layer"):
        raise ValidationError(
            f"target lists are per subdistrict, district, village or layer:NAME, not {value!r}"
        )
    return str(level)


def target_code_key(level: str) -> str:
    """Return the key of an area's code in a target list's areas (``village_code``...)."""
    return AreaLevel.parse(level).code_column


def _area_names(level: str) -> Any:
    """Return the table of the areas' names and areas for a target list of ``level``."""
    parsed = AreaLevel.parse(level)
    if parsed.is_layer:
        return (sa.select(sa.column("code"), sa.column("name_th"), sa.column("name_en"),
                          sa.column("area_km2"))
                .select_from(sa.table("area_features"))
                .where(sa.column("layer") == parsed.layer).subquery("names"))
    return sa.table(TARGET_AREA_TABLES[level], sa.column("code"), sa.column("name_th"),
                    sa.column("name_en"), sa.column("area_km2"))


def province_row(conn: Connection, province: str) -> dict[str, Any]:
    """Return the province's code, names and area, or raise :class:`com.errors.NotFoundError`."""
    row = conn.execute(
        sa.text("SELECT code, name_th, name_en, area_km2 FROM provinces WHERE code = :c"),
        {"c": province},
    ).mappings().first()
    if row is None:
        raise NotFoundError(f"province {province} does not exist")
    return dict(row)


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
    (Over 80 lines only because of this docstring.)

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
    province = parse_province(province)
    principal.require_province(province)
    fy = parse_fiscal_year(fiscal_year_be)
    level = parse_target_level(level)
    model = severity_model_of(model)
    if (top is None) == (codes is None):
        raise ValidationError("give either top N or a list of area codes, not both or neither")
    province_row(conn, province)
    first_day, _ = fiscal_year_bounds(fy)
    basis = as_of or (first_day - dt.timedelta(days=1))
    ranking = rank_areas(conn, level=level, province=province, date_to=basis, as_of=basis,
                         model=model)
    by_code = ranking.set_index(target_code_key(level))
    chosen, method, notes = _choose_areas(
        ranking, level=level, province=province, top=top, codes=codes, basis=basis
    )
    replaced = _remove_existing_list(conn, province=province, fy=fy, level=level, replace=replace)
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


def _choose_areas(
    ranking: Any, *, level: str, province: str, top: int | None,
    codes: Iterable[str] | str | None, basis: dt.date,
) -> tuple[list[str], str, list[str]]:
    """Return the chosen area codes, the method (``top`` or ``codes``) and notes on the choice."""
    code_column = target_code_key(level)
    notes: list[str] = []
    known = set(ranking[code_column])
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
        bad = [c for c in chosen if c not in known]
        if bad:
            raise ValidationError(
                f"not {level} codes of province {province}: {', '.join(bad[:20])}"
            )
        method = "codes"
    return chosen, method, notes


def _remove_existing_list(
    conn: Connection, *, province: str, fy: int, level: str, replace: bool
) -> int | None:
    """Delete the list of the same province, year and level when ``replace``; return its id."""
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
    return replaced


def get_target_list(
    conn: Connection, *, province: str, fiscal_year_be: int, level: str = "subdistrict"
) -> dict[str, Any]:
    """Return a declared target list with its areas (names, rank and score when declared).

    Raises
    ------
    com.errors.NotFoundError
        When no list was declared for that province, year and level.
    """
    province = parse_province(province)
    fy = parse_fiscal_year(fiscal_year_be)
    level = parse_target_level(level)
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
    table = _area_names(level)
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
        "code_key": target_code_key(level),
        "areas": [
            {target_code_key(level): r["area_code"], "name_th": r["name_th"],
             "name_en": r["name_en"], "rank": r["rank"], "score": r["score"],
             "area_km2": r["area_km2"]}
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
        query = query.where(target_lists.c.province_code == parse_province(province))
    if fiscal_year_be is not None:
        query = query.where(target_lists.c.fiscal_year_be == parse_fiscal_year(fiscal_year_be))
    return [
        {"id": r["id"], "province_code": r["province_code"],
         "fiscal_year_be": r["fiscal_year_be"], "level": r["level"], "method": r["method"],
         "declared_by": r["declared_by"], "declared_at": r["declared_at"].isoformat(),
         "count": r["count"]}
        for r in conn.execute(query).mappings()
    ]


def target_codes(conn: Connection, list_id: int) -> list[str]:
    """Return the area codes of a stored target list, in order."""
    return list(conn.execute(
        sa.select(target_areas.c.area_code).where(target_areas.c.target_list_id == list_id)
        .order_by(target_areas.c.area_code)
    ).scalars())


def find_target_list(
    conn: Connection, province: str, fy: int, level: str
) -> dict[str, Any] | None:
    """Return the stored target list of a province, fiscal year and level, or None."""
    row = conn.execute(
        sa.select(target_lists).where(
            target_lists.c.province_code == province, target_lists.c.fiscal_year_be == fy,
            target_lists.c.level == level)
    ).mappings().first()
    return dict(row) if row is not None else None
