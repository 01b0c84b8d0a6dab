"""The WHERE conditions of a selection: province, time, properties, CQL2, privacy and bbox."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from com.config.severity import Category
from com.db.tables import District
from com.ogc.collections import Collection
from com.ogc.cql2 import cql2_condition
from com.ogc.query import ItemQuery
from com.ogc.sources import Source
from com.ogc.values import check_range
from com.security import privacy
from com.security.access import Principal


@dataclass(frozen=True)
class PublicAreas:
    """Subdistricts with points that public layers show and hide."""

    shown: frozenset[str]
    hidden: frozenset[str]

    def condition(self, area_code: ColumnElement[Any]) -> ColumnElement[Any]:
        """Return the SQL test "this point's subdistrict may be shown".

        The smaller of the two sets is sent. A short list is a plain ``<> ALL``/``= ANY``
        array; a long one is a JSONB object tested with ``?`` (a binary search per row),
        because PostgreSQL's planner estimates a long constant array element by element
        (27 ms of planning for 7,000 codes) while it does not look inside a JSONB value.
        """
        use_shown = len(self.shown) <= len(self.hidden)
        codes = sorted(self.shown if use_shown else self.hidden)
        if use_shown and not codes:
            return sa.false()
        if not codes:
            return area_code.is_not(None)
        if len(codes) <= 64:
            array = sa.bindparam("public_areas", codes, type_=ARRAY(sa.Text))
            test = area_code == sa.any_(array) if use_shown else area_code != sa.all_(array)
        else:
            lookup = sa.bindparam("public_areas", dict.fromkeys(codes, 1), type_=JSONB)
            test = lookup.has_key(area_code)
            test = test if use_shown else sa.not_(test)
        return sa.and_(area_code.is_not(None), test)



def public_areas(conn: Connection, *, k: int) -> PublicAreas:
    """Return which subdistricts public layers show and hide (issue 8 small-area rule).

    Public (anonymous) point layers leave out the points of the subdistricts
    :func:`com.security.privacy.hidden_areas` hides: 1 to k - 1 points over all categories
    and all time. The set does not depend on the layer's filters, bbox or tile, so a client
    that filters the unfiltered public points itself sees what the server's filter shows.
    Points outside any subdistrict are left out too.
    """
    totals = privacy.area_point_totals(conn, level="subdistrict")
    hidden = privacy.hidden_codes(totals, k=k)
    return PublicAreas(shown=frozenset(totals) - hidden, hidden=hidden)


def envelope(west: float, south: float, east: float, north: float) -> ColumnElement[Any]:
    """Return ``ST_MakeEnvelope`` in EPSG:4326 with bound values."""
    return sa.func.ST_MakeEnvelope(
        sa.bindparam(None, west, sa.Float), sa.bindparam(None, south, sa.Float),
        sa.bindparam(None, east, sa.Float), sa.bindparam(None, north, sa.Float), 4326,
    )


def where_conditions(
    collection: Collection, source: Source, principal: Principal, query: ItemQuery, *,
    categories: Mapping[str, Category], small_area_k: int,
    shown_areas: Callable[[], PublicAreas],
) -> list[ColumnElement[Any]]:
    """Return the WHERE conditions for a principal and a query.

    The principal's province restriction, the query's datetime, property and CQL2
    filters, then (public callers only) the small-area suppression, then the bbox.

    Parameters
    ----------
    collection, source
        What is selected and its SQL for this principal.
    principal
        Who asks (province restriction; public callers get the small-area rule).
    query
        The parsed request.
    categories
        Category config, so CQL2 category literals find their keys.
    small_area_k
        Public outputs hide areas with fewer points than this (1 turns the rule off).
    shown_areas
        Returns the public areas; called only when the small-area rule applies.

    Raises
    ------
    com.errors.InvalidQuery
        A value out of its column's range, or a CQL2 filter that does not fit.
    """
    conditions = list(source.where)
    allowed = principal.allowed_provinces
    if allowed is not None:
        if source.province is None or not allowed:
            conditions.append(sa.false())
        elif len(allowed) == 1:
            conditions.append(source.province == next(iter(allowed)))
        else:
            conditions.append(source.province.in_(sorted(allowed)))
    if query.datetime and source.temporal is not None:
        start, end = query.datetime
        if start:
            conditions.append(source.temporal >= start)
        if end:
            conditions.append(source.temporal <= end)
    for queryable, values in query.properties:
        column = source.properties[queryable.property]
        values = tuple(check_range(queryable, column, v) for v in values)
        conditions.append(column == values[0] if len(values) == 1 else column.in_(values))
        if queryable.property == "district_code" and source.province is not None:
            # The districts' provinces too: risk_points keeps no index on district_code
            # (0021_points_district_index); the one on province_code narrows the rows.
            conditions.append(source.province.in_(
                sa.select(District.province_code).where(District.code.in_(values))))
    if query.cql is not None:
        conditions.append(cql2_condition(query.cql, collection, source, categories))
    if source.area_code is not None and privacy.applies_to(principal) and small_area_k > 1:
        conditions.append(shown_areas().condition(source.area_code))
    if query.bbox:
        conditions.append(source.bbox(envelope(*query.bbox)))
    return conditions
