"""What a plan may show: sites that would give away a sensitive point, coarsened or withheld."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.config.severity import sensitive_categories
from com.db.tables import RiskPoint, Subdistrict


def site_is_sensitive(properties: Mapping[str, Any], sensitive: Iterable[str]) -> bool:
    """Return True when a plan site would give away where a sensitive point is.

    That is a site standing on a point of a sensitive category (``site_category``, the
    candidates are the risk points themselves), or one whose coverage circle holds such a
    point (``categories``: the points it newly covers; ``categories_in_radius``: every point
    within reach, stored by plans made since that property exists). The OGC ``cctv-sites``
    collection (:mod:`com.ogc.sources`) applies the same rule in SQL.
    """
    hidden = set(sensitive)
    if not hidden:
        return False
    if properties.get("site_category") in hidden:
        return True
    near = set(properties.get("categories") or {}) | set(
        properties.get("categories_in_radius") or ()
    )
    return bool(near & hidden)


def redact_plan(
    plan_geojson: Mapping[str, Any],
    sensitive: Iterable[str],
    *,
    rep_points: Mapping[str, tuple[float, float]] | None = None,
    sensitive_ids: Iterable[Any] = (),
) -> dict[str, Any]:
    """Coarsen the sites of a plan that would give away a point of a sensitive category.

    For callers without the ``sensitive`` permission. A site for which
    :func:`site_is_sensitive` holds is moved to its subdistrict's representative point
    (``rep_points``: subdistrict code -> (lon, lat), see :func:`rep_points_of`), as the
    risk points themselves are in the API, tiles and exports; a site with no known
    subdistrict is served without a geometry, never at its exact place. Such sites get
    ``coarsened: true`` and their coverage circles lose their geometry (a circle's centre is
    the site). No site keeps the ids of sensitive points (``sensitive_ids``) in its
    ``point_ids``, a count of a sensitive category in its ``categories``, or, when it stands
    on a sensitive point, that point's id as its ``site_id``; the figures are unchanged.

    Parameters
    ----------
    plan_geojson
        A plan's FeatureCollection (:meth:`SitingPlan.to_geojson` or a saved ``result``).
    sensitive
        The sensitive category keys (:func:`com.config.severity.sensitive_categories`).
    rep_points
        Representative points of the sites' subdistricts.
    sensitive_ids
        Ids of the plan's points that belong to a sensitive category (see :func:`plan_for`).

    Returns
    -------
    dict
        A redacted copy; the input is not changed.
    """
    hidden = set(sensitive)
    reps = rep_points or {}
    withheld = {str(i) for i in sensitive_ids}
    out = json.loads(json.dumps(plan_geojson))
    coarse_orders = set()
    on_sensitive_point = set()
    for feature in out.get("features", []):
        props = feature.get("properties") or {}
        if props.get("kind") != "site":
            continue
        if site_is_sensitive(props, hidden):
            rep = reps.get(str(props.get("subdistrict_code")))
            feature["geometry"] = (
                {"type": "Point", "coordinates": [rep[0], rep[1]]} if rep else None
            )
            props["coarsened"] = True
            coarse_orders.add(props.get("order"))
        if "point_ids" in props:
            props["point_ids"] = [i for i in props["point_ids"] or [] if str(i) not in withheld]
        if isinstance(props.get("categories"), dict):
            props["categories"] = {
                c: n for c, n in props["categories"].items() if c not in hidden
            }
        if props.get("site_category") in hidden:
            props["site_id"] = None
            on_sensitive_point.add(props.get("order"))
    for feature in out.get("features", []):
        props = feature.get("properties") or {}
        if props.get("kind") != "coverage":
            continue
        if props.get("order") in coarse_orders:
            feature["geometry"] = None
            props["coarsened"] = True
        if props.get("order") in on_sensitive_point:
            props["site_id"] = None
    return out


def rep_points_of(conn: Connection, codes: Iterable[Any]) -> dict[str, tuple[float, float]]:
    """Return the representative point (lon, lat) of each subdistrict code given."""
    wanted = sorted({str(c) for c in codes if c})
    if not wanted:
        return {}
    rows = conn.execute(
        sa.select(Subdistrict.code, sa.func.ST_X(Subdistrict.rep_point),
                  sa.func.ST_Y(Subdistrict.rep_point))
        .where(Subdistrict.code.in_(wanted), Subdistrict.rep_point.is_not(None))
    ).all()
    return {str(code): (float(lon), float(lat)) for code, lon, lat in rows}


def plan_for(
    conn: Connection,
    plan_geojson: Mapping[str, Any],
    principal: Any,
    *,
    severity_config: Path | str | None = None,
) -> dict[str, Any]:
    """Return a plan as ``principal`` may see it: exact, or with :func:`redact_plan` applied.

    The one place the CCTV API and the operations map decide how a plan is shown; a
    principal of unknown rights (None) gets the redacted plan.

    Parameters
    ----------
    conn
        Database connection (for the subdistricts' representative points).
    plan_geojson
        The plan's FeatureCollection.
    principal
        The viewer (:class:`com.security.access.Principal`).
    severity_config
        ``settings.severity_config`` (which categories are sensitive).

    Returns
    -------
    dict
        The plan to show.
    """
    if getattr(principal, "sees_sensitive", False):
        return dict(plan_geojson)
    sensitive = sensitive_categories(severity_config)
    features = [f.get("properties") or {} for f in plan_geojson.get("features", [])]
    codes = [props.get("subdistrict_code") for props in features]
    ids = {str(i) for props in features for i in props.get("point_ids") or []}
    return redact_plan(plan_geojson, sensitive, rep_points=rep_points_of(conn, codes),
                       sensitive_ids=ids - _ordinary_point_ids(conn, ids, sensitive))


def _ordinary_point_ids(conn: Connection, ids: Iterable[str], sensitive: Iterable[str]
                        ) -> set[str]:
    """Return those of ``ids`` that are risk points of a category not in ``sensitive``.

    Fail closed: an id that is not (or no longer) a risk point counts as sensitive.
    """
    numbers = sorted({int(i) for i in ids if str(i).isdigit() and len(str(i)) < 19})
    if not numbers:
        return set()
    rp = RiskPoint.__table__
    query = sa.select(rp.c.id).where(rp.c.id.in_(numbers))
    hidden = sorted(set(sensitive))
    if hidden:
        query = query.where(sa.func.coalesce(rp.c.category.not_in(hidden), False))
    return {str(i) for i in conn.execute(query).scalars()}
