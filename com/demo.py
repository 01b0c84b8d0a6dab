"""The synthetic Surin demo: 280 risk points and a few CCTV cameras, all marked synthetic.

The points are *invented*: they imitate how a provincial risk-point list is spread (denser along
the Cambodian border, around the Chong Chom crossing and in district towns) so that maps,
rankings, hotspots and KPIs have something to show. Every record carries ``synthetic = true``,
``{"synthetic": true}`` in its attributes and a name starting with :data:`SYNTHETIC_PREFIX`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyproj
import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from shapely.ops import transform
from sqlalchemy.engine import Connection, Engine

from com.config.settings import Settings
from com.config.severity import load_severity_model
from com.db.engine import transaction
from com.db.tables import Camera, RiskPoint
from com.demo_kpi import declare_demo_targets
from com.demo_report import DemoReport
from com.demo_villages import declare_demo_villages
from com.errors import ConfigError, GeodataError
from com.geo.h3 import stored_cells
from com.geodata import assign_subdistricts, load_geodata, where
from com.security.users import demo_accounts
from com.text.thai import fiscal_year_be, fiscal_year_bounds

log = logging.getLogger(__name__)

SYNTHETIC_PREFIX = "[ข้อมูลสมมติ]"
DEMO_PROVINCE = "32"  # Surin
DEMO_POINTS = 280
DEFAULT_SEED = 2568
FISCAL_YEARS_BE = (2566, 2567, 2568)
# Later years a little busier, so year-over-year KPIs show a (modest) change.
FISCAL_YEAR_WEIGHTS = (0.30, 0.33, 0.37)
# Surin lies east of 102 E: UTM zone 48 north gives metres for the offsets below.
UTM_CRS = "EPSG:32648"
# Points are drawn at least this far inside the province outline, so that the simplified
# subdistrict boundaries (about 200 m uncertain) still put every one of them in Surin.
INSET_M = 150.0

# Where the points of a provincial list cluster, and how many of the 280 each place gets.
# "towns" are the seat subdistricts (code ending in 01) of the 17 districts; Mueang Surin
# has its own, larger share. "flood" approximates the Mun river lowlands as the northern
# edge of the districts it runs along (COM has no river layer for Surin).
COMPONENT_COUNTS = {
    "border": 70,
    "crossing": 35,
    "mueang": 40,
    "towns": 64,
    "flood": 26,
    "rural": 45,
}
# Standard deviation (metres) of the offsets around each kind of place.
SPREAD_M = {
    "border": 4000.0,
    "crossing": 2500.0,
    "mueang": 2000.0,
    "towns": 1500.0,
    "flood": 2000.0,
}
FLOOD_DISTRICTS = ("3202", "3203", "3207")  # Chumphon Buri, Tha Tum, Rattanaburi (on the Mun)
MUEANG_DISTRICT = "3201"

CATEGORY_MIX: dict[str, dict[str, float]] = {
    "border": {
        "illegal_entry": 0.30,
        "smuggling": 0.25,
        "drugs": 0.20,
        "forest_encroachment": 0.20,
        "other_crime": 0.05,
    },
    "crossing": {
        "smuggling": 0.35,
        "illegal_entry": 0.30,
        "drugs": 0.25,
        "life_property": 0.05,
        "other_crime": 0.05,
    },
    "mueang": {
        "life_property": 0.35,
        "other_crime": 0.30,
        "drugs": 0.25,
        "smuggling": 0.05,
        "illegal_entry": 0.05,
    },
    "towns": {
        "life_property": 0.35,
        "other_crime": 0.30,
        "drugs": 0.25,
        "smuggling": 0.05,
        "illegal_entry": 0.05,
    },
    "flood": {"flood": 1.0},
    "rural": {
        "drugs": 0.25,
        "forest_encroachment": 0.25,
        "life_property": 0.20,
        "other_crime": 0.20,
        "smuggling": 0.10,
    },
}
SEVERITY_PROBS: dict[str, tuple[float, ...]] = {
    "drugs": (0.05, 0.15, 0.30, 0.30, 0.20),
    "illegal_entry": (0.05, 0.20, 0.35, 0.25, 0.15),
    "smuggling": (0.05, 0.20, 0.35, 0.25, 0.15),
    "flood": (0.10, 0.20, 0.30, 0.25, 0.15),
}
DEFAULT_SEVERITY_PROBS = (0.10, 0.25, 0.35, 0.20, 0.10)

PLACE_WORDS = {
    "drugs": ("จุดมั่วสุมยาเสพติด", "จุดส่งยาเสพติด", "จุดพักยาเสพติด"),
    "illegal_entry": ("ช่องทางลักลอบเข้าเมือง", "จุดหลบหนีเข้าเมือง"),
    "life_property": ("จุดเสี่ยงลักทรัพย์", "จุดเปลี่ยวไม่มีไฟส่องสว่าง", "จุดเสี่ยงวิ่งราวทรัพย์"),
    "smuggling": ("ช่องทางลักลอบขนสินค้า", "จุดขนถ่ายสินค้าหนีภาษี"),
    "other_crime": ("จุดเสี่ยงอาชญากรรม", "จุดทะเลาะวิวาท", "จุดลักลอบเล่นการพนัน"),
    "forest_encroachment": ("พื้นที่บุกรุกป่า", "จุดลักลอบตัดไม้"),
    "flood": ("พื้นที่น้ำท่วมซ้ำซาก", "จุดน้ำท่วมขังถนน"),
}
# Village names are composed from common Isan name parts: "บ้าน" + first + second.
VILLAGE_FIRST = ("โนน", "หนอง", "โคก", "ดอน", "นา", "ห้วย", "ทุ่ง", "สวาย", "ตา")
VILLAGE_SECOND = ("สูง", "บัว", "กลาง", "ใหญ่", "แดง", "งาม", "ทอง", "เจริญ", "สะอาด", "ยาง")

# Existing CCTV cameras (district, anchor, how many, spread in metres).
CAMERA_PLAN = (
    ("3201", "mueang", 6, 900.0),
    ("3206", "town", 2, 700.0),
    ("3206", "crossing", 2, 600.0),
)
CAMERA_RADIUS_M = 100.0

#: Told each step of a long demo load ("storing 280 points ..."), e.g. to show progress.
StepCallback = Callable[[str], None]
AfterLoadHook = Callable[[Connection, Settings], dict[str, Any] | None]
#: Functions run inside the demo transaction after the synthetic data is stored, in order.
#: Later features (demo user accounts, say) append ``hook(conn, settings) -> dict | None``;
#: a returned dictionary is shown in the demo report under the hook's ``__name__``.
# The demo viewer and demo staff (Surin) accounts, with their new passwords in the report.
after_load_hooks: list[AfterLoadHook] = [demo_accounts]


@dataclass
class DemoArea:
    """The places the synthetic points are drawn around, in EPSG:4326."""

    province: BaseGeometry
    border: BaseGeometry | None
    crossings: list[BaseGeometry]
    towns: dict[str, BaseGeometry]
    districts: dict[str, BaseGeometry]


@dataclass
class SyntheticPoint:
    """One generated risk point, before it is stored."""

    lon: float
    lat: float
    category: str
    severity: int
    incident_count: int
    reported_on: dt.date
    name: str
    component: str


def category_labels(settings: Settings | None = None) -> dict[str, str]:
    """Return the Thai label of every category of the severity model.

    The severity model of :func:`com.config.severity.load_severity_model`: the packaged
    ``com/config/severity.toml`` merged with ``settings.severity_config``.
    """
    model = load_severity_model(settings.severity_config if settings else None)
    return {key: cat.th for key, cat in model.categories.items()}


def read_demo_area(conn: Connection, *, province_code: str = DEMO_PROVINCE) -> DemoArea:
    """Read the province outline, its Cambodian border, crossings and district towns.

    Raises
    ------
    GeodataError
        When the province is not loaded (run ``com geodata load`` first).
    """
    row = conn.execute(
        sa.text("SELECT ST_AsBinary(geom) FROM provinces WHERE code = :p"), {"p": province_code}
    ).first()
    if row is None:
        raise GeodataError(
            f"province {province_code} is not loaded: run `com geodata load DIR` first"
        )
    province = shapely.from_wkb(bytes(row[0]))
    border_row = conn.execute(
        sa.text(
            "SELECT ST_AsBinary(ST_Intersection("
            "  c.geom, ST_Buffer(p.geom::geography, 1000)::geometry)) "
            "FROM context_layers c, provinces p "
            "WHERE c.layer = 'land_border' AND c.feature_key = 'Cambodia' AND p.code = :p "
            "AND ST_DWithin(c.geom::geography, p.geom::geography, 1000)"
        ),
        {"p": province_code},
    ).first()
    border = shapely.from_wkb(bytes(border_row[0])) if border_row else None
    if border is not None and border.is_empty:
        border = None
    crossings = [
        shapely.from_wkb(bytes(g))
        for (g,) in conn.execute(
            sa.text(
                "SELECT ST_AsBinary(b.geom) FROM border_crossings b, provinces p "
                "WHERE p.code = :p AND ST_DWithin(b.geom::geography, p.geom::geography, 1000) "
                "ORDER BY b.name_en"
            ),
            {"p": province_code},
        )
    ]
    towns = {
        code: shapely.from_wkb(bytes(g))
        for code, g in conn.execute(
            sa.text(
                "SELECT district_code, ST_AsBinary(rep_point) FROM subdistricts "
                "WHERE province_code = :p AND right(code, 2) = '01' ORDER BY code"
            ),
            {"p": province_code},
        )
    }
    districts = {
        code: shapely.from_wkb(bytes(g))
        for code, g in conn.execute(
            sa.text(
                "SELECT code, ST_AsBinary(geom) FROM districts WHERE province_code = :p "
                "ORDER BY code"
            ),
            {"p": province_code},
        )
    }
    return DemoArea(
        province=province, border=border, crossings=crossings, towns=towns, districts=districts
    )


class _Sampler:
    """Draw points in metres (UTM 48N) that fall inside an inset of the province."""

    def __init__(self, area: DemoArea, rng: np.random.Generator) -> None:
        self.rng = rng
        to_utm = pyproj.Transformer.from_crs(4326, UTM_CRS, always_xy=True).transform
        self.to_wgs = pyproj.Transformer.from_crs(UTM_CRS, 4326, always_xy=True).transform
        self.to_utm = to_utm
        self.province_m = transform(to_utm, area.province)
        inner_m = self.province_m.buffer(-INSET_M)
        self.inner = transform(self.to_wgs, inner_m)
        shapely.prepare(self.inner)

    def keep(
        self, xs: np.ndarray, ys: np.ndarray, within: BaseGeometry | None = None
    ) -> np.ndarray:
        lon, lat = self.to_wgs(xs, ys)
        lon, lat = np.asarray(lon), np.asarray(lat)
        ok = shapely.contains_xy(self.inner, lon, lat)
        if within is not None:
            ok &= shapely.contains_xy(within, lon, lat)
        return np.column_stack([lon[ok], lat[ok]])

    def _fill(
        self,
        n: int,
        draw: Callable[[int], tuple[np.ndarray, np.ndarray]],
        what: str,
        within: BaseGeometry | None = None,
    ) -> np.ndarray:
        found = np.empty((0, 2))
        for _ in range(200):
            if len(found) >= n:
                return found[:n]
            xs, ys = draw(max(4 * (n - len(found)), 64))
            found = np.vstack([found, self.keep(xs, ys, within)])
        raise GeodataError(f"demo: could not place {n} {what} points inside the province")

    def near_points(
        self,
        centres_m: list[tuple[float, float]],
        n: int,
        sigma_m: float,
        what: str,
        within: BaseGeometry | None = None,
    ) -> np.ndarray:
        centres = np.asarray(centres_m, dtype=float)

        def draw(k: int) -> tuple[np.ndarray, np.ndarray]:
            pick = centres[self.rng.integers(0, len(centres), k)]
            offset = self.rng.normal(0.0, sigma_m, (k, 2))
            return pick[:, 0] + offset[:, 0], pick[:, 1] + offset[:, 1]

        return self._fill(n, draw, what, within)

    def near_line(self, line_m: BaseGeometry, n: int, sigma_m: float, what: str) -> np.ndarray:
        length = line_m.length

        def draw(k: int) -> tuple[np.ndarray, np.ndarray]:
            along = self.rng.uniform(0.0, length, k)
            base = shapely.line_interpolate_point(line_m, along)
            offset = self.rng.normal(0.0, sigma_m, (k, 2))
            return shapely.get_x(base) + offset[:, 0], shapely.get_y(base) + offset[:, 1]

        return self._fill(n, draw, what)

    def uniform(self, n: int, what: str) -> np.ndarray:
        minx, miny, maxx, maxy = self.province_m.bounds

        def draw(k: int) -> tuple[np.ndarray, np.ndarray]:
            return self.rng.uniform(minx, maxx, k), self.rng.uniform(miny, maxy, k)

        return self._fill(n, draw, what)

    def xy_m(self, geom: BaseGeometry) -> tuple[float, float]:
        x, y = self.to_utm(geom.x, geom.y)
        return float(x), float(y)


def _lines(geom: BaseGeometry) -> BaseGeometry:
    """Keep the linear parts of a geometry as one (multi)line."""
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type.endswith("LineString")]
    return shapely.line_merge(shapely.union_all(parts)) if parts else shapely.LineString()


def _flood_edge(area: DemoArea, sampler: _Sampler) -> BaseGeometry:
    """Return the province edge along the flood-prone northern districts, in metres."""
    districts = [area.districts[c] for c in FLOOD_DISTRICTS if c in area.districts]
    if not districts:
        return shapely.LineString()
    lowland = transform(sampler.to_utm, shapely.union_all(districts)).buffer(50)
    return _lines(sampler.province_m.boundary.intersection(lowland))


def _dates(rng: np.random.Generator, n: int, *, rainy_season: bool) -> list[dt.date]:
    years = rng.choice(FISCAL_YEARS_BE, size=n, p=FISCAL_YEAR_WEIGHTS)
    out = []
    for fy in years:
        start, end = fiscal_year_bounds(int(fy))
        if rainy_season:
            # Floods: August to November, split across the turn of the fiscal year.
            first = dt.date(end.year, 8, 1) if rng.random() < 0.6 else dt.date(start.year, 10, 1)
            out.append(first + dt.timedelta(days=int(rng.integers(0, 61))))
        else:
            out.append(start + dt.timedelta(days=int(rng.integers(0, (end - start).days + 1))))
    return out


def generate_points(
    area: DemoArea, *, seed: int = DEFAULT_SEED, categories: dict[str, str] | None = None
) -> list[SyntheticPoint]:
    """Generate the 280 synthetic risk points, the same ones for the same seed and area.

    Parameters
    ----------
    area
        The province and its border, crossings and towns (:func:`read_demo_area`).
    seed
        Seed of the random generator.
    categories
        Thai labels by category key (default: the packaged severity model).

    Returns
    -------
    list of SyntheticPoint
        Exactly :data:`DEMO_POINTS` points, all at least :data:`INSET_M` metres inside the
        province outline.

    Raises
    ------
    ConfigError
        When the severity model lacks a category the demo uses.
    GeodataError
        When the area is too small to place the points.
    """
    labels = categories if categories is not None else category_labels()
    missing = {c for mix in CATEGORY_MIX.values() for c in mix} - set(labels)
    if missing:
        raise ConfigError(f"the severity model has no categories {sorted(missing)} for the demo")
    rng = np.random.default_rng(seed)
    sampler = _Sampler(area, rng)
    placed = _place_components(area, sampler)
    points: list[SyntheticPoint] = []
    for component, coords in placed.items():
        points.extend(_component_points(rng, component, coords))
    return points


def _place_components(area: DemoArea, sampler: _Sampler) -> dict[str, np.ndarray]:
    """Draw the lon/lat of each component's points around its layer (border, crossings, ...)."""
    town_m = {code: sampler.xy_m(p) for code, p in area.towns.items()}
    others = [xy for code, xy in town_m.items() if code != MUEANG_DISTRICT] or list(town_m.values())
    mueang = [town_m[MUEANG_DISTRICT]] if MUEANG_DISTRICT in town_m else others
    crossings = [sampler.xy_m(p) for p in area.crossings]
    border_m = _lines(transform(sampler.to_utm, area.border)) if area.border is not None else None
    flood_m = _flood_edge(area, sampler)

    placed: dict[str, np.ndarray] = {}
    for component, n in COMPONENT_COUNTS.items():
        if component == "border" and border_m is not None and not border_m.is_empty:
            placed[component] = sampler.near_line(border_m, n, SPREAD_M["border"], component)
        elif component == "crossing" and crossings:
            placed[component] = sampler.near_points(crossings, n, SPREAD_M["crossing"], component)
        elif component == "mueang" and mueang:
            placed[component] = sampler.near_points(mueang, n, SPREAD_M["mueang"], component)
        elif component == "towns" and others:
            placed[component] = sampler.near_points(others, n, SPREAD_M["towns"], component)
        elif component == "flood" and not flood_m.is_empty:
            placed[component] = sampler.near_line(flood_m, n, SPREAD_M["flood"], component)
        else:  # rural background, and the fallback when a layer is missing
            if component != "rural":
                log.warning("demo: no %s layer loaded; spreading its points evenly", component)
            placed[component] = sampler.uniform(n, component)
    return placed


