"""The operations map's data from the database: filters, layers, plan sites and the ranking."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import sqlalchemy as sa

from com.analysis import risk
from com.config.regions import province_codes_of, region_key, region_provinces
from com.config.severity import load_severity_model, sensitive_categories
from com.errors import ParseError, ValidationError
from com.maps.mapdata import MapData
from com.maps.style import category_names, score_bins
from com.security import privacy
from com.siting.redaction import plan_for
from com.text.thai import parse_date


@dataclass(frozen=True)
class MapFilters:
    """The filters of the operations map, kept in the page URL (``?province=32&...``)."""

    province_code: str | None = None
    district_code: str | None = None
    categories: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    min_severity: int | None = None
    metric: str = "score"
    plan_id: int | None = None
    #: Areas of the choropleth: ``subdistrict``, ``village`` or ``layer:NAME`` (issue 16).
    level: str = "subdistrict"
    #: Issue 16: a region's key (``?region=isoc-2``): the map spans its provinces.
    region: str | None = None

    @property
    def province_codes(self) -> tuple[str, ...] | None:
        """The provinces the map shows: the province, else the region's (None: none chosen)."""
        return province_codes_of(province=self.province_code, region=self.region)

    @property
    def spans_region(self) -> bool:
        """Whether the view is a whole region (province outlines, ranks across provinces)."""
        return self.region is not None and self.province_code is None

    @classmethod
    def from_query(cls, params: Mapping[str, Sequence[str]]) -> MapFilters:
        """Parse URL query parameters (each a list of values) into filters.

        Raises
        ------
        ValidationError
            A value that is not a code, a date, a severity 1-5, or a known metric.
        """
        def one(key: str) -> str | None:
            values = [v.strip() for v in params.get(key, []) if v and v.strip()]
            return values[-1] if values else None

        def many(key: str) -> list[str]:
            out: list[str] = []
            for value in params.get(key, []):
                out.extend(v.strip() for v in value.split(",") if v.strip())
            return out

        def day(key: str) -> date | None:
            value = one(key)
            if value is None:
                return None
            # The Thai page's form sends Buddhist-era day/month/year (15/01/2568, Thai digits
            # too); links and the English page send ISO dates. parse_date reads them all.
            try:
                return parse_date(value)
            except ParseError:
                raise ValidationError(
                    f"วันที่ {value!r} ไม่ถูกต้อง ใช้รูปแบบ 01/10/2567 หรือ 2024-10-01 / "
                    f"{key}={value!r} is not a date like 2024-10-01 or 01/10/2567"
                ) from None

        province = one("province")
        district = one("district")
        if province is not None and not (province.isdigit() and len(province) == 2):
            raise ValidationError(f"province={province!r} is not a 2-digit province code")
        region_name = one("region")
        region = region_key(region_name) if region_name else None
        # The form sends the province select with the region select: a province outside the
        # chosen region is the one left over from before, so the region wins.
        if region and province and province not in region_provinces(region):
            province, district = None, None
        if district is not None and not (district.isdigit() and len(district) == 4):
            raise ValidationError(f"district={district!r} is not a 4-digit district code")
        if district and not province:
            province = district[:2]
        severity = one("severity")
        if severity is not None and (not severity.isdigit() or not 1 <= int(severity) <= 5):
            raise ValidationError(f"severity={severity!r} must be a number 1-5 (the lowest shown)")
        metric = one("metric") or "score"
        if metric not in ("score", "rank"):
            raise ValidationError(f"metric={metric!r} is not 'score' or 'rank'")
        plan = one("plan")
        if plan is not None and not plan.isdigit():
            raise ValidationError(f"plan={plan!r} is not a plan number")
        date_from, date_to = day("from"), day("to")
        if date_from and date_to and date_from > date_to:
            raise ValidationError("the 'from' date is after the 'to' date")
        level = one("level") or "subdistrict"
        if level != "subdistrict" and not risk.AreaLevel.parse(level).is_layer:
            raise ValidationError(f"level={level!r} is not subdistrict, village or layer:NAME")
        return cls(
            province_code=province,
            district_code=district,
            categories=tuple(sorted(set(many("category")))),
            date_from=date_from,
            date_to=date_to,
            min_severity=int(severity) if severity and int(severity) > 1 else None,
            metric=metric,
            plan_id=int(plan) if plan else None,
            level=str(risk.AreaLevel.parse(level)),
            region=region,
        )

    def query_items(self) -> list[tuple[str, str]]:
        """Return the filters as URL query items (the inverse of :meth:`from_query`)."""
        items: list[tuple[str, str]] = []
        if self.region:
            items.append(("region", self.region))
        if self.province_code:
            items.append(("province", self.province_code))
        if self.district_code:
            items.append(("district", self.district_code))
        items += [("category", c) for c in self.categories]
        if self.date_from:
            items.append(("from", self.date_from.isoformat()))
        if self.date_to:
            items.append(("to", self.date_to.isoformat()))
        if self.min_severity:
            items.append(("severity", str(self.min_severity)))
        if self.metric != "score":
            items.append(("metric", self.metric))
        if self.plan_id is not None:
            items.append(("plan", str(self.plan_id)))
        if self.level != "subdistrict":
            items.append(("level", self.level))
        return items


