"""The database edge of CCTV siting: areas, demand, cameras, uploaded sites and saved plans."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.config.severity import load_severity_model
from com.db.engine import sql
from com.db.tables import Camera, District, Province, RiskPoint, Subdistrict
from com.db.tables_siting import candidate_sites as candidate_sites_table
from com.db.tables_siting import cctv_plans
from com.errors import NotFoundError, ValidationError
from com.security.audit import record
from com.security.coarsening import coarsened_geometry, has_coarsened_position
from com.siting.scalars import json_default

if TYPE_CHECKING:  # a plan only as an argument: the queries need no solver (scipy)
    from com.siting.plan import SitingPlan


def _area_filter(table: Any, province: str, district: str | None) -> list[Any]:
    conditions = [table.c.province_code == province]
    if district:
        conditions.append(table.c.district_code == district)
    return conditions


def check_area(conn: Connection, *, province: str, district: str | None = None) -> None:
    """Raise NotFoundError/ValidationError unless the province (and district in it) exist."""
    if not conn.execute(
        sa.select(Province.code).where(Province.code == str(province))
    ).first():
        raise NotFoundError(f"province {province} does not exist")
    if district is not None:
        row = conn.execute(
            sa.select(District.province_code).where(District.code == str(district))
        ).first()
        if row is None:
            raise NotFoundError(f"district {district} does not exist")
        if row[0] != str(province):
            raise ValidationError(f"district {district} is not in province {province}")


def load_demand(
    conn: Connection,
    *,
    province: str,
    district: str | None = None,
    as_of: date | None = None,
    severity_config: Path | None = None,
    coarsen: Collection[str] = (),
) -> pd.DataFrame:
    """Return the risk points of an area as demand: id, lon, lat, weight, category, codes.

    Points of a category in ``coarsen`` (the sensitive ones, for a caller without the
    ``sensitive`` permission) stand at their subdistrict's representative point, and those in
    no subdistrict are left out: the rule by which the OGC API, tiles, exports and the map
    serve them (:mod:`com.ogc`, :mod:`com.maps`), so a plan computed on this demand tells
    no more than those do.
    """
    rp = RiskPoint.__table__
    rep = Subdistrict.__table__.alias("rep")
    geom = coarsened_geometry(rp.c.geom, rp.c.category, rep.c.rep_point, coarsen)
    conditions = [
        *_area_filter(rp, province, district),
        has_coarsened_position(rp.c.category, rep.c.rep_point, coarsen),
    ]
    # Join the subdistricts only when a category is coarsened: exact demand needs none.
    from_: Any = rp.outerjoin(rep, rep.c.code == rp.c.subdistrict_code) if set(coarsen) else rp
    query = sa.select(
        rp.c.id,
        sa.func.ST_X(geom).label("lon"),
        sa.func.ST_Y(geom).label("lat"),
        rp.c.category,
        rp.c.severity,
        rp.c.incident_count,
        rp.c.reported_on,
        rp.c.subdistrict_code,
        rp.c.district_code,
    ).select_from(from_).where(*conditions).order_by(rp.c.id)
    frame = pd.DataFrame(conn.execute(query).mappings().all(),
                         columns=["id", "lon", "lat", "category", "severity", "incident_count",
                                  "reported_on", "subdistrict_code", "district_code"])
    frame["weight"] = demand_weights(frame, as_of=as_of, severity_config=severity_config) if len(
        frame
    ) else pd.Series(dtype=float)
    return frame


def demand_weights(
    points: pd.DataFrame, *, as_of: date | None = None, severity_config: Path | None = None
) -> pd.Series:
    """Weight of each risk point from the severity model: the same weights as the ranking.

    Category weight x severity x recency x incident count (:func:`com.analysis.risk.point_weights`).
    """
    from com.analysis import risk  # deferred: com.analysis.risk imports geopandas

    model = load_severity_model(severity_config)
    return risk.point_weights(points, model, as_of=as_of or date.today()).astype(float)


def area_geometry(
    conn: Connection, *, province: str, district: str | None = None
) -> shapely.Geometry:
    """Return the WGS84 polygon of a province or district."""
    table = District if district else Province
    code = district if district else province
    wkb = conn.execute(
        sa.select(sa.func.ST_AsBinary(table.geom)).where(table.code == str(code))
    ).scalar()
    if wkb is None:
        raise NotFoundError(f"{'district' if district else 'province'} {code} does not exist")
    return shapely.from_wkb(bytes(wkb))


def load_cameras(
    conn: Connection, *, province: str, district: str | None = None, margin_m: float = 10_000.0
) -> pd.DataFrame:
    """Return installed cameras in or near an area (those across the border cover too)."""
    cam = Camera.__table__
    area = District if district else Province
    code = district if district else province
    envelope = (
        sa.select(sa.func.ST_Expand(sa.func.ST_Envelope(area.geom), margin_m / 100_000.0))
        .where(area.code == str(code))
        .scalar_subquery()
    )
    query = sa.select(
        cam.c.id, sa.func.ST_X(cam.c.geom).label("lon"), sa.func.ST_Y(cam.c.geom).label("lat"),
        cam.c.radius_m, cam.c.name,
    ).where(cam.c.geom.op("&&")(envelope)).order_by(cam.c.id)
    return pd.DataFrame(conn.execute(query).mappings().all(),
                        columns=["id", "lon", "lat", "radius_m", "name"])


def site_subdistricts(conn: Connection, lon: Sequence[float], lat: Sequence[float]) -> pd.DataFrame:
    """Return the subdistrict code and Thai name of each point (containing, else nearest 1 km)."""
    if len(lon) == 0:
        return pd.DataFrame(columns=["subdistrict_code", "subdistrict_th"])
    rows = conn.execute(
        sql("siting_site_subdistricts"),
        {"lons": [float(v) for v in lon], "lats": [float(v) for v in lat]},
    ).mappings().all()
    by_position = {int(r["i"]): r for r in rows}
    return pd.DataFrame(
        [
            {
                "subdistrict_code": by_position[i]["code"] if i in by_position else None,
                "subdistrict_th": by_position[i]["name_th"] if i in by_position else None,
            }
            for i in range(1, len(lon) + 1)
        ]
    )


def load_sites(
    conn: Connection,
    *,
    province: str,
    district: str | None = None,
    upload_id: int | None = None,
) -> pd.DataFrame:
    """Return uploaded candidate sites (kind ``sites``) of an area, or of one upload."""
    table = candidate_sites_table
    query = sa.select(
        table.c.id, table.c.name, sa.func.ST_X(table.c.geom).label("lon"),
        sa.func.ST_Y(table.c.geom).label("lat"), table.c.cost, table.c.subdistrict_code,
    ).where(*_area_filter(table, province, district)).order_by(table.c.id)
    if upload_id is not None:
        query = query.where(table.c.source_upload_id == int(upload_id))
    frame = pd.DataFrame(conn.execute(query).mappings().all(),
                         columns=["id", "name", "lon", "lat", "cost", "subdistrict_code"])
    frame.insert(0, "site_id", [f"site-{i}" for i in frame.pop("id")])
    frame["cost"] = pd.to_numeric(frame["cost"], errors="coerce")
    return frame


def save_plan(
    conn: Connection,
    plan: SitingPlan,
    *,
    name: str,
    principal: Any,
    params: Mapping[str, Any] | None = None,
    client: str | None = None,
) -> int:
    """Store a plan in ``cctv_plans`` and write a ``cctv.plan`` audit row; return its id."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("a saved plan needs a name")
    geojson = plan.to_geojson()
    props = geojson["properties"]
    plan_id = conn.execute(
        sa.insert(cctv_plans)
        .values(
            name=name,
            province_code=props.get("province_code"),
            district_code=props.get("district_code"),
            params=json.loads(json.dumps(dict(params or {}), default=json_default)),
            method=plan.solution.method,
            objective=plan.solution.objective,
            gap=plan.solution.gap,
            total_weight=plan.total_weight,
            covered_weight=plan.covered_weight,
            created_by=getattr(principal, "name", None),
            result=geojson,
        )
        .returning(cctv_plans.c.id)
    ).scalar_one()
    record(
        conn,
        principal=principal,
        action="cctv.plan",
        target=f"cctv_plan:{plan_id}",
        record_ids=[plan_id],
        details={
            "name": name,
            "province_code": props.get("province_code"),
            "district_code": props.get("district_code"),
            "sites": props["sites"],
            "objective": props["objective"],
            "gap": props["gap"],
        },
        client=client,
    )
    return int(plan_id)


_PLAN_COLUMNS = (
    "id", "name", "province_code", "district_code", "params", "method", "objective", "gap",
    "total_weight", "covered_weight", "created_by", "created_at",
)


def list_plans(
    conn: Connection, *, province: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Return saved plans (without their GeoJSON), newest first."""
    query = (
        sa.select(*(cctv_plans.c[c] for c in _PLAN_COLUMNS))
        .order_by(cctv_plans.c.id.desc())
        .limit(max(1, min(int(limit), 1000)))
    )
    if province:
        query = query.where(cctv_plans.c.province_code == str(province))
    return [dict(r) for r in conn.execute(query).mappings()]


def get_plan(conn: Connection, plan_id: int) -> dict[str, Any]:
    """Return one saved plan with its GeoJSON ``result``.

    Raises
    ------
    NotFoundError
        When no plan has this id.
    """
    query = sa.select(cctv_plans).where(cctv_plans.c.id == int(plan_id))
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFoundError(f"CCTV plan {plan_id} does not exist")
    return dict(row)
