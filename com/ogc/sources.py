"""The SQL of each collection (what it serves, for which kind of principal), built once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.sql.elements import ColumnElement

from com.config.severity import Category
from com.db.tables import BorderCrossing, District, Province, RiskPoint, Subdistrict
from com.db.tables_areas import area_features
from com.db.tables_risk import target_areas, target_lists
from com.db.tables_siting import cctv_plans
from com.ogc.ranking import RankingTable

if TYPE_CHECKING:
    from com.ogc.collections import Collection


@dataclass(frozen=True)
class Source:
    """The SQL of one collection for one kind of principal.

    ``properties`` maps each served property to its expression over ``from_``; ``geom`` is the
    served geometry (already coarsened where needed); ``bbox`` returns an index-friendly
    condition for an envelope in EPSG:4326.
    """

    from_: sa.FromClause
    key: ColumnElement[Any]
    geom: ColumnElement[Any]
    properties: dict[str, ColumnElement[Any]]
    province: ColumnElement[Any] | None
    bbox: Callable[[ColumnElement[Any]], ColumnElement[Any]]
    temporal: ColumnElement[Any] | None = None
    where: tuple[ColumnElement[Any], ...] = ()
    sensitive_flag: ColumnElement[Any] | None = None
    #: Subdistrict code of each point, for the small-area suppression of public layers.
    area_code: ColumnElement[Any] | None = None


@dataclass(frozen=True)
class SourceContext:
    """What a collection's SQL depends on besides the query: who asks and the config."""

    coarsen: bool
    sensitive: tuple[str, ...]
    categories: Mapping[str, Category]
    ranking: RankingTable | None = None




def _label_case(column: ColumnElement[Any], labels: Mapping[Any, str]) -> ColumnElement[Any]:
    """Return a CASE giving each value of ``column`` its label (null when unlabelled)."""
    if not labels:
        return sa.cast(sa.null(), sa.Text)
    return sa.case({k: sa.literal(v, sa.Text) for k, v in labels.items()}, value=column,
                   else_=sa.cast(sa.null(), sa.Text))


SEVERITY_TH = {1: "ต่ำมาก", 2: "ต่ำ", 3: "ปานกลาง", 4: "สูง", 5: "สูงมาก"}


def _envelope_filter(
    geom: ColumnElement[Any],
) -> Callable[[ColumnElement[Any]], ColumnElement[Any]]:
    def condition(envelope: ColumnElement[Any]) -> ColumnElement[Any]:
        return sa.func.ST_Intersects(geom, envelope)

    return condition


_Bbox = Callable[[ColumnElement[Any]], ColumnElement[Any]]


def _coarsened_risk_points(
    rp: sa.FromClause, sensitive_keys: tuple[str, ...],
) -> tuple[ColumnElement[Any], ColumnElement[Any], ColumnElement[Any], ColumnElement[Any], _Bbox]:
    """Return the served geometry, name, address, coarsened flag and bbox test of risk points.

    Points of the ``sensitive_keys`` categories lose their name and address and are served at
    their subdistrict's representative point.
    """
    sub = Subdistrict.__table__.alias("rep")
    sensitive = sa.bindparam("sensitive_categories", list(sensitive_keys), type_=ARRAY(sa.Text))
    is_sensitive = rp.c.category == sa.any_(sensitive)
    # Sensitive points are served at their subdistrict's representative point; one that
    # lies in no subdistrict is served with no geometry rather than its exact location.
    # A correlated primary-key lookup, run only for sensitive rows: a join would make the
    # planner hash all 7,425 subdistricts for every tile.
    rep_point = (
        sa.select(sub.c.rep_point)
        .where(sub.c.code == rp.c.subdistrict_code)
        .scalar_subquery()
    )
    geom: ColumnElement[Any] = sa.case((is_sensitive, rep_point), else_=rp.c.geom)
    name: ColumnElement[Any] = sa.case(
        (is_sensitive, sa.cast(sa.null(), sa.Text)), else_=rp.c.name)
    address: ColumnElement[Any] = sa.case(
        (is_sensitive, sa.cast(sa.null(), sa.Text)), else_=rp.c.address)

    def bbox(envelope: ColumnElement[Any]) -> ColumnElement[Any]:
        # The exact test is on the served geometry (so a box around a hidden exact spot
        # finds nothing); the OR of two indexable tests lets PostgreSQL use a BitmapOr of
        # the GiST index on geom and the b-tree on subdistrict_code.
        rep_codes = sa.func.array(
            sa.select(Subdistrict.code)
            .where(Subdistrict.rep_point.op("&&")(envelope))
            .scalar_subquery()
        )
        return sa.and_(
            sa.or_(rp.c.geom.op("&&")(envelope), rp.c.subdistrict_code == sa.any_(rep_codes)),
            geom.op("&&")(envelope),
        )

    return geom, name, address, is_sensitive, bbox


