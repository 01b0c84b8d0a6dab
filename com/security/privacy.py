"""Small-area suppression for public outputs: areas with fewer than k points are not shown.

An area with one or two risk points in a public ranking or map points at a household. So for
anonymous callers (and any other public output) every area whose point count is between 1 and
k - 1 (``COM_SMALL_AREA_K``, default 5) loses its figures: counts, scores, ranks and hotspot
classes become empty and ``suppressed`` is true, while the area itself (code, names, geometry)
stays so the map still draws it. Point layers drop the points that lie in such areas. Areas
with no points are shown: "no points here" points at nobody.

The ranking, OGC and map layers call :func:`applies_to` with the caller's principal and, when it
is true, pass their outputs through :func:`suppress_small_areas` (area tables),
:func:`suppress_records` (lists of dicts, e.g. GeoJSON properties) or
:func:`small_subdistricts` (codes whose points a point layer must leave out).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

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
    """Return True when an area with ``count`` points must be suppressed (1 <= count < k)."""
    if count is None:
        return False
    try:
        n = float(count)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return 0 < n < k


def suppress_small_areas(
    frame: pd.DataFrame,
    *,
    k: int,
    count_column: str = "point_count",
    value_columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Blank the figures of areas with fewer than ``k`` points.

    Parameters
    ----------
    frame
        One row per area (a DataFrame or GeoDataFrame) with a point count column.
    k
        Smallest count shown (``settings.small_area_k``).
    count_column
        Name of the point count column.
    value_columns
        Columns to blank; default every column except the area's identity
        (:data:`IDENTITY_COLUMNS`) and its geometry.

    Returns
    -------
    DataFrame
        A copy with the figures of small areas set to missing and a boolean ``suppressed``
        column; row order and geometry unchanged.

    Examples
    --------
    >>> import pandas as pd
    >>> out = suppress_small_areas(
    ...     pd.DataFrame({"code": ["a", "b"], "point_count": [2, 9], "score": [1.0, 4.5]}), k=5
    ... )
    >>> out["suppressed"].tolist(), out["score"].isna().tolist()
    ([True, False], [True, False])
    """
    if count_column not in frame.columns:
        raise KeyError(f"suppress_small_areas needs a {count_column!r} column")
    out = frame.copy()
    counts = pd.to_numeric(out[count_column], errors="coerce")
    small = (counts > 0) & (counts < k)
    geometry_name = getattr(frame, "_geometry_column_name", None)
    if value_columns is None:
        value_columns = [
            c for c in out.columns if c not in IDENTITY_COLUMNS and c != geometry_name
        ]
    for column in value_columns:
        if small.any():
            # object dtype so ints do not turn into floats for the areas that stay.
            out[column] = out[column].astype(object).where(~small, None)
    out["suppressed"] = small.to_numpy()
    return out


def suppress_records(
    records: Iterable[dict[str, Any]],
    *,
    k: int,
    count_key: str = "point_count",
    value_keys: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Blank the figures of small areas in a list of dicts (e.g. GeoJSON feature properties).

    Parameters
    ----------
    records
        One dict per area with a point count under ``count_key``.
    k
        Smallest count shown.
    count_key
        Key of the point count.
    value_keys
        Keys to blank; default every key except the identity keys (:data:`IDENTITY_COLUMNS`).

    Returns
    -------
    list of dict
        New dicts with ``suppressed`` set and, for small areas, the figures set to None.
    """
    out: list[dict[str, Any]] = []
    for record in records:
        new = dict(record)
        small = is_small(record.get(count_key), k)
        if small:
            keys = value_keys if value_keys is not None else list(new)
            for key in keys:
                if key not in IDENTITY_COLUMNS:
                    new[key] = None
        new["suppressed"] = small
        out.append(new)
    return out


def small_subdistricts(
    conn: Connection,
    *,
    k: int,
    province_code: str | None = None,
    categories: Sequence[str] | None = None,
    since: date | None = None,
    until: date | None = None,
) -> set[str]:
    """Return the subdistricts holding 1 to k - 1 of the points a public layer would show.

    The count uses the same filters as the layer (province, categories, date range), since a
    filter can narrow a well-populated area down to one household.

    Parameters
    ----------
    conn
        A database connection.
    k
        Smallest count shown.
    province_code, categories, since, until
        The filters of the layer being served.

    Returns
    -------
    set of str
        Subdistrict codes whose points must be left out of anonymous point layers.
    """
    points = sa.table(
        "risk_points",
        sa.column("subdistrict_code"),
        sa.column("province_code"),
        sa.column("category"),
        sa.column("reported_on"),
    )
    query = (
        sa.select(points.c.subdistrict_code)
        .where(points.c.subdistrict_code.is_not(None))
        .group_by(points.c.subdistrict_code)
        .having(sa.func.count() < k)
    )
    if province_code:
        query = query.where(points.c.province_code == province_code)
    if categories:
        query = query.where(points.c.category.in_(list(categories)))
    if since:
        query = query.where(points.c.reported_on >= since)
    if until:
        query = query.where(points.c.reported_on <= until)
    return {str(code) for code in conn.execute(query).scalars()}
