"""H3 cells of the risk analysis: the cell of each point, cell polygons and cell codes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from itertools import chain

import geopandas as gpd
import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.analysis.risk import cellstore
from com.geo.h3 import STORED_RESOLUTIONS, cell_column, latlng_to_cells

#: Rows filled per statement by :func:`fill_h3_cells`.
FILL_STEP = 200_000


def h3_api():  # type: ignore[no-untyped-def]
    """Return the h3 module working on integer cells (``h3.api.basic_int``)."""
    import h3.api.basic_int as h3int  # deferred: h3 loads only for H3 levels

    return h3int


def h3_cells(lat: np.ndarray, lon: np.ndarray, resolution: int) -> np.ndarray:
    """Return the int64 H3 cell of each point at ``resolution`` (vectorised, com.geo.h3)."""
    return latlng_to_cells(lat, lon, resolution)


_MISSING = sa.text(
    "SELECT array_agg(id), array_agg(ST_Y(geom)), array_agg(ST_X(geom)) FROM ("
    "SELECT id, geom FROM risk_points WHERE h3_6 IS NULL ORDER BY id LIMIT :step) AS q"
)
_FILL = sa.text(
    "UPDATE risk_points r SET h3_6 = u.c6, h3_7 = u.c7, h3_8 = u.c8, h3_9 = u.c9 "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:c6 AS bigint[]), CAST(:c7 AS bigint[]), "
    "CAST(:c8 AS bigint[]), CAST(:c9 AS bigint[])) AS u(id, c6, c7, c8, c9) WHERE r.id = u.id"
)


def fill_h3_cells(conn: Connection) -> int:
    """Give the risk points stored without their H3 cells (plain SQL, old backups) their cells.

    Uploads and the demo store the cells with each point (com.geo.h3); this catches every other
    writer before an H3 ranking reads the columns. The partial index ``ix_risk_points_h3_missing``
    (0010_h3cells) makes the check one probe of an empty index in normal use. Runs in the
    caller's transaction.

    Returns
    -------
    int
        How many points were filled.
    """
    assert STORED_RESOLUTIONS == (6, 7, 8, 9), "the UPDATE names the stored columns"
    filled = 0
    while True:
        ids, lats, lons = conn.execute(_MISSING, {"step": FILL_STEP}).one()
        if not ids:
            return filled
        lat, lon = np.asarray(lats, dtype=float), np.asarray(lons, dtype=float)
        cells = {cell_column(r): latlng_to_cells(lat, lon, r).tolist()
                 for r in STORED_RESOLUTIONS}
        conn.execute(_FILL, {"ids": ids, "c6": cells["h3_6"], "c7": cells["h3_7"],
                             "c8": cells["h3_8"], "c9": cells["h3_9"]})
        filled += len(ids)


def h3_polygons(cells: np.ndarray) -> np.ndarray:
    """Return the shapely polygons (EPSG:4326) of int64 H3 cells."""
    h3int = h3_api()
    boundaries = [h3int.cell_to_boundary(int(c)) for c in cells]
    lengths = np.fromiter((len(b) for b in boundaries), dtype=np.int64, count=len(boundaries))
    flat = np.fromiter(chain.from_iterable(chain.from_iterable(boundaries)), dtype=float,
                       count=int(lengths.sum()) * 2).reshape(-1, 2)[:, ::-1]  # lat,lng -> x,y
    # One vectorised call; shapely closes each ring by repeating its first vertex.
    rings = shapely.linearrings(flat, indices=np.repeat(np.arange(len(cells)), lengths))
    return shapely.polygons(rings)


def h3_strings(cells: np.ndarray, *, step: int = 65_536) -> np.ndarray:
    """H3 cell strings (15 hex digits) of int64 cells, without a Python call per cell.

    ``step`` cells at a time: the fixed-width intermediates of 500,000 cells would cost 30 MB.
    """
    cells = np.asarray(cells, dtype=">u8")
    out = np.empty(len(cells), dtype=object)
    for start in range(0, len(cells), step):
        part = cells[start:start + step]
        digits = np.frombuffer(part.tobytes().hex().encode(), dtype="S1").reshape(len(part), 16)
        out[start:start + step] = (np.ascontiguousarray(digits[:, 1:]).view("S15").ravel()
                                   .astype("U15").astype(object))
    return out


class CellMemo:
    """Values per H3 cell computed once per process (cell polygons, areas, names, distances).

    A national ranking at h3:8 has about 430,000 cells with points; their polygons, areas and
    context distances cost seconds of CPU to compute and never change for a cell (names and
    distances change with the reference data: such memos live in
    :func:`com.analysis.risk.reference.cached`). Kept as sorted int64 cells with one array per
    value, so a lookup is one vectorised ``searchsorted``; past ``max_cells`` it starts over.
    """

    def __init__(self, max_cells: int = 2_000_000) -> None:
        self.max_cells = max_cells
        self._lock = threading.Lock()
        self._cells = np.empty(0, dtype=np.int64)
        self._values: dict[str, np.ndarray] = {}

    def lookup(
        self, cells: np.ndarray, compute: Callable[[np.ndarray], Mapping[str, np.ndarray]]
    ) -> dict[str, np.ndarray]:
        """Return the values of ``cells`` (int64), computing those not yet known with ``compute``.

        ``compute`` gets the missing cells and returns one array per value, in their order.
        The arrays returned may be the memo's own: callers must not modify them.
        """
        cells = np.asarray(cells, dtype=np.int64)
        with self._lock:
            if self._values and np.array_equal(cells, self._cells):
                return dict(self._values)  # the same cells again: the kept arrays
            # An empty memo takes the caller's (sorted) cells as they are: the memos of one
            # ranking then share one array of cells (4 MB each at h3:8 national).
            missing = sorted_unique(cells if not len(self._cells) else
                                    cells[~self._known(cells)])
            if len(missing) or not self._values:  # (empty arrays of each value at least)
                new = {k: np.asarray(v) for k, v in compute(missing).items()}
                if len(self._cells) + len(missing) > self.max_cells:
                    self._cells, self._values = np.empty(0, dtype=np.int64), {}
                if not self._values and np.array_equal(missing, cells):
                    # The first lookup of a memo (missing is sorted): its values as they come.
                    self._cells, self._values = missing, new
                    return dict(self._values)
                if not self._values:
                    self._values = {k: v[:0] for k, v in new.items()}
                merged = np.concatenate([self._cells, missing])
                order = np.argsort(merged, kind="stable")
                self._cells = merged[order]
                self._values = {k: np.concatenate([self._values[k], new[k]])[order]
                                for k in new}
                if np.array_equal(cells, self._cells):
                    # The first lookup of every kept cell (a national ranking's first call):
                    # the kept arrays, not copies (tens of MB at h3:8).
                    return dict(self._values)
            pos = np.searchsorted(self._cells, cells)
            return {k: v[pos] for k, v in self._values.items()}

    def _known(self, cells: np.ndarray) -> np.ndarray:
        pos = np.minimum(np.searchsorted(self._cells, cells), max(len(self._cells) - 1, 0))
        if not len(self._cells):
            return np.zeros(len(cells), dtype=bool)
        return self._cells[pos] == cells


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct int64 values (np.unique's hash path is slower on 500,000 cells)."""
    values = np.asarray(values, dtype=np.int64)
    if len(values) < 2 or bool(np.all(values[1:] > values[:-1])):
        return values  # already so (a ranking's cells): a check instead of a sort (30 ms)
    ordered = np.sort(values)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def cell_shapes(cells: np.ndarray) -> dict[str, np.ndarray]:
    """``area_km2`` and centre (``rep_lon``, ``rep_lat``) of int64 cells.

    Areas from h3's ``cell_area`` (h3o's vectorised areas differ by up to 1e-9); centres from
    h3ronpy in one call (within 3e-12 degrees of ``cell_to_latlng``). No polygon: kept for
    every cell ranked in the process, polygons would cost 0.5-1 KB a cell (500 MB for a
    national h3:8 ranking); :func:`cell_polygons` makes those a caller shows.
    """
    h3int = h3_api()
    cells = np.asarray(cells, dtype=np.int64)
    if not len(cells):
        return {k: np.empty(0) for k in ("area_km2", "rep_lon", "rep_lat")}
    from h3ronpy.vector import cells_to_coordinates  # deferred: H3 work only

    centres = cells_to_coordinates(cells.astype(np.uint64))
    return {
        "area_km2": np.array([h3int.cell_area(c, "km^2") for c in cells.tolist()], dtype=float),
        "rep_lon": np.asarray(centres.column("lng"), dtype=float),
        "rep_lat": np.asarray(centres.column("lat"), dtype=float),
    }