def _component_points(
    rng: np.random.Generator, component: str, coords: np.ndarray
) -> list[SyntheticPoint]:
    """Give one component's points a category, severity, count, date and a Thai name."""
    mix = CATEGORY_MIX[component]
    cats = rng.choice(list(mix), size=len(coords), p=list(mix.values()))
    dates = _dates(rng, len(coords), rainy_season=component == "flood")
    points: list[SyntheticPoint] = []
    for (lon, lat), category, day in zip(coords, cats, dates, strict=True):
        category = str(category)
        probs = SEVERITY_PROBS.get(category, DEFAULT_SEVERITY_PROBS)
        severity = int(rng.choice(5, p=probs)) + 1
        what = PLACE_WORDS[category][int(rng.integers(len(PLACE_WORDS[category])))]
        village = (
            "บ้าน"
            + VILLAGE_FIRST[int(rng.integers(len(VILLAGE_FIRST)))]
            + VILLAGE_SECOND[int(rng.integers(len(VILLAGE_SECOND)))]
        )
        points.append(
            SyntheticPoint(
                lon=round(float(lon), 6),
                lat=round(float(lat), 6),
                category=category,
                severity=severity,
                incident_count=1 + int(rng.poisson(0.4)),
                reported_on=day,
                name=f"{SYNTHETIC_PREFIX} {what} {village}",
                component=component,
            )
        )
    return points