def _read_geo(conn: Any, query: str, params: Mapping[str, Any]) -> gpd.GeoDataFrame:
    return gpd.read_postgis(sa.text(query), conn, geom_col="geometry", params=dict(params))


def _point_query(filters: MapFilters, coarsen: Sequence[str]) -> tuple[str, dict[str, Any]]:
    # Sensitive categories are moved to their subdistrict's representative point for viewers
    # without the "sensitive" permission, without their names (issue 7's rule, as the OGC
    # API applies it); one in no subdistrict is left out rather than drawn where it is.
    where = [
        "r.province_code = ANY(:provinces)",
        "NOT (r.category = ANY(:coarsen) AND s.rep_point IS NULL)",
    ]
    params: dict[str, Any] = {"provinces": list(filters.province_codes or ()),
                              "coarsen": list(coarsen)}
    if filters.district_code:
        where.append("r.district_code = :district")
        params["district"] = filters.district_code
    if filters.categories:
        where.append("r.category = ANY(:categories)")
        params["categories"] = list(filters.categories)
    if filters.date_from:
        where.append("r.reported_on >= :date_from")
        params["date_from"] = filters.date_from
    if filters.date_to:
        where.append("r.reported_on <= :date_to")
        params["date_to"] = filters.date_to
    if filters.min_severity:
        where.append("r.severity >= :min_severity")
        params["min_severity"] = filters.min_severity
    query = f"""
        SELECT r.id,
               CASE WHEN r.category = ANY(:coarsen) THEN NULL ELSE r.name END AS name,
               r.category, r.severity, r.incident_count, r.reported_on,
               r.synthetic, r.subdistrict_code,
               (r.approximate OR (r.category = ANY(:coarsen) AND s.rep_point IS NOT NULL))
                   AS approximate,
               ST_Y(CASE WHEN r.category = ANY(:coarsen) AND s.rep_point IS NOT NULL
                         THEN s.rep_point ELSE r.geom END) AS lat,
               ST_X(CASE WHEN r.category = ANY(:coarsen) AND s.rep_point IS NOT NULL
                         THEN s.rep_point ELSE r.geom END) AS lon
        FROM risk_points r LEFT JOIN subdistricts s ON s.code = r.subdistrict_code
        WHERE {" AND ".join(where)}
        ORDER BY r.id
    """  # noqa: S608 - the WHERE parts are fixed strings; values are bound parameters
    return query, params


