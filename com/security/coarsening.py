"""Sensitive risk points at their subdistrict's representative point: the coarsening rule in SQL."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement


def coarsened_geometry(
    geom: ColumnElement[Any],
    category: ColumnElement[Any],
    rep_point: ColumnElement[Any],
    coarsen: Collection[str],
) -> ColumnElement[Any]:
    """Return where a risk point is served to a caller who may not see ``coarsen`` exactly.

    A point of a category in ``coarsen`` (the sensitive ones, for a caller without the
    ``sensitive`` permission) stands at its subdistrict's representative point
    (``rep_point``, NULL when it lies in no subdistrict); any other point at ``geom``.

    Parameters
    ----------
    geom
        The point's exact geometry column.
    category
        The point's category column.
    rep_point
        The representative point of the point's subdistrict (a joined or correlated column).
    coarsen
        Category keys to coarsen; empty: every point at ``geom``.

    Returns
    -------
    sqlalchemy.sql.elements.ColumnElement
        A geometry expression.

    Examples
    --------
    >>> rp = sa.table("risk_points", sa.column("geom"), sa.column("category"))
    >>> s = sa.table("subdistricts", sa.column("rep_point"))
    >>> expression = coarsened_geometry(rp.c.geom, rp.c.category, s.c.rep_point, {"drugs"})
    >>> print(expression)  # doctest: +NORMALIZE_WHITESPACE
    CASE WHEN (risk_points.category IN (__[POSTCOMPILE_category_1]))
    THEN subdistricts.rep_point ELSE risk_points.geom END
    """
    hidden = sorted(set(coarsen))
    if not hidden:
        return geom
    return sa.case((category.in_(hidden), rep_point), else_=geom)


def has_coarsened_position(
    category: ColumnElement[Any], rep_point: ColumnElement[Any], coarsen: Collection[str]
) -> ColumnElement[Any]:
    """Return the condition that a point has a place to stand after :func:`coarsened_geometry`.

    False only for a point of a category in ``coarsen`` that lies in no subdistrict (no
    representative point): such a point is left out rather than drawn where it is.

    Examples
    --------
    >>> rp = sa.table("risk_points", sa.column("category"))
    >>> s = sa.table("subdistricts", sa.column("rep_point"))
    >>> print(has_coarsened_position(rp.c.category, s.c.rep_point, ()))
    true
    """
    hidden = sorted(set(coarsen))
    if not hidden:
        return sa.true()
    return sa.or_(sa.not_(category.in_(hidden)), rep_point.is_not(None))