def generate_cameras(area: DemoArea, *, seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """Generate a handful of existing CCTV cameras in Mueang Surin and Kap Choeng."""
    rng = np.random.default_rng(seed + 1)
    sampler = _Sampler(area, rng)
    cameras: list[dict[str, Any]] = []
    for district, anchor, n, sigma_m in CAMERA_PLAN:
        polygon = area.districts.get(district)
        if polygon is None:
            continue
        if anchor == "crossing" and area.crossings:
            centres = [sampler.xy_m(p) for p in area.crossings]
        else:
            town = area.towns.get(district)
            centres = [sampler.xy_m(town if town is not None else polygon.representative_point())]
        coords = sampler.near_points(centres, n, sigma_m, f"camera {district}", within=polygon)
        for lon, lat in coords:
            cameras.append(
                {
                    "name": f"{SYNTHETIC_PREFIX} กล้อง CCTV {district}-{len(cameras) + 1:02d}",
                    "lon": round(float(lon), 6),
                    "lat": round(float(lat), 6),
                    "district_code": district,
                }
            )
    return cameras


def _ewkt(lon: float, lat: float) -> str:
    return f"SRID=4326;POINT({lon!r} {lat!r})"


def replace_synthetic_data(
    conn: Connection,
    points: list[SyntheticPoint],
    cameras: list[dict[str, Any]],
    *,
    categories: dict[str, str],
    province_code: str = DEMO_PROVINCE,
) -> tuple[int, int]:
    """Delete the previous synthetic points and cameras and store these ones.

    Runs in the caller's transaction: a failure leaves the previous demo data in place.
    Subdistrict, district and province codes are assigned in SQL with the reverse-geocoding
    rule of :func:`com.geodata.assign_subdistricts`.

    Returns
    -------
    tuple of int
        Points deleted, cameras deleted.

    Raises
    ------
    GeodataError
        When a stored point does not fall in the demo province.
    """
    risk = cast(sa.Table, RiskPoint.__table__)
    camera = cast(sa.Table, Camera.__table__)
    deleted = conn.execute(sa.delete(risk).where(risk.c.synthetic.is_(True))).rowcount
    deleted_cameras = conn.execute(
        sa.delete(camera).where(camera.c.attributes["synthetic"].as_boolean().is_(True))
    ).rowcount
    _insert_points(conn, risk, points, categories)
    _locate_points(conn, province_code)
    _insert_cameras(conn, camera, cameras)
    return deleted, deleted_cameras


def _insert_points(
    conn: Connection, risk: sa.Table, points: list[SyntheticPoint], categories: dict[str, str]
) -> None:
    """Store the synthetic points, marked synthetic in their column and their attributes."""
    cells = stored_cells(np.array([p.lat for p in points], dtype=float),
                         np.array([p.lon for p in points], dtype=float))
    rows = [
        {
            "name": p.name,
            "category": p.category,
            "category_raw": categories[p.category],
            "severity": p.severity,
            "incident_count": p.incident_count,
            "reported_on": p.reported_on,
            "geom": _ewkt(p.lon, p.lat),
            "geocode_quality": "coordinates",
            "synthetic": True,
            "attributes": {"synthetic": True, "demo_cluster": p.component},
            **{column: int(values[i]) for column, values in cells.items()},
        }
        for i, p in enumerate(points)
    ]
    if rows:
        conn.execute(sa.insert(risk), rows)


def _locate_points(conn: Connection, province_code: str) -> None:
    """Give the synthetic points their codes and a ต./อ./จ. address; refuse any outside."""
    assign_subdistricts(conn)
    conn.execute(
        sa.text(
            "UPDATE risk_points r SET address = 'ต.' || s.name_th || ' อ.' || d.name_th "
            "|| ' จ.' || p.name_th "
            "FROM subdistricts s JOIN districts d ON d.code = s.district_code "
            "JOIN provinces p ON p.code = s.province_code "
            "WHERE r.synthetic AND r.address IS NULL AND s.code = r.subdistrict_code"
        )
    )
    stray = conn.execute(
        sa.text(
            "SELECT count(*) FROM risk_points WHERE synthetic AND province_code IS DISTINCT FROM :p"
        ),
        {"p": province_code},
    ).scalar_one()
    if stray:
        raise GeodataError(f"demo: {stray} synthetic points fell outside province {province_code}")


def _insert_cameras(conn: Connection, camera: sa.Table, cameras: list[dict[str, Any]]) -> None:
    """Store the synthetic cameras with the subdistrict and province each falls in."""
    camera_rows = []
    for c in cameras:
        hit = where(conn, lat=c["lat"], lon=c["lon"])
        camera_rows.append(
            {
                "name": c["name"],
                "radius_m": CAMERA_RADIUS_M,
                "geom": _ewkt(c["lon"], c["lat"]),
                "subdistrict_code": hit.get("subdistrict_code"),
                "province_code": hit.get("province_code"),
                "attributes": {"synthetic": True, "district_code": c["district_code"]},
            }
        )
    if camera_rows:
        conn.execute(sa.insert(camera), camera_rows)


def demo_counts(conn: Connection) -> dict[str, int]:
    """Return how many stored risk points and cameras are synthetic and how many real."""
    row = (
        conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM risk_points) AS risk_points, "
                "(SELECT count(*) FROM risk_points WHERE synthetic) AS synthetic_risk_points, "
                "(SELECT count(*) FROM cameras) AS cameras, "
                "(SELECT count(*) FROM cameras WHERE (attributes->>'synthetic')::boolean) "
                "AS synthetic_cameras"
            )
        )
        .mappings()
        .one()
    )
    return dict(row)


