"""CQL2 text filters (OGC API - Features Part 3) parsed by pygeofilter and translated to SQL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from com.config.severity import Category
from com.errors import InvalidQuery
from com.ogc.collections import Collection, Queryable
from com.ogc.sources import Source
from com.ogc.values import category_filter_key, check_range, coerce_value


def parse_cql2(text: str) -> Any:
    """Parse CQL2 text with pygeofilter into its AST.

    Raises
    ------
    InvalidQuery
        When the text is not valid CQL2.
    """
    # Deferred on purpose: pygeofilter builds its Lark grammar at import (about 1 s), which
    # only requests that carry a filter should pay.
    from lark.exceptions import LarkError
    from pygeofilter.parsers.cql2_text import parse

    if len(text) > 4000:
        raise InvalidQuery("filter is longer than 4,000 characters")
    try:
        return parse(text)
    except (LarkError, ValueError, TypeError, AttributeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidQuery(f"filter is not valid CQL2 text: {first_line}") from None


def cql2_condition(
    node: Any, collection: Collection, source: Source, categories: Mapping[str, Category]
) -> ColumnElement[Any]:
    """Translate a pygeofilter AST into a SQLAlchemy condition over ``source``.

    Supported: AND, OR, NOT, =, <>, <, <=, >, >=, BETWEEN, IN, IS NULL, on whitelisted
    queryables compared with literals. Anything else (functions, spatial or temporal
    predicates, arithmetic, property-to-property comparisons) is refused with InvalidQuery.
    """
    from pygeofilter import ast  # deferred: 0.25 s at import, see parse_cql2

    def attribute(lhs: Any) -> tuple[Queryable, ColumnElement[Any]]:
        if not isinstance(lhs, ast.Attribute):
            raise InvalidQuery("filter: the left side of a comparison must be a property name")
        queryable = collection.queryable(lhs.name)
        return queryable, source.properties[queryable.property]

    def literal(queryable: Queryable, column: ColumnElement[Any], value: Any) -> Any:
        if isinstance(value, ast.Node):
            raise InvalidQuery("filter: compare properties with literal values only")
        coerced = coerce_value(queryable, value)
        if queryable.property == "category" and isinstance(coerced, str):
            coerced = category_filter_key(coerced, categories)
        return check_range(queryable, column, coerced)

    def walk(n: Any, depth: int = 0) -> ColumnElement[Any]:
        if depth > 50:
            raise InvalidQuery("filter is nested too deeply")
        if isinstance(n, ast.And):
            return sa.and_(walk(n.lhs, depth + 1), walk(n.rhs, depth + 1))
        if isinstance(n, ast.Or):
            return sa.or_(walk(n.lhs, depth + 1), walk(n.rhs, depth + 1))
        if isinstance(n, ast.Not):
            return sa.not_(walk(n.sub_node, depth + 1))
        if isinstance(n, ast.Comparison):
            queryable, column = attribute(n.lhs)
            value = literal(queryable, column, n.rhs)
            ops = {
                ast.Equal: column.__eq__, ast.NotEqual: column.__ne__,
                ast.LessThan: column.__lt__, ast.LessEqual: column.__le__,
                ast.GreaterThan: column.__gt__, ast.GreaterEqual: column.__ge__,
            }
            return ops[type(n)](value)
        if isinstance(n, ast.Between):
            queryable, column = attribute(n.lhs)
            condition = column.between(literal(queryable, column, n.low),
                                       literal(queryable, column, n.high))
            return sa.not_(condition) if n.not_ else condition
        if isinstance(n, ast.In):
            queryable, column = attribute(n.lhs)
            values = [literal(queryable, column, v) for v in n.sub_nodes]
            if not values:
                raise InvalidQuery("filter: IN needs at least one value")
            return column.not_in(values) if n.not_ else column.in_(values)
        if isinstance(n, ast.IsNull):
            _, column = attribute(n.lhs)
            return column.is_not(None) if n.not_ else column.is_(None)
        name = type(n).__name__
        raise InvalidQuery(
            f"filter: {name} is not supported; use =, <>, <, <=, >, >=, BETWEEN, IN, IS NULL "
            "with AND, OR, NOT"
        )

    if isinstance(node, bool | int | float | str) or node is None:
        raise InvalidQuery("filter must be a condition such as severity >= 4")
    return walk(node)
