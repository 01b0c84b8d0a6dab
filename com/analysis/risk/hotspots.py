"""Hot spots: Getis-Ord Gi* of area scores and emerging hot spots over fiscal periods."""

from __future__ import annotations

import datetime as dt
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
from sqlalchemy.engine import Connection

from com.analysis.risk.filters import AreaLevel, RiskFilter, make_filter
from com.analysis.risk.h3cells import h3_api
from com.analysis.risk.ranking import rank_areas, rank_by_filter
from com.config.severity import SeverityModel, severity_model_of
from com.errors import ValidationError
from com.text.thai import fiscal_year_bounds

HOTSPOT_LABELS: dict[str, tuple[str, str]] = {
    "hot_99": ("จุดร้อน (ความเชื่อมั่น 99%)", "Hot spot - 99% confidence"),
    "hot_95": ("จุดร้อน (ความเชื่อมั่น 95%)", "Hot spot - 95% confidence"),
    "hot_90": ("จุดร้อน (ความเชื่อมั่น 90%)", "Hot spot - 90% confidence"),
    "cold_99": ("จุดเย็น (ความเชื่อมั่น 99%)", "Cold spot - 99% confidence"),
    "cold_95": ("จุดเย็น (ความเชื่อมั่น 95%)", "Cold spot - 95% confidence"),
    "cold_90": ("จุดเย็น (ความเชื่อมั่น 90%)", "Cold spot - 90% confidence"),
    "not_significant": ("ไม่มีนัยสำคัญทางสถิติ", "Not significant"),
}


def spatial_weights(areas: gpd.GeoDataFrame, level: AreaLevel | str, *, h3_ring: int = 1):  # type: ignore[no-untyped-def]
    """Spatial weights of areas in row order: queen contiguity, or H3 k-ring neighbours.

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        Polygons (any level) or a frame with an ``h3_cell`` column.
    level : str or AreaLevel
        The level of the areas.
    h3_ring : int
        For H3: cells within this many steps are neighbours.

    Returns
    -------
    libpysal.weights.W
        Ids 0..n-1 in the frame's order; areas without neighbours are islands.
    """
    # Deferred: libpysal, esda and scipy take seconds to import; `com --help` needs none.
    from libpysal.weights import Queen, W

    level = AreaLevel.parse(level)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands and disconnected parts are expected
        if level.kind == "h3":
            h3int = h3_api()
            cells = [h3int.str_to_int(str(c)) for c in areas["h3_cell"]]
            position = {c: i for i, c in enumerate(cells)}
            neighbours: dict[int, list[int]] = {}
            for i, cell in enumerate(cells):
                ring = (position.get(n) for n in h3int.grid_disk(cell, h3_ring) if n != cell)
                neighbours[i] = sorted(j for j in ring if j is not None)
            return W(neighbours, silence_warnings=True)
        frame = gpd.GeoDataFrame(geometry=areas.geometry.values, crs=areas.crs)
        return Queen.from_dataframe(frame, use_index=False, silence_warnings=True)