def load_demo_data(
    engine: Engine,
    settings: Settings,
    *,
    seed: int = DEFAULT_SEED,
    province_code: str = DEMO_PROVINCE,
    on_step: StepCallback | None = None,
    with_kpi_data: bool = False,
) -> DemoReport:
    """Replace the synthetic Surin data set in one transaction (boundaries must be loaded).

    With ``with_kpi_data`` (as ``com demo`` does), also declares target lists and a few
    synthetic projects (:func:`com.demo_kpi.declare_demo_targets`) so that ``com kpi`` works.

    Parameters
    ----------
    engine
        Engine of a migrated database with the boundaries loaded.
    settings
        Settings (the severity model override, passed on to :data:`after_load_hooks`).
    seed
        Seed of the generator; the same seed gives the same points.
    province_code
        The demo province (Surin, "32").
    on_step
        Called with a short description as each step starts.
    with_kpi_data
        Also declare the demo target lists and projects.

    Returns
    -------
    DemoReport
        Counts of what was stored.

    Raises
    ------
    GeodataError
        When the province is not loaded.
    """
    step = on_step or (lambda _: None)
    labels = category_labels(settings)
    with transaction(engine) as conn:
        step("สร้างข้อมูลสมมติ / generating synthetic points")
        area = read_demo_area(conn, province_code=province_code)
        points = generate_points(area, seed=seed, categories=labels)
        cameras = generate_cameras(area, seed=seed)
        step(f"บันทึก {len(points)} จุด / storing {len(points)} points and cameras")
        replaced, _ = replace_synthetic_data(
            conn, points, cameras, categories=labels, province_code=province_code
        )
        kpi: dict[str, Any] = {}
        if with_kpi_data:
            step("บัญชีเป้าหมายและโครงการ / target lists and projects")
            model = load_severity_model(settings.severity_config)
            kpi = declare_demo_targets(conn, province_code=province_code, model=model,
                                       prefix=SYNTHETIC_PREFIX)
            # Issue 16: synthetic villages in Surin, the FY 2568 village list and its plans.
            kpi["villages"] = declare_demo_villages(conn, model=model)
        step("บัญชีผู้ใช้ตัวอย่าง / demo accounts")
        hooks: dict[str, Any] = {}
        for hook in after_load_hooks:
            result = hook(conn, settings)
            if result is not None:
                hooks[getattr(hook, "__name__", repr(hook))] = result
        stored = conn.execute(
            sa.text(
                "SELECT r.category, r.reported_on, d.name_th "
                "FROM risk_points r LEFT JOIN districts d ON d.code = r.district_code "
                "WHERE r.synthetic"
            )
        ).all()
        n_cameras = demo_counts(conn)["synthetic_cameras"]
    by_fy = Counter(fiscal_year_be(r.reported_on) for r in stored)
    return DemoReport(
        province_code=province_code,
        risk_points=len(stored),
        replaced=replaced,
        cameras=n_cameras,
        by_category=dict(Counter(r.category for r in stored).most_common()),
        by_fiscal_year=dict(sorted(by_fy.items())),
        by_district=dict(Counter(r.name_th for r in stored).most_common()),
        hooks=hooks,
        kpi=kpi,
    )