def risk_points_source(ctx: SourceContext) -> Source:
    """Return the SQL of risk points; sensitive ones coarsened when ``ctx.coarsen``."""
    rp = RiskPoint.__table__
    labels = {k: c.th for k, c in ctx.categories.items()}
    properties: dict[str, ColumnElement[Any]]
    from_: sa.FromClause = rp
    bbox: _Bbox
    if ctx.coarsen and ctx.sensitive:
        geom, name, address, coarsened, bbox = _coarsened_risk_points(rp, ctx.sensitive)
    else:
        geom = rp.c.geom
        name, address = rp.c.name, rp.c.address
        coarsened = sa.false()

        def bbox(envelope: ColumnElement[Any]) -> ColumnElement[Any]:
            return rp.c.geom.op("&&")(envelope)

    properties = {
        "name": name,
        "category": rp.c.category,
        "category_th": _label_case(rp.c.category, labels),
        "severity": rp.c.severity,
        "severity_th": _label_case(rp.c.severity, SEVERITY_TH),
        "incident_count": rp.c.incident_count,
        "reported_on": rp.c.reported_on,
        "address": address,
        "subdistrict_code": rp.c.subdistrict_code,
        "district_code": rp.c.district_code,
        "province_code": rp.c.province_code,
        "geocode_quality": rp.c.geocode_quality,
        "approximate": rp.c.approximate,
        "location_coarsened": coarsened,
        "synthetic": rp.c.synthetic,
        "source_upload_id": rp.c.source_upload_id,
        "source_row": rp.c.source_row,
    }
    sensitive_flag = (
        rp.c.category == sa.any_(sa.bindparam("sensitive_flag_categories", list(ctx.sensitive),
                                               type_=ARRAY(sa.Text)))
        if ctx.sensitive
        else sa.false()
    )
    return Source(
        from_=from_,
        key=rp.c.id,
        geom=geom,
        properties=properties,
        province=rp.c.province_code,
        bbox=bbox,
        temporal=rp.c.reported_on,
        sensitive_flag=sensitive_flag,
        area_code=rp.c.subdistrict_code,
    )


def _ranking_from(ctx: SourceContext) -> sa.FromClause | None:
    if ctx.ranking is None:
        return None
    literals = ctx.ranking.literals  # the arrays as text, cast in SQL (RankingTable.literals)

    def column(name: str, item: Any) -> ColumnElement[Any]:
        return sa.cast(sa.bindparam(f"rank_{name}", literals[name], type_=sa.Text),
                       ARRAY(item))

    return (
        sa.func.unnest(
            column("codes", sa.Text), column("risk_score", sa.Float),
            column("rank", sa.Integer), column("hotspot_class", sa.Text),
            column("gi_z", sa.Float), column("points", sa.Integer),
        )
        .table_valued("code", "risk_score", "rank", "hotspot_class", "gi_z", "points")
        .render_derived(name="ranking")
    )


def subdistricts_source(ctx: SourceContext) -> Source:
    """Return the SQL of subdistricts, joined to the ranking when there is one."""
    s = Subdistrict.__table__
    ranking = _ranking_from(ctx)
    from_: sa.FromClause = s
    extra: dict[str, ColumnElement[Any]]
    if ranking is not None:
        from_ = s.outerjoin(ranking, ranking.c.code == s.c.code)
        extra = {
            "rank": ranking.c.rank,
            "risk_score": ranking.c.risk_score,
            "hotspot_class": ranking.c.hotspot_class,
            "gi_z": ranking.c.gi_z,
            "points": ranking.c.points,
        }
    else:
        extra = {
            "rank": sa.cast(sa.null(), sa.Integer),
            "risk_score": sa.cast(sa.null(), sa.Float),
            "hotspot_class": sa.cast(sa.null(), sa.Text),
            "gi_z": sa.cast(sa.null(), sa.Float),
            "points": sa.cast(sa.null(), sa.Integer),
        }
    return Source(
        from_=from_,
        key=s.c.code,
        geom=s.c.geom,
        properties={
            "code": s.c.code,
            "name_th": s.c.name_th,
            "name_en": s.c.name_en,
            "district_code": s.c.district_code,
            "province_code": s.c.province_code,
            "area_km2": s.c.area_km2,
            **extra,
        },
        province=s.c.province_code,
        bbox=_envelope_filter(s.c.geom),
    )