def cell_polygons(cells: np.ndarray) -> np.ndarray:
    """Shapely polygons (EPSG:4326) of int64 cells, from h3ronpy in one call.

    h3's ``cell_to_boundary`` builds Python tuples (300 MB for 500,000 cells); h3ronpy gives
    the same vertices within 1e-12 degrees.
    """
    cells = np.asarray(cells, dtype=np.int64)
    if not len(cells):
        return np.empty(0, dtype=object)
    from h3ronpy.vector import cells_to_wkb_polygons  # deferred: H3 work only

    return shapely.from_wkb(np.asarray(cells_to_wkb_polygons(cells.astype(np.uint64))))


#: Cell areas and centres: fixed by H3 itself, shared by every caller.
SHAPES = CellMemo()
SHAPE_KEYS = ("area_km2", "rep_lon", "rep_lat")


def kept_shapes(conn: Connection) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """:func:`cell_shapes` through the values kept in the database (cellstore), for ``SHAPES``.

    Areas and centres depend on the cell alone: kept under ``shapes:<resolution>`` with no
    version, read by every later process instead of computed (0.5-0.9 s for 486,000 cells).
    """
    def compute(cells: np.ndarray) -> dict[str, np.ndarray]:
        cells = np.asarray(cells, dtype=np.int64)
        out = {k: np.empty(len(cells)) for k in SHAPE_KEYS}
        resolutions = cell_resolutions(cells)
        for res in np.unique(resolutions):
            rows = np.flatnonzero(resolutions == res)
            found = cellstore.stored(conn, f"shapes:{res}", "", cells[rows], cell_shapes,
                                     floats=SHAPE_KEYS)
            for k in SHAPE_KEYS:
                out[k][rows] = found[k]
        return out

    return compute