def load_map_data(
    conn: Any,
    filters: MapFilters,
    *,
    principal: Any,
    small_area_k: int = 5,
    severity_config: Path | str | None = None,
) -> MapData:
    """Read everything the operations map shows for ``filters`` and ``principal``.

    Parameters
    ----------
    conn
        A database connection.
    filters
        Province (required), district, categories, dates, lowest severity, metric, plan.
    principal
        The viewer (:class:`com.security.access.Principal`): sensitive categories are coarsened
        unless it may see them; anonymous viewers get small areas suppressed
        (:mod:`com.security.privacy`).
    small_area_k
        ``settings.small_area_k``.
    severity_config
        ``settings.severity_config``.

    Returns
    -------
    MapData
        The layers' data.
    """
    codes = filters.province_codes
    if not codes:
        raise ValidationError("choose a province (province=32 for Surin) or a region "
                              "(region=isoc-2)")
    # Issue 8: a province-restricted user sees only their province(s), whichever page asks.
    principal.require_provinces(codes)
    province = {"provinces": list(codes)}
    areas = _read_areas(conn, filters)
    districts = _read_geo(
        conn,
        "SELECT code, name_th, name_en, ST_AsBinary(geom) AS geometry FROM districts "
        "WHERE province_code = ANY(:provinces) ORDER BY code",
        province,
    )
    provinces = _read_geo(
        conn,
        "SELECT code, name_th, name_en, ST_AsBinary(geom) AS geometry FROM provinces "
        "WHERE code = ANY(:provinces) ORDER BY code",
        province,
    ) if filters.spans_region else None
    coarsen = [] if principal.sees_sensitive else sorted(sensitive_categories(severity_config))
    points = _read_points(conn, filters, coarsen)
    areas = attach_ranking(conn, areas, points, filters=filters, severity_config=severity_config)
    # The one small-area rule (all points, all time), so the map hides the areas the
    # rankings, OGC layers, exports and tiles hide, whatever the map's filters.
    layer_level = risk.AreaLevel.parse(filters.level)
    hidden = privacy.hidden_areas(
        conn, k=small_area_k, level=filters.level,
        totals=risk.layer_point_totals(conn, layer_level) if layer_level.is_layer else None)
    # Score classes from the areas every viewer may see, the same for every viewer.
    bins = score_bins(areas.loc[~areas["code"].isin(hidden), "score"]) \
        if "score" in areas else []
    if privacy.applies_to(principal):
        areas = privacy.suppress_areas(areas, hidden, code_column="code")
        # Points of small subdistricts are hidden at every level; at a layer's level those of
        # its small areas too (issue 16).
        shown = points["subdistrict_code"].notna() & ~points["subdistrict_code"].isin(
            privacy.hidden_areas(conn, k=small_area_k) if layer_level.is_layer else hidden)
        if layer_level.is_layer:
            shown &= ~_area_of_points(points, areas, layer_level).isin(hidden)
        points = points[shown].reset_index(drop=True)
    land_border, mekong, crossings = _read_context(conn, codes)
    cameras = _read_geo(
        conn,
        "SELECT name, radius_m, ST_AsBinary(geom) AS geometry FROM cameras "
        "WHERE province_code = ANY(:provinces) ORDER BY id",
        province,
    )
    return MapData(
        areas=areas,
        districts=districts,
        points=points,
        land_border=land_border,
        mekong=mekong,
        crossings=crossings,
        cameras=cameras,
        # CCTV plans are a province's: a region's view shows none.
        sites=None if filters.province_code is None else load_plan_sites(
            conn,
            province_code=filters.province_code,
            plan_id=filters.plan_id,
            principal=principal,
            severity_config=severity_config,
        ),
        provinces=provinces,
        synthetic=bool(len(points)) and bool(points["synthetic"].fillna(False).any()),
        district_code=filters.district_code,
        bins=bins,
    )


_LAYER_AREAS = """SELECT a.code, COALESCE(a.name_th, a.code) AS name_th, a.name_en,
       a.district_code, d.name_th AS district_name_th, d.name_en AS district_name_en,
       ST_AsBinary(a.geom) AS geometry
FROM area_features a LEFT JOIN districts d ON d.code = a.district_code
WHERE a.layer = :layer AND a.province_code = ANY(:provinces)
  AND (CAST(:district AS text) IS NULL OR a.district_code = CAST(:district AS text))
ORDER BY a.code"""


def _read_areas(conn: Any, filters: MapFilters) -> gpd.GeoDataFrame:
    """Return the areas of the filters' level and province (or district), district names too."""
    level = risk.AreaLevel.parse(filters.level)
    if level.is_layer:
        areas = _read_geo(conn, _LAYER_AREAS, {"layer": level.layer,
                                               "provinces": list(filters.province_codes or ()),
                                               "district": filters.district_code})
        if areas.empty:
            where = filters.province_code or filters.region
            raise ValidationError(
                f"ไม่มีพื้นที่ระดับ {level} ในจังหวัด/ภาค {where} / "
                f"no {level} areas in province/region {where}")
        areas["area_kind"] = level.kind
        return areas
    district_clause = " AND s.district_code = :district" if filters.district_code else ""
    areas = _read_geo(
        conn,
        f"""SELECT s.code, s.name_th, s.name_en, s.district_code,
                   d.name_th AS district_name_th, d.name_en AS district_name_en,
                   ST_AsBinary(s.geom) AS geometry
            FROM subdistricts s JOIN districts d ON d.code = s.district_code
            WHERE s.province_code = ANY(:provinces){district_clause}
            ORDER BY s.code""",  # noqa: S608 - fixed clause, bound values
        {"provinces": list(filters.province_codes or ()), "district": filters.district_code},
    )
    if areas.empty:
        where = filters.province_code or f"region {filters.region}"
        raise ValidationError(f"no subdistricts for province {where}")
    return areas