def districts_source(ctx: SourceContext) -> Source:
    """Return the SQL of districts."""
    d = District.__table__
    return Source(
        from_=d,
        key=d.c.code,
        geom=d.c.geom,
        properties={
            "code": d.c.code,
            "name_th": d.c.name_th,
            "name_en": d.c.name_en,
            "province_code": d.c.province_code,
            "area_km2": d.c.area_km2,
        },
        province=d.c.province_code,
        bbox=_envelope_filter(d.c.geom),
    )


def _area_features_source(layer: str | None) -> Source:
    """Return the SQL of the areas of one layer (``villages``), or of every custom layer."""
    a = area_features
    where = a.c.layer == layer if layer else a.c.layer != "villages"
    return Source(
        from_=a,
        key=a.c.code if layer else sa.func.concat(a.c.layer, ":", a.c.code),
        geom=a.c.geom,
        properties={
            **({} if layer else {"layer": a.c.layer}),
            "code": a.c.code, "name_th": a.c.name_th, "name_en": a.c.name_en,
            "subdistrict_code": a.c.subdistrict_code, "district_code": a.c.district_code,
            "province_code": a.c.province_code, "area_km2": a.c.area_km2,
            "catchment_derived": a.c.catchment_derived, "plan_status": a.c.plan_status,
            "plan_due": a.c.plan_due, "synthetic": a.c.synthetic,
        },
        province=a.c.province_code,
        bbox=_envelope_filter(a.c.geom),
        where=(where,),
    )


def villages_source(ctx: SourceContext) -> Source:
    """Return the SQL of the villages (issue 16): polygons or derived catchments."""
    return _area_features_source("villages")


def area_layers_source(ctx: SourceContext) -> Source:
    """Return the SQL of the areas of every custom layer (``layer:NAME``), keyed layer:code."""
    return _area_features_source(None)


def border_crossings_source(ctx: SourceContext) -> Source:
    """Return the SQL of border crossings, each with the province whose polygon holds it."""
    bc = BorderCrossing.__table__
    # Crossings carry no province code: the province is the one whose polygon holds the point.
    province = (
        sa.select(Province.code)
        .where(sa.func.ST_Intersects(Province.geom, bc.c.geom))
        .order_by(Province.code)
        .limit(1)
        .scalar_subquery()
    )
    return Source(
        from_=bc,
        key=bc.c.id,
        geom=bc.c.geom,
        properties={
            "name_th": bc.c.name_th,
            "name_en": bc.c.name_en,
            "kind": bc.c.kind,
            "country": bc.c.country,
            "province_code": province,
        },
        province=province,
        bbox=lambda envelope: bc.c.geom.op("&&")(envelope),
    )


#: Sites of a plan get the integer id ``plan_id * PLAN_ID_FACTOR + order`` (stable, sortable).
PLAN_ID_FACTOR = 100_000
#: Target areas get ``target_list_id * LIST_ID_FACTOR + area code`` (codes have 4-6 digits).
LIST_ID_FACTOR = 10_000_000


