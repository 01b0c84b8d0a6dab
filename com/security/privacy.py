"""Small-area suppression for public outputs: areas with fewer than k points are not shown.

An area with one or two risk points in a public ranking or map points at a household. So for
anonymous callers (and any other public output) an area is *hidden* when it holds between 1
and k - 1 (``COM_SMALL_AREA_K``, default 5) risk points in all: every category, every date.
Areas with no points are shown: "no points here" points at nobody.

The rule is decided once, by :func:`hidden_areas`, from the stored points and never from a
query's filters. A per-query rule gave different answers for the same data: a client that
downloaded every visible point and filtered it itself saw other areas than the server's own
filter, and the difference told it which areas a filter had narrowed to a household. With one
set, every way of asking (rankings, hot spots, OGC items of points and subdistricts with or
without filters, exports, the map, vector tiles) shows the same areas.

A hidden area keeps its identity (code, names, geometry) so the map still draws it, but loses
its figures: counts, scores, ranks and hotspot classes become empty and ``suppressed`` is true.
Rankings are renumbered over the shown areas (1, 2, 3 ... without gaps, so the place of a hidden
area cannot be read from them) and the hidden areas follow them in code order.
Point layers leave out the points of hidden areas (and points outside any subdistrict).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.db.rollup import ensure_folded
from com.security.access import Principal

#: Columns an area keeps when suppressed: its identity and shape, never its figures.
IDENTITY_COLUMNS = frozenset(
    {
        "code",
        "subdistrict_code",
        "district_code",
        "province_code",
        "h3",
        "h3_cell",
        "cell",
        "name",
        "name_th",
        "name_en",
        "district_name_th",
        "district_name_en",
        "province_name_th",
        "province_name_en",
        "area_km2",
        "geometry",
        "geom",
        "suppressed",
    }
)


def applies_to(principal: Principal | None) -> bool:
    """Return True when outputs for ``principal`` must be suppressed (anonymous/public)."""
    return principal is None or principal.kind == "anonymous"


def is_small(count: object, k: int) -> bool:
    """Return True when an area holding ``count`` points in all is hidden (1 <= count < k)."""
    if count is None:
        return False
    try:
        n = float(count)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return 0 < n < k


#: Column of ``risk_points`` holding each admin level's area code.
_LEVEL_COLUMNS = {
    "subdistrict": "subdistrict_code",
    "district": "district_code",
    "province": "province_code",
}


def area_point_totals(conn: Connection, *, level: str = "subdistrict") -> dict[str, int]:
    """Return how many risk points each area of ``level`` holds: every category, every date.

    Parameters
    ----------
    conn
        A database connection.
    level
        ``subdistrict``, ``district`` or ``province`` (H3: com.analysis.risk.h3_point_totals).

    Returns
    -------
    dict
        Area code -> point count, for areas with at least one point.
    """
    text = str(level).strip().lower()
    if text.startswith("h3"):
        # H3 cells are computed where the H3 rankings are (com.analysis.risk.h3_point_totals);
        # this leaf package does not import the analysis, so callers pass those totals in.
        raise ValueError(f"H3 point totals come from com.analysis.risk, not {level!r}")
    if text not in _LEVEL_COLUMNS:
        raise ValueError(f"no area level {level!r}")
    # From the rollup kept by the database in step with risk_points (migration 0008_rollup):
    # the same counts as a pass over every point, from one row per area and category.
    ensure_folded(conn)  # an upload's points count from its commit (0017_rollup_pending)
    rollup = sa.table("risk_rollup_total", sa.column(_LEVEL_COLUMNS[text]), sa.column("points"))
    column = rollup.c[_LEVEL_COLUMNS[text]]
    rows = conn.execute(
        sa.select(column, sa.func.sum(rollup.c.points)).where(column.is_not(None))
        .group_by(column)
    ).all()
    return {str(code): int(n) for code, n in rows}


def hidden_areas(
    conn: Connection, *, k: int, level: str = "subdistrict",
    totals: Mapping[str, int] | None = None,
) -> frozenset[str]:
    """Return the codes of the areas public outputs hide: the one small-area rule.

    An area is hidden when it holds 1 to k - 1 risk points over all categories and all time.
    No filter (category, dates, severity, bbox, tile) changes the set, so every public output
    hides the same areas whatever it is asked.

    Parameters
    ----------
    conn
        A database connection.
    k
        Smallest count shown (``settings.small_area_k``); k <= 1 hides nothing.
    level
        ``subdistrict`` (the default, also for point layers), ``district`` or ``province``.
    totals
        Point totals per area (every category, every date) when the caller has them: H3
        levels pass :func:`com.analysis.risk.h3_point_totals`.

    Returns
    -------
    frozenset of str
        Area codes to hide.
    """
    if totals is None:
        totals = area_point_totals(conn, level=level)
    return hidden_codes(totals, k=k)


def hidden_codes(totals: Mapping[str, int], *, k: int) -> frozenset[str]:
    """Return the codes among ``totals`` (code -> all-time point count) that are hidden.

    Examples
    --------
    >>> sorted(hidden_codes({"a": 2, "b": 5, "c": 0}, k=5))
    ['a']
    """
    return frozenset(code for code, n in totals.items() if is_small(n, k))


def suppress_areas(
    frame: pd.DataFrame,
    hidden: Collection[str],
    *,
    code_column: str = "code",
    value_columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Blank the figures of hidden areas, renumber the ranks of the others, hidden areas last.

    Parameters
    ----------
    frame
        One row per area (a DataFrame or GeoDataFrame), in the order to show.
    hidden
        Codes of the hidden areas (:func:`hidden_areas`).
    code_column
        Name of the area code column.
    value_columns
        Columns to blank; default every column except the area's identity
        (:data:`IDENTITY_COLUMNS`) and its geometry.

    Returns
    -------
    DataFrame
        A copy with a boolean ``suppressed`` column. The shown areas keep their order and, when
        there is a ``rank`` column, are ranked again among themselves (1 first, ties sharing a
        rank, no gaps left by hidden areas); the hidden areas follow in code order with their
        figures (``rank`` included) set to missing. ``attrs`` are kept.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"code": ["c", "a", "b"], "rank": [1, 2, 3], "score": [9, 5, 1]})
    >>> out = suppress_areas(frame, {"a"})
    >>> out["code"].tolist(), out["rank"].tolist(), out["suppressed"].tolist()
    (['c', 'b', 'a'], [1, 2, None], [False, False, True])
    """
    if code_column not in frame.columns:
        raise KeyError(f"suppress_areas needs a {code_column!r} column")
    hidden_set = {str(c) for c in hidden}
    small = frame[code_column].astype(str).isin(hidden_set).to_numpy()
    if not small.any():
        out = frame.copy()
        out["suppressed"] = False
        return out
    shown_part = frame[~small]
    hidden_part = frame[small]
    hidden_part = hidden_part.iloc[
        hidden_part[code_column].astype(str).to_numpy().argsort(kind="stable")
    ]
    out = pd.concat([shown_part, hidden_part]).reset_index(drop=True)
    out.attrs.update(frame.attrs)
    mask = pd.Series([False] * len(shown_part) + [True] * len(hidden_part), index=out.index)
    geometry_name = getattr(frame, "_geometry_column_name", None)
    if value_columns is None:
        value_columns = [
            c for c in out.columns if c not in IDENTITY_COLUMNS and c != geometry_name
        ]
    for column in value_columns:
        # object dtype so ints do not turn into floats for the areas that stay.
        out[column] = out[column].astype(object).where(~mask, None)
    if "rank" in out.columns:
        # Competition ranking of the shown areas among themselves: the old ranks' order and
        # ties are kept, the gaps hidden areas left are closed.
        ranks = pd.to_numeric(out.loc[~mask, "rank"], errors="coerce")
        renumbered = ranks.rank(method="min")
        out.loc[~mask, "rank"] = [None if pd.isna(r) else int(r) for r in renumbered]
    out["suppressed"] = mask.to_numpy()
    return out