#: Columns of the points frame, so an empty selection still has them.
_POINT_COLUMNS = [
    "id",
    "name",
    "category",
    "severity",
    "incident_count",
    "reported_on",
    "synthetic",
    "subdistrict_code",
    "approximate",
    "lat",
    "lon",
]


def _read_points(conn: Any, filters: MapFilters, coarsen: Sequence[str]) -> pd.DataFrame:
    """Return the filtered risk points, the ``coarsen`` categories at their subdistrict."""
    query, params = _point_query(filters, coarsen)
    points = pd.DataFrame(conn.execute(sa.text(query), params).mappings().all())
    if points.empty:
        points = pd.DataFrame(columns=_POINT_COLUMNS)
    return points


def _read_context(
    conn: Any, province_codes: Sequence[str]
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Return the land border, the Mekong and the border crossings near the provinces."""
    province = {"provinces": list(province_codes)}
    envelope = ("(SELECT ST_SetSRID(ST_Expand(ST_Extent(geom)::geometry, 0.3), 4326) "
                "FROM provinces WHERE code = ANY(:provinces))")
    context = _read_geo(
        conn,
        f"""SELECT layer, name,
                   ST_AsBinary(ST_Intersection(geom, {envelope})) AS geometry
            FROM context_layers
            WHERE layer IN ('land_border', 'mekong') AND geom && {envelope}""",  # noqa: S608
        province,
    )
    context = context[~context.geometry.is_empty]
    crossings = _read_geo(
        conn,
        f"""SELECT name_en, name_th, kind, ST_AsBinary(geom) AS geometry FROM border_crossings
            WHERE geom && {envelope}""",  # noqa: S608
        province,
    )
    return (
        context[context["layer"] == "land_border"],
        context[context["layer"] == "mekong"],
        crossings,
    )


def load_plan_sites(
    conn: Any,
    *,
    province_code: str,
    plan_id: int | None = None,
    principal: Any = None,
    severity_config: Path | str | None = None,
) -> gpd.GeoDataFrame | None:
    """Return the proposed sites of a saved CCTV plan (the newest of the province by default).

    Reads the ``cctv_plans`` table of issue 5 when it exists; the plan's ``result`` is a
    GeoJSON FeatureCollection whose Point features are sites (``radius_m`` from the feature
    or the plan's parameters). Unless ``principal`` may see sensitive categories, sites that
    would give a sensitive point away are shown as the CCTV API shows them
    (:func:`com.siting.redaction.plan_for`: at their subdistrict's representative point, without a
    coverage circle); with no principal given the plan is redacted too.
    """
    exists = conn.execute(sa.text("SELECT to_regclass('cctv_plans')")).scalar()
    if exists is None:
        return None
    query = "SELECT id, params, result FROM cctv_plans WHERE province_code = :province"
    params: dict[str, Any] = {"province": province_code}
    if plan_id is not None:
        query += " AND id = :plan"
        params["plan"] = plan_id
    row = conn.execute(
        sa.text(query + " ORDER BY created_at DESC, id DESC LIMIT 1"), params
    ).first()
    if row is None:
        return None
    shown = plan_for(conn, row.result, principal, severity_config=severity_config)
    return plan_sites(shown, default_radius_m=(row.params or {}).get("radius_m"))


def plan_sites(
    result: Mapping[str, Any], *, default_radius_m: float | None = None
) -> gpd.GeoDataFrame:
    """Return the Point features of a plan's GeoJSON result as sites with ``radius_m``."""
    features = [
        f
        for f in (result or {}).get("features", [])
        if (f.get("geometry") or {}).get("type") == "Point"
        and (f.get("properties") or {}).get("kind", "site") in ("site", "proposed", "new")
    ]
    if not features:
        return gpd.GeoDataFrame({"name": [], "radius_m": []}, geometry=[], crs="EPSG:4326")
    frame = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
    if "radius_m" not in frame:
        frame["radius_m"] = default_radius_m
    frame["radius_m"] = (
        frame["radius_m"].fillna(default_radius_m) if default_radius_m else frame["radius_m"]
    )
    if "name" not in frame:
        frame["name"] = [str(i) for i in range(1, len(frame) + 1)]
    if "coarsened" in frame:
        # A coarsened site stands at its subdistrict's representative point: no circle there.
        coarse = frame["coarsened"].eq(True)
        frame["radius_m"] = pd.to_numeric(frame["radius_m"], errors="coerce").where(~coarse)
    return frame


def attach_ranking(
    conn: Any,
    areas: gpd.GeoDataFrame,
    points: pd.DataFrame,
    *,
    filters: MapFilters,
    severity_config: Path | str | None = None,
) -> gpd.GeoDataFrame:
    """Add ``score``, ``rank``, ``point_count``, Gi* and ``explanation`` to ``areas``.

    The figures come from :func:`com.analysis.risk.hotspots` (the ranking plus Getis-Ord Gi*, with a
    fixed seed so the same view draws the same hot spots); the explanation lists each
    category's and context factor's share of the score and the area's heaviest points among
    the ``points`` shown.
    """
    level = risk.AreaLevel.parse(filters.level)
    ranking = risk.hotspots(
        conn,
        level=level,
        province=filters.province_code,
        region=filters.region,
        district=filters.district_code,
        date_from=filters.date_from,
        date_to=filters.date_to,
        categories=list(filters.categories) or None,
        min_severity=filters.min_severity,
        model=severity_config,
        seed=0,
    )
    ranking = pd.DataFrame(ranking.drop(columns="geometry")).rename(
        columns={level.code_column: "code", "risk_score": "score", "points": "point_count"}
    )
    names = category_names(severity_config)
    context_names = _context_names(severity_config)
    by_area = dict(iter(points.groupby(_area_of_points(points, areas, level))))
    explanations = [
        _explanation(row, by_area.get(row["code"]), names, context_names)
        for row in ranking.to_dict("records")
    ]
    ranking["explanation"] = explanations
    keep = ["code", "score", "rank", "point_count", "hotspot_class", "gi_z", "explanation"]
    out = areas.merge(ranking[[c for c in keep if c in ranking]], on="code", how="left")
    out["point_count"] = out["point_count"].fillna(0).astype(int)
    return out


def _area_of_points(points: pd.DataFrame, areas: gpd.GeoDataFrame, level: Any) -> pd.Series:
    """Return the area code of each point: its subdistrict, or the layer area covering it."""
    if not level.is_layer or points.empty:
        return points["subdistrict_code"]
    located = gpd.sjoin(
        gpd.GeoDataFrame(geometry=gpd.points_from_xy(points["lon"], points["lat"]), crs=4326,
                         index=points.index),
        areas[["code", "geometry"]].set_crs(4326, allow_override=True), predicate="within",
    )
    return located.groupby(level=0)["code"].min().reindex(points.index)


def _explanation(
    row: Mapping[str, Any],
    mine: pd.DataFrame | None,
    names: Mapping[str, Mapping[str, str]],
    context_names: Mapping[str, str],
) -> dict[str, list[dict[str, Any]]]:
    """Return one area's explanation: category and context shares, its heaviest points."""
    counts = mine["category"].value_counts().to_dict() if mine is not None else {}
    cats = [
        {
            "category": key[4:],
            "label": names.get(key[4:], {}).get("th", key[4:]),
            "points": int(counts.get(key[4:], 0)),
            "contribution": float(value),
        }
        for key, value in row.items()
        if key.startswith("cat_") and value and value > 0
    ]
    context = [
        {
            "factor": key[4:],
            "label": context_names.get(key[4:], key[4:]),
            "contribution": float(value),
        }
        for key, value in row.items()
        if key.startswith("ctx_") and value and value > 0
    ]
    top = []
    if mine is not None:
        for p in (
            mine.sort_values(["severity", "reported_on"], ascending=False).head(3).itertuples()
        ):
            top.append(
                {
                    # None for a coarsened (sensitive) point: its name is withheld too.
                    "name": p.name if isinstance(p.name, str) else None,
                    "label": names.get(p.category, {}).get("th", p.category),
                    "severity": int(p.severity),
                    "reported_on": p.reported_on,
                }
            )
    return {
        "categories": sorted(cats, key=lambda c: -c["contribution"]),
        "context": sorted(context, key=lambda c: -c["contribution"]),
        "top_points": top,
    }


def _context_names(severity_config: Path | str | None) -> dict[str, str]:
    """Return the Thai names of the severity model's context factors."""
    model = load_severity_model(severity_config)
    return {key: factor.th for key, factor in model.context.items()}