def cctv_sites_source(ctx: SourceContext) -> Source:
    """Return the SQL of the sites of saved CCTV plans; sensitive ones coarsened."""
    plans = cctv_plans
    feature = (
        sa.func.jsonb_array_elements(plans.c.result["features"])
        .table_valued(sa.column("value", JSONB))
        .lateral("site")
    )
    value = feature.c.value
    props = value["properties"]
    order = sa.cast(props["order"].astext, sa.Integer)
    subdistrict = props["subdistrict_code"].astext
    exact = sa.func.ST_SetSRID(sa.func.ST_GeomFromGeoJSON(value["geometry"].astext), 4326)
    from_: sa.FromClause = plans.join(feature, sa.true())
    if ctx.coarsen and ctx.sensitive:
        # Candidate sites can be risk points themselves: a site on a point of a sensitive
        # category, or whose circle holds one, is shown at its subdistrict's representative
        # point (the rule of com.siting.redaction.site_is_sensitive, which the CCTV API and
        # the map use).
        sub = Subdistrict.__table__.alias("site_rep")
        from_ = from_.outerjoin(sub, sub.c.code == subdistrict)
        hidden = sa.bindparam("site_sensitive", list(ctx.sensitive), type_=ARRAY(sa.Text))
        covers_sensitive = sa.or_(
            sa.func.coalesce(sa.cast(props["categories"], JSONB).has_any(hidden), sa.false()),
            sa.func.coalesce(
                sa.cast(props["categories_in_radius"], JSONB).has_any(hidden), sa.false()),
            sa.func.coalesce(props["site_category"].astext == sa.any_(hidden), sa.false()),
        )
        geom: ColumnElement[Any] = sa.case((covers_sensitive, sub.c.rep_point), else_=exact)
        coarsened: ColumnElement[Any] = covers_sensitive
    else:
        geom, coarsened = exact, sa.false()
    return Source(
        from_=from_,
        key=plans.c.id * PLAN_ID_FACTOR + order,
        geom=geom,
        properties={
            "plan_id": plans.c.id,
            "plan_name": plans.c.name,
            "order": order,
            # A coarsened site loses its id too: candidates taken from the risk points are
            # named by the point's id (and caller-chosen ids may spell coordinates).
            "site_id": sa.case((coarsened, sa.null()), else_=props["site_id"].astext),
            "gain": sa.cast(props["gain"].astext, sa.Float),
            "cumulative_weight": sa.cast(props["cumulative_weight"].astext, sa.Float),
            "share_covered": sa.cast(props["share_covered"].astext, sa.Float),
            "points_in_radius": sa.cast(props["points_in_radius"].astext, sa.Integer),
            "radius_m": sa.cast(plans.c.result["properties"]["radius_m"].astext, sa.Float),
            "subdistrict_code": subdistrict,
            "subdistrict_th": props["subdistrict_th"].astext,
            "province_code": plans.c.province_code,
            "district_code": plans.c.district_code,
            "method": plans.c.method,
            "created_at": sa.cast(plans.c.created_at, sa.Date),
            "location_coarsened": coarsened,
        },
        province=plans.c.province_code,
        bbox=lambda envelope: geom.op("&&")(envelope),
        where=(props["kind"].astext == "site",),
    )


def target_areas_source(ctx: SourceContext) -> Source:
    """Return the SQL of the areas of declared target lists."""
    areas, lists = target_areas, target_lists
    s = Subdistrict.__table__.alias("ta_sub")
    d = District.__table__.alias("ta_dist")
    from_ = (
        areas.join(lists, lists.c.id == areas.c.target_list_id)
        .outerjoin(s, sa.and_(lists.c.level == "subdistrict", s.c.code == areas.c.area_code))
        .outerjoin(d, sa.and_(lists.c.level == "district", d.c.code == areas.c.area_code))
    )
    geom = sa.func.coalesce(s.c.geom, d.c.geom)
    return Source(
        from_=from_,
        key=lists.c.id * LIST_ID_FACTOR + sa.cast(areas.c.area_code, sa.BigInteger),
        geom=geom,
        properties={
            "target_list_id": lists.c.id,
            "fiscal_year_be": lists.c.fiscal_year_be,
            "level": lists.c.level,
            "area_code": areas.c.area_code,
            "name_th": sa.func.coalesce(s.c.name_th, d.c.name_th),
            "name_en": sa.func.coalesce(s.c.name_en, d.c.name_en),
            "province_code": lists.c.province_code,
            "rank": areas.c.rank,
            "score": areas.c.score,
            "declared_by": lists.c.declared_by,
            "declared_at": sa.cast(lists.c.declared_at, sa.Date),
            "method": lists.c.method,
        },
        province=lists.c.province_code,
        bbox=lambda envelope: sa.func.ST_Intersects(geom, envelope),
    )


class SourceCache:
    """Built sources per collection and kind of principal (SQLAlchemy expressions are immutable).

    A source is rebuilt when the ranking it was built with has been replaced.
    """

    def __init__(self) -> None:
        self._built: dict[Any, tuple[RankingTable | None, Source]] = {}
        self._lock = threading.Lock()

    def get(self, collection: Collection, context: SourceContext) -> Source:
        """Return the collection's source for ``context``, building it on first use."""
        key = (collection.id, context.coarsen, id(context.ranking))
        with self._lock:
            built = self._built.get(key)
        if built is None or built[0] is not context.ranking:
            built = (context.ranking, collection.build(context))
            with self._lock:
                if len(self._built) > 64:
                    self._built.clear()
                self._built[key] = built
        return built[1]
