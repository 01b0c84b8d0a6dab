"""The brief's static pictures (matplotlib/geopandas, Agg): maps, insets, the threat chart."""

from __future__ import annotations

import io
import math
from typing import Any

from com.brief.fonts import matplotlib_family
from com.brief.model import ProvinceBrief, ThreatSeries

DPI = 200
TARGET_COLOUR, HOT_COLOUR, POINT_COLOUR = "#e67e22", "#c0392b", "#2c3e50"


def _figure(size: tuple[float, float]) -> Any:
    # Deferred: matplotlib is heavy and only the brief's pictures need it here.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", dpi=DPI)
    return buffer.getvalue()


def utm_epsg(lon: float) -> int:
    """Return the UTM zone (WGS 84, north) for metres: 47 west of 102 E, 48 east of it."""
    return 32647 if lon < 102.0 else 32648


def _nice_length(width_m: float) -> float:
    """Return a round scale-bar length near a fifth of the map's width."""
    raw = width_m / 5
    power = 10 ** math.floor(math.log10(raw))
    return max(m * power for m in (1, 2, 5) if m * power <= raw)


def _scale_bar_and_north(ax: Any, family: str) -> None:
    # Hand-drawn: the map is in UTM metres, so a bar of L metres is L units long; a scale-bar
    # package would be one more dependency for two lines and a label.
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(x1 - x0)
    bx, by = x0 + (x1 - x0) * 0.05, y0 + (y1 - y0) * 0.05
    ax.plot([bx, bx + length], [by, by], color="black", lw=3, solid_capstyle="butt")
    label = f"{length / 1000:g} กม. (km)" if length >= 1000 else f"{length:g} ม. (m)"
    ax.text(bx + length / 2, by + (y1 - y0) * 0.015, label, ha="center", va="bottom",
            fontsize=7, fontfamily=family)
    nx, ny = x1 - (x1 - x0) * 0.06, y1 - (y1 - y0) * 0.14
    ax.annotate("N\nเหนือ", xy=(nx, ny + (y1 - y0) * 0.09), xytext=(nx, ny),
                ha="center", va="top", fontsize=7, fontfamily=family,
                arrowprops={"facecolor": "black", "width": 3, "headwidth": 9})


def _layers(ax: Any, part: ProvinceBrief, epsg: int, *, labels: bool, family: str) -> None:
    areas = part.areas.to_crs(epsg)
    areas.plot(ax=ax, facecolor="#f4f4f4", edgecolor="#bbbbbb", linewidth=0.2)
    part.districts.to_crs(epsg).boundary.plot(ax=ax, color="#777777", linewidth=0.5)
    hot = areas[areas["hotspot_class"].astype(str).str.startswith("hot")]
    if len(hot):
        hot.plot(ax=ax, facecolor=HOT_COLOUR, alpha=0.35, edgecolor=HOT_COLOUR, linewidth=0.4)
    targets = areas[areas["is_target"]]
    if len(targets):
        targets.plot(ax=ax, facecolor="none", edgecolor=TARGET_COLOUR, linewidth=1.4,
                     hatch="///")
    points = part.points.dropna(subset=["lon", "lat"]) if len(part.points) else part.points
    if len(points):
        import geopandas as gpd  # deferred with the rest of the drawing

        shown = gpd.GeoDataFrame(points, geometry=gpd.points_from_xy(points["lon"], points["lat"]),
                                 crs="EPSG:4326").to_crs(epsg)
        shown.plot(ax=ax, markersize=1.5, color=POINT_COLOUR, alpha=0.6)
    if labels:
        for row in targets.itertuples():
            p = row.geometry.representative_point()
            ax.text(p.x, p.y, str(row.name_th), fontsize=6, ha="center", fontfamily=family,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                          "alpha": 0.75})


def _legend(ax: Any, family: str) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor="none", edgecolor=TARGET_COLOUR, hatch="///",
              label="พื้นที่เป้าหมาย (target area)"),
        Patch(facecolor=HOT_COLOUR, alpha=0.35, label="จุดร้อน Gi* (hot spot)"),
        Line2D([], [], marker="o", ls="", color=POINT_COLOUR, ms=3,
               label="จุดเสี่ยง (risk point)"),
        Line2D([], [], color="#777777", lw=0.8, label="เขตอำเภอ (district)"),
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2,
              prop={"family": family, "size": 7}, framealpha=0.9)


def province_map_png(part: ProvinceBrief) -> bytes:
    """Return the province map: target areas, hot spots, points, scale bar, north, legend."""
    family = matplotlib_family()
    centre = part.areas.geometry.union_all().centroid
    epsg = utm_epsg(centre.x)
    fig = _figure((7.2, 7.6))
    ax = fig.add_subplot()
    _layers(ax, part, epsg, labels=True, family=family)
    ax.set_axis_off()
    ax.set_aspect("equal")
    _scale_bar_and_north(ax, family)
    _legend(ax, family)
    ax.set_title(f"จังหวัด{part.name_th} ({part.name_en}): พื้นที่เป้าหมายและจุดร้อน",
                 fontfamily=family, fontsize=11)
    return _png(fig)


def insets_png(part: ProvinceBrief, codes: list[str]) -> bytes | None:
    """Return one zoomed inset per top target area (``codes``), in a grid of two columns."""
    if not codes:
        return None
    family = matplotlib_family()
    epsg = utm_epsg(part.areas.geometry.union_all().centroid.x)
    projected = part.areas.to_crs(epsg).set_index("code")
    cols, rows = 2, math.ceil(len(codes) / 2)
    fig = _figure((7.2, 3.5 * rows))
    for i, code in enumerate(codes):
        ax = fig.add_subplot(rows, cols, i + 1)
        _layers(ax, part, epsg, labels=False, family=family)
        minx, miny, maxx, maxy = projected.loc[code].geometry.bounds
        pad = max(maxx - minx, maxy - miny) * 0.35
        ax.set_xlim(minx - pad, maxx + pad)
        ax.set_ylim(miny - pad, maxy + pad)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")  # geopandas labels projected axes "Easting [metre]"
        ax.set_ylabel("")
        _scale_bar_and_north(ax, family)
        ax.set_title(f"ตำบล{projected.loc[code, 'name_th']} ({code})", fontfamily=family,
                     fontsize=9)
    return _png(fig)


def threat_chart_png(series: ThreatSeries) -> bytes:
    """Return the chart of threats over the fiscal years against the -10%/yr path."""
    family = matplotlib_family()
    fig = _figure((6.4, 3.0))
    ax = fig.add_subplot()
    ax.plot(series.fiscal_years, series.incidents, marker="o", color=HOT_COLOUR,
            label="เหตุในพื้นที่เป้าหมาย (incidents)")
    if series.path_years:
        ax.plot(series.path_years, series.yearly_path, ls="--", color="#2c3e50",
                label="เส้นทางลดลงร้อยละ 10 ต่อปี (-10%/yr)")
        ax.plot(series.path_years, series.final_path, ls=":", color="#27ae60",
                label=f"เส้นทางสู่เป้าหมายปี {series.final_fiscal_year_be} (goal path)")
    ax.set_xlabel("ปีงบประมาณ (fiscal year, BE)", fontfamily=family)
    ax.set_ylabel("จำนวนเหตุ (incidents)", fontfamily=family)
    ax.set_xticks(sorted(set(series.fiscal_years) | set(series.path_years)))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(prop={"family": family, "size": 7}, loc="best")
    return _png(fig)