def run_demo(
    engine: Engine,
    settings: Settings,
    *,
    geodata_dir: Path | str | None = None,
    seed: int = DEFAULT_SEED,
    on_step: StepCallback | None = None,
) -> DemoReport:
    """Load the boundaries (idempotent), then replace the synthetic Surin data set.

    The target lists and projects of the KPI are declared too (``with_kpi_data``).

    Parameters
    ----------
    engine
        Engine of a database migrated with ``com db upgrade``.
    settings
        Settings; ``settings.geodata_dir`` is used when ``geodata_dir`` is not given.
    geodata_dir
        Boundary directory to load first.
    seed
        Seed of the generator.
    on_step
        Called with a short description as each step starts.

    Returns
    -------
    DemoReport
        What was loaded, including the boundary counts.
    """
    if on_step is not None:
        on_step("โหลดขอบเขตการปกครอง / loading boundaries")
    boundaries = load_geodata(engine, geodata_dir or settings.geodata_dir)
    report = load_demo_data(engine, settings, seed=seed, on_step=on_step, with_kpi_data=True)
    # Only the boundary tables: the points and cameras are counted above, after the demo
    # load (the geodata counts were taken before it, hence a confusing "risk_points: 0").
    report.boundaries = {k: v for k, v in boundaries.counts.items()
                         if k not in ("risk_points", "cameras")}
    return report