def gi_star(
    areas: gpd.GeoDataFrame,
    *,
    level: AreaLevel | str = "subdistrict",
    value: str = "risk_score",
    permutations: int = 999,
    seed: int = 20240930,
    w: Any = None,
    h3_ring: int = 1,
    confidence: Sequence[float] = (0.99, 0.95, 0.90),
    false_discovery_rate: bool = True,
) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* hot spots of area values (esda ``G_Local(star=True)``).

    Inference is by conditional permutation (``permutations``, seeded; the area's own value
    stays, its neighbours are drawn from the other areas). ``gi_z`` is esda's ``z_sim``: the
    observed Gi* standardised by the mean and spread of its permutations. ``gi_p`` is the
    pseudo p-value ``(M + 1) / (permutations + 1)``, M counting the permutations at least as
    extreme as the observed Gi* in the tail it lies in (the smaller of esda's
    ``calculate_significance`` ``greater`` and ``lesser`` values). Without ties this is
    exactly esda's ``p_sim``; esda's ``p_sim`` counts ties against the lower tail, so an area
    whose neighbourhood holds only the minimum value (all zeros, common with sparse points)
    would get p = 0.001 and be called a 99% cold spot, which here it is not.
    ``gi_p_fdr`` is the Benjamini-Hochberg adjusted p-value over the areas tested
    (``scipy.stats.false_discovery_control``). An area is a hot (cold) spot at a confidence
    level c when it lies in the upper (lower) tail and its p-value (``gi_p_fdr`` or, without
    FDR, ``gi_p``) is at most ``1 - c``. With ``permutations=0`` the analytical z-score
    (esda ``Zs``) and its normal p-value are used instead.

    With 999 permutations the smallest pseudo p-value is 0.001, so after the FDR correction a
    99% class needs at least n/10 of the n areas at that floor; raise ``permutations`` to find
    small clusters in large extents at 99%.

    Areas without neighbours (islands) are not tested: ``gi_z`` 0, ``gi_p`` 1, not
    significant. When every area has the same value nothing is significant.

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        A ranking (:func:`rank_areas`).
    level : str or AreaLevel
        Level of the areas (queen contiguity for polygons, k-ring for H3).
    value : str
        Column analysed (``risk_score``; ``risk_per_km2`` for uneven areas).
    permutations : int
        Conditional permutations (999 default).
    seed : int
        Seed of the permutations.
    w : libpysal.weights.W, optional
        Weights to use instead of building them (ids in row order).
    h3_ring : int
        Neighbourhood of H3 cells.
    confidence : sequence of float
        Confidence levels of the classes.
    false_discovery_rate : bool
        Compare FDR-adjusted p-values (default) or raw ones.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with ``gi_z``, ``gi_p``, ``gi_p_fdr``, ``hotspot_class`` (``hot_99`` ...
        ``not_significant``), ``hotspot_th`` and ``hotspot_en``.
    """
    # Deferred: esda and scipy take seconds to import.
    from esda.getisord import G_Local
    from scipy.stats import false_discovery_control

    level = AreaLevel.parse(level)
    out = areas.copy()
    n = len(out)
    y = out[value].astype(float).fillna(0.0).to_numpy()
    z = np.zeros(n)
    p = np.ones(n)
    p_fdr = np.ones(n)
    upper = np.zeros(n, dtype=bool)
    if n >= 3:
        weights = w if w is not None else spatial_weights(out, level, h3_ring=h3_ring)
        cards = np.array([weights.cardinalities[i] for i in weights.id_order])
        tested = cards > 0
        if tested.sum() >= 2 and np.ptp(y) > 0:
            with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
                warnings.simplefilter("ignore")
                gi = G_Local(y, weights, transform="B", star=True, permutations=permutations,
                             seed=seed, n_jobs=1, keep_simulations=True)
            if permutations:
                from esda.significance import calculate_significance

                greater = calculate_significance(gi.Gs, gi.rGs, alternative="greater")
                lesser = calculate_significance(gi.Gs, gi.rGs, alternative="lesser")
                upper = np.where(tested, greater < lesser, False)
                z = np.where(tested, np.nan_to_num(gi.z_sim), 0.0)
                p = np.where(tested, np.minimum(greater, lesser), 1.0)
            else:
                z = np.where(tested, np.nan_to_num(gi.Zs), 0.0)
                upper = z > 0
                p = np.where(tested, gi.p_norm, 1.0)
            p_fdr = np.ones(n)
            p_fdr[tested] = false_discovery_control(p[tested], method="bh")
    chosen = p_fdr if false_discovery_rate else p
    classes = np.array(["not_significant"] * n, dtype=object)
    for level_c in sorted(confidence):  # weakest first; stronger levels overwrite
        alpha = 1 - level_c
        tag = f"{round(level_c * 100):d}"
        significant = chosen <= alpha + 1e-12
        classes[significant & upper] = f"hot_{tag}"
        classes[significant & ~upper] = f"cold_{tag}"
    out["gi_z"] = z
    out["gi_p"] = p
    out["gi_p_fdr"] = p_fdr
    out["hotspot_class"] = classes
    out["hotspot_th"] = [HOTSPOT_LABELS.get(c, (c, c))[0] for c in classes]
    out["hotspot_en"] = [HOTSPOT_LABELS.get(c, (c, c))[1] for c in classes]
    out.attrs.update(areas.attrs)
    out.attrs.update({"permutations": permutations, "seed": seed,
                      "false_discovery_rate": false_discovery_rate})
    return out


def hotspots(
    conn: Connection,
    *,
    level: AreaLevel | str = "subdistrict",
    province: str | None = None,
    district: str | None = None,
    region: str | None = None,
    date_from: dt.date | str | None = None,
    date_to: dt.date | str | None = None,
    categories: Iterable[str] | str | None = None,
    min_severity: int | None = None,
    as_of: dt.date | str | None = None,
    model: SeverityModel | Path | str | None = None,
    permutations: int | None = None,
    seed: int | None = None,
    value: str = "risk_score",
) -> gpd.GeoDataFrame:
    """Rank the areas (:func:`rank_areas`) and add Gi* hot spots (:func:`gi_star`).

    Permutations, seed, H3 ring, confidence levels and FDR default to the model's
    ``[hotspots]`` table (999 permutations, a fixed seed).

    Returns
    -------
    geopandas.GeoDataFrame
        The ranking with ``gi_z``, ``gi_p``, ``gi_p_fdr``, ``hotspot_class``, ``hotspot_th``
        and ``hotspot_en``.
    """
    model = severity_model_of(model)
    settings = model.hotspots
    ranked = rank_areas(
        conn, level=level, province=province, district=district, region=region,
        date_from=date_from,
        date_to=date_to, categories=categories, min_severity=min_severity, as_of=as_of,
        model=model, empty_cells=True,  # Gi* weighs every cell, also those without points
    )
    if permutations is not None and not 0 <= int(permutations) <= 99_999:
        raise ValidationError(f"permutations {permutations} must be 0-99999")
    return gi_star(
        ranked, level=level, value=value,
        permutations=settings.permutations if permutations is None else int(permutations),
        seed=settings.seed if seed is None else int(seed), h3_ring=settings.h3_ring,
        confidence=settings.confidence, false_discovery_rate=settings.false_discovery_rate,
    )


def warm_up() -> float:
    """Run Gi* once on a 3 x 3 lattice so a numba-compiled esda is compiled before requests.

    esda compiles its permutation engine with numba when numba is installed (about 20-50 s
    on the first call); without numba (COM's default install) this takes milliseconds.
    Call it from a background thread when the service starts.

    Returns
    -------
    float
        Seconds taken.
    """
    # Deferred: importing esda is what this warms up.
    from esda.getisord import G_Local
    from libpysal.weights import lat2W

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        G_Local(np.arange(9, dtype=float), lat2W(3, 3), transform="B", star=True,
                permutations=9, seed=1, n_jobs=1)
    return time.perf_counter() - start


EMERGING_LABELS: dict[str, tuple[str, str]] = {
    "new": ("จุดร้อนใหม่", "New hot spot"),
    "intensifying": ("จุดร้อนที่รุนแรงขึ้น", "Intensifying hot spot"),
    "persistent": ("จุดร้อนต่อเนื่อง", "Persistent hot spot"),
    "diminishing": ("จุดร้อนที่ลดลง", "Diminishing hot spot"),
    "sporadic": ("จุดร้อนเป็นครั้งคราว", "Sporadic hot spot"),
    "no_pattern": ("ไม่พบรูปแบบ", "No pattern detected"),
}


def emerging_pattern(
    z: Sequence[float], hot: Sequence[bool], *, alpha: float = 0.05
) -> tuple[str, float | None, float | None]:
    """Class one area's series of Gi* results (ESRI emerging hot spot classes, simplified).

    With ``n`` periods, ``hot`` marking the periods where the area was a significant hot spot
    and a Mann-Kendall test on the z-scores (trend significant at ``alpha``):

    ``new``
        hot in the final period and in no earlier one;
    ``intensifying``
        hot in at least 90% of the periods including the final one, z-scores rising
        significantly;
    ``persistent``
        hot in at least 90% of the periods including the final one, no significant trend;
    ``diminishing``
        hot in at least 90% of the periods including the final one, z-scores falling
        significantly;
    ``sporadic``
        hot in the final period and in some (fewer than 90%) earlier ones, or hot in some
        earlier periods but not the final one;
    ``no_pattern``
        never a hot spot.

    ESRI's consecutive, oscillating and historical classes fold into ``sporadic`` here, and
    cold spots are not classed. A Mann-Kendall test needs at least 4 periods to reach p < 0.05,
    so with 3 fiscal years no hot spot is intensifying or diminishing: use quarters.

    Returns
    -------
    tuple
        ``(class, Mann-Kendall p-value or None, Kendall tau or None)``.

    Examples
    --------
    >>> emerging_pattern([0.1, 0.3, 2.9], [False, False, True])[0]
    'new'
    """
    z_arr = np.asarray(z, dtype=float)
    hot_arr = np.asarray(hot, dtype=bool)
    n = len(z_arr)
    mk_p: float | None = None
    tau: float | None = None
    trend = "no trend"
    if n >= 3 and np.ptp(z_arr) > 0:
        import pymannkendall as mk  # deferred: only emerging hot spots need it

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = mk.original_test(z_arr, alpha=alpha)
        mk_p, tau = float(result.p), float(result.Tau)
        if result.p < alpha:
            trend = "increasing" if result.Tau > 0 else "decreasing"
    if n == 0 or not hot_arr.any():
        return "no_pattern", mk_p, tau
    final = bool(hot_arr[-1])
    share = hot_arr.mean()
    if final and not hot_arr[:-1].any():
        return "new", mk_p, tau
    if final and share >= 0.9:
        if trend == "increasing":
            return "intensifying", mk_p, tau
        if trend == "decreasing":
            return "diminishing", mk_p, tau
        return "persistent", mk_p, tau
    return "sporadic", mk_p, tau


def _periods(
    by: str, start_fy: int, end_fy: int
) -> list[tuple[str, dt.date, dt.date]]:
    if end_fy < start_fy:
        raise ValidationError(f"fiscal years reversed: {start_fy} to {end_fy}")
    if end_fy - start_fy > 20:
        raise ValidationError("at most 21 fiscal years at a time")
    out: list[tuple[str, dt.date, dt.date]] = []
    for fy in range(start_fy, end_fy + 1):
        first, last = fiscal_year_bounds(fy)
        if by == "fiscal_year":
            out.append((str(fy), first, last))
        elif by == "quarter":
            starts = [first, dt.date(first.year + 1, 1, 1), dt.date(first.year + 1, 4, 1),
                      dt.date(first.year + 1, 7, 1)]
            for q, begin in enumerate(starts, start=1):
                end = starts[q] - dt.timedelta(days=1) if q < 4 else last
                out.append((f"{fy}q{q}", begin, end))
        else:
            raise ValidationError(f"period {by!r} must be fiscal_year or quarter")
    return out


def emerging_hotspots(
    conn: Connection,
    *,
    start_fy: int,
    end_fy: int,
    by: Literal["fiscal_year", "quarter"] = "fiscal_year",
    level: AreaLevel | str = "subdistrict",
    province: str | None = None,
    district: str | None = None,
    region: str | None = None,
    categories: Iterable[str] | str | None = None,
    min_severity: int | None = None,
    model: SeverityModel | Path | str | None = None,
    permutations: int | None = None,
    seed: int | None = None,
) -> gpd.GeoDataFrame:
    """Emerging hot spots: Gi* in each fiscal year or quarter, then a trend per area.

    Each period's scores use the points reported in it with recency 1 (periods are compared as
    wholes); Gi* runs on the same weights in every period; :func:`emerging_pattern` classes the
    series.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        Database connection.
    start_fy, end_fy : int
        First and last fiscal year (Buddhist era), inclusive.
    by : str
        ``fiscal_year`` or ``quarter`` (Q1 = October-December).
    level, province, district, categories, min_severity, model
        As for :func:`rank_areas`.
    permutations, seed : int, optional
        Gi* settings (default: the model's).

    Returns
    -------
    geopandas.GeoDataFrame
        Code, names, ``z_<period>`` columns, ``hot_periods``, ``periods``, ``mk_p``, ``mk_tau``,
        ``pattern``, ``pattern_th``, ``pattern_en`` and geometry.
    """
    model = severity_model_of(model)
    lvl = AreaLevel.parse(level)
    settings = model.hotspots
    periods = _periods(by, int(start_fy), int(end_fy))
    base = make_filter(province=province, district=district, region=region,
                       categories=categories,
                       min_severity=min_severity, model=model, use_recency=False)
    frames = []
    weights = None
    for label, first, last in periods:
        filt = RiskFilter(**{**asdict(base), "date_from": first, "date_to": last,
                             "categories": base.categories})
        ranked = rank_by_filter(conn, lvl, filt, model, empty_cells=True)  # same cells each period
        ranked = ranked.sort_values(lvl.code_column).reset_index(drop=True)
        if weights is None:
            weights = spatial_weights(ranked, lvl, h3_ring=settings.h3_ring)
        gi = gi_star(ranked, level=lvl, w=weights,
                     permutations=settings.permutations if permutations is None else permutations,
                     seed=settings.seed if seed is None else seed,
                     confidence=settings.confidence,
                     false_discovery_rate=settings.false_discovery_rate)
        frames.append((label, gi))
    first_frame = frames[0][1]
    out = first_frame[[lvl.code_column, "name_th", "name_en", "geometry"]].copy()
    z = np.column_stack([f["gi_z"].to_numpy() for _, f in frames])
    hot = np.column_stack([f["hotspot_class"].str.startswith("hot").to_numpy() for _, f in frames])
    for i, (label, _) in enumerate(frames):
        out[f"z_{label}"] = z[:, i]
    results = [emerging_pattern(z[i], hot[i]) for i in range(len(out))]
    out["hot_periods"] = hot.sum(axis=1)
    out["periods"] = len(frames)
    out["mk_p"] = [r[1] for r in results]
    out["mk_tau"] = [r[2] for r in results]
    out["pattern"] = [r[0] for r in results]
    out["pattern_th"] = [EMERGING_LABELS[r[0]][0] for r in results]
    out["pattern_en"] = [EMERGING_LABELS[r[0]][1] for r in results]
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=4326)
    out.attrs.update({"level": str(lvl), "by": by, "periods": [p[0] for p in periods]})
    return out
