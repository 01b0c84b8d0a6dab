"""Risk scores of areas: point weights, rankings with explanations, hot spots and heat.

The score of an area (subdistrict, district, province or H3 cell) is defined in two steps:

``base``
    the sum over the area's risk points of
    ``category weight x severity x recency x incident count`` (:func:`point_weights`; the
    same formula runs in SQL for the ranking, ``com/db/sql/rank_weighted_points.sql``);
``risk_score``
    ``base x prod_f m_f ** w_f`` where ``m_f`` is the band multiplier of context factor ``f``
    (land border, border crossings, Mekong, district towns: Risk Terrain Modeling style) at the
    area's representative point and ``w_f`` the factor's weight.

Explanations split the score exactly: the category columns ``cat_<key>`` sum to ``base`` and
the factor columns ``ctx_<key>`` share the uplift ``risk_score - base`` in proportion to
``w_f x ln m_f`` (a log-share decomposition: with ``L_f = w_f ln m_f`` and ``L = sum L_f``,
``ctx_f = base x (e**L - 1) x L_f / L``, which tends to ``base x L_f`` as ``L -> 0``). So
``sum(cat_*) + sum(ctx_*) == risk_score`` for every area, and a factor that doubles the
multiplier's logarithm gets twice the share.
"""

from com.analysis.risk.areas import (
    MAX_H3_CELLS,
    h3_point_totals,
    layer_levels,
    layer_point_totals,
)
from com.analysis.risk.context import context_distances
from com.analysis.risk.explanations import AreaExplanation, explain_area
from com.analysis.risk.filters import (
    MAX_H3_RESOLUTION_WITHOUT_SENSITIVE,
    AreaLevel,
    RiskFilter,
    check_level_for,
    make_filter,
)
from com.analysis.risk.h3cells import with_polygons
from com.analysis.risk.heat import heat_surface
from com.analysis.risk.hotspots import (
    EMERGING_LABELS,
    HOTSPOT_LABELS,
    emerging_hotspots,
    emerging_pattern,
    gi_star,
    hotspots,
    spatial_weights,
    warm_up,
)
from com.analysis.risk.output import (
    areas_to_geojson,
    areas_to_json,
    areas_to_records,
    json_ready,
    thai_headers,
    write_areas,
)
from com.analysis.risk.ranking import (
    area_columns,
    prepare_h3,
    prepare_h3_country,
    rank_areas,
    rank_by_filter,
)
from com.analysis.risk.scoring import combine_scores, point_weights

__all__ = [
    "EMERGING_LABELS",
    "HOTSPOT_LABELS",
    "MAX_H3_CELLS",
    "MAX_H3_RESOLUTION_WITHOUT_SENSITIVE",
    "AreaExplanation",
    "AreaLevel",
    "RiskFilter",
    "area_columns",
    "areas_to_geojson",
    "areas_to_json",
    "areas_to_records",
    "check_level_for",
    "combine_scores",
    "context_distances",
    "emerging_hotspots",
    "emerging_pattern",
    "explain_area",
    "gi_star",
    "h3_point_totals",
    "with_polygons",
    "heat_surface",
    "hotspots",
    "json_ready",
    "layer_levels",
    "layer_point_totals",
    "make_filter",
    "point_weights",
    "prepare_h3",
    "prepare_h3_country",
    "rank_areas",
    "rank_by_filter",
    "spatial_weights",
    "thai_headers",
    "warm_up",
    "write_areas",
]