def cell_resolutions(cells: np.ndarray) -> np.ndarray:
    """Return the resolution of each int64 H3 cell (bits 52-55 of the index)."""
    return (np.asarray(cells, dtype=np.int64) >> 52) & 0xF


def cell_ints(codes: np.ndarray) -> np.ndarray:
    """int64 cells of H3 cell strings (15 hex digits; the inverse of :func:`h3_strings`)."""
    text = np.asarray(codes, dtype="U15").astype("S15")
    if not len(text):
        return np.empty(0, dtype=np.int64)
    digits = np.frombuffer(text.tobytes(), dtype=np.uint8).reshape(len(text), 15)
    values = np.where(digits >= ord("a"), digits - ord("a") + 10,
                      np.where(digits >= ord("A"), digits - ord("A") + 10, digits - ord("0")))
    powers = (16 ** np.arange(14, -1, -1, dtype=np.uint64)).astype(np.uint64)
    return (values.astype(np.uint64) @ powers).astype(np.int64)


def with_polygons(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return an H3 ranking with the polygons of its cells where its geometry is empty.

    A ranking of many cells leaves its geometry empty (:func:`com.analysis.risk.rank_areas`):
    whoever shows cells (a GeoJSON page, a GeoPackage) makes the polygons of those rows only.
    Any other frame is returned as it is.
    """
    if (not str(frame.attrs.get("level", "")).startswith("h3") or "h3_cell" not in frame.columns
            or not isinstance(frame, gpd.GeoDataFrame)):
        return frame
    missing = np.flatnonzero(frame.geometry.isna().to_numpy())
    if not len(missing):
        return frame
    attrs = dict(frame.attrs)
    out = frame.copy()
    geometry = out.geometry.to_numpy().copy()
    geometry[missing] = cell_polygons(cell_ints(out["h3_cell"].to_numpy()[missing]))
    out = out.set_geometry(gpd.GeoSeries(geometry, index=out.index, crs=frame.crs))
    out.attrs.update(attrs)
    return out
