"""Duplicates: identical rows, rows near a stored record or an earlier row of the file.

Duplicates against stored records are found in PostGIS (``ST_DWithin`` on geography with the
GiST index); duplicates within the file (same key within ``duplicate_distance_m``, or an
identical row) with a KD-tree in memory.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.db.engine import load_sql
from com.ingest.kinds import Kind
from com.ingest.prepare import PreparedRow

__all__ = ["NearIndex", "crowded_rows", "lock_duplicate_scope", "resolve_duplicates"]


def _kind_sql(name: str, kind: Kind, **extra: str) -> sa.TextClause:
    """Return a registry-templated statement; identifiers come from KINDS, never input."""
    text = load_sql(name).format(table=kind.table, **extra)
    return sa.text(text)


def _near_sql(name: str, kind: Kind, *, key_clause: str, same_province: str) -> sa.TextClause:
    """Return a duplicate probe around ingest_duplicates_probe.sql (names from KINDS)."""
    probe = load_sql("ingest_duplicates_probe").format(
        table=kind.table, key_clause=key_clause, same_province=same_province)
    return sa.text(load_sql(name).format(table=kind.table, probe=probe))


_Cell = tuple[int, int, int]


def _search_radius(distance_m: float) -> float:
    """Chord on the unit sphere (polar radius) surely as long as ``distance_m`` on the ground."""
    return 2 * math.sin(distance_m * 1.01 / 6_356_752.0 / 2)


def _unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere of latitudes and longitudes in degrees, one row each."""
    lat, lon = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def crowded_rows(lat: np.ndarray, lon: np.ndarray, distance_m: float) -> np.ndarray:
    """Return which points have another point within reach of ``distance_m`` (bool array).

    One KD-tree query (``k=2``, bounded, in C; scipy releases the GIL while it runs). Within
    reach is the search chord (:class:`NearIndex`), never shorter than ``distance_m``: a
    superset of the rows with a neighbour closer than ``distance_m``.
    """
    if len(lat) < 2:
        return np.zeros(len(lat), dtype=bool)
    from scipy.spatial import cKDTree  # deferred: heavy, and a file of one point needs none

    xyz = _unit_xyz(lat, lon)
    radius = _search_radius(distance_m)
    # The nearest other point of each (index 0 is the point itself, or an identical one).
    gap, _ = cKDTree(xyz).query(xyz, k=2, distance_upper_bound=radius)
    return np.asarray(gap[:, 1] <= radius)


class NearIndex:
    """The file's rows stored so far, asked "which stored row is within ``distance_m``?".

    A row is a duplicate when a row of the file *stored before it* (same duplicate key) lies
    within ``distance_m``; which rows are stored depends on the rows before, so the question
    is asked row by row. Listing every pair of nearby rows first (``query_pairs``) is
    quadratic where rows crowd: 30,000 identical points are 450 million pairs, minutes and
    gigabytes for one upload. Here one KD-tree query (``k=2``, bounded, in C) marks the rows
    that have any other row within reach; only those are indexed and asked, in a grid of cells
    one search radius wide on the unit sphere. Stored rows of one key are more than
    ``distance_m`` apart, so a cell holds a handful of them per key whatever the file, and
    each question looks at most 27 cells: O(n log n) for any file. Hand-written because no
    library offers an incremental fixed-radius index (scipy's trees are static).

    Distances are confirmed with the geodesic on the WGS 84 ellipsoid (what PostGIS
    geography measures); the chord is on a 6,356 km sphere (the polar radius), never shorter
    than the true distance, so it only discards pairs that are surely too far.
    """

    def __init__(self, points: Sequence[PreparedRow], distance_m: float, *,
                 crowded: frozenset[int] | None = None) -> None:
        """Index ``points`` (stored rows of the file, in any order).

        ``crowded``: the row numbers :func:`crowded_rows` found among a superset of
        ``points`` (an upload asks for them ahead, beside its other work); without it the
        KD-tree query runs here.
        """
        self._distance_m = distance_m
        #: The rows the index was made with, by row number.
        self.rows = frozenset(p.row_number for p in points)
        # cell -> stored rows in it: (row number, key, x, y, z, lat, lon)
        self._cells: dict[_Cell, list[tuple[int, Any, float, float, float, Any, Any]]] = {}
        # row number -> (cell, x, y, z), for the rows that have another row within reach
        self._where: dict[int, tuple[_Cell, float, float, float]] = {}
        self._geod: Any = None
        self._radius = _search_radius(distance_m)
        if len(points) < 2:
            return
        if crowded is None:
            mask = crowded_rows(np.array([p.lat for p in points], dtype=float),
                                np.array([p.lon for p in points], dtype=float), distance_m)
            near = [points[i] for i in np.flatnonzero(mask).tolist()]
        else:
            near = [p for p in points if p.row_number in crowded]
        if not near:
            return
        from pyproj import Geod  # deferred: heavy, and most files have no crowded row

        self._geod = Geod(ellps="WGS84")
        xyz = _unit_xyz(np.array([p.lat for p in near], dtype=float),
                        np.array([p.lon for p in near], dtype=float))
        size = max(self._radius, 1e-12)
        cells = np.floor(xyz / size).astype(np.int64).tolist()
        for p, cell, (x, y, z) in zip(near, cells, xyz.tolist(), strict=True):
            self._where[p.row_number] = (tuple(cell), x, y, z)

    def earliest(self, p: PreparedRow) -> int | None:
        """Return the first stored row within reach of ``p`` with its key, or None.

        None also for a row the index was not made with (not a candidate) or that has no
        other row within reach; :meth:`add` records only such rows too.
        """
        where = self._where.get(p.row_number)
        if where is None:
            return None
        (cx, cy, cz), x, y, z = where
        r2 = self._radius * self._radius
        found: int | None = None
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for dz in (-1, 0, 1):
                    for row, key, qx, qy, qz, qlat, qlon in self._cells.get(
                            (cx + dx, cy + dy, cz + dz), ()):
                        if (key != p.dedupe_key or row >= p.row_number
                                or (found is not None and row >= found)
                                or (qx - x) ** 2 + (qy - y) ** 2 + (qz - z) ** 2 > r2):
                            continue
                        _, _, metres = self._geod.inv(qlon, qlat, p.lon, p.lat)
                        if metres <= self._distance_m:
                            found = row
        return found

    def reaches(self, p: PreparedRow) -> bool:
        """Say whether ``p`` has other rows within reach (else :meth:`earliest` is None)."""
        return p.row_number in self._where

    def add(self, p: PreparedRow) -> None:
        """Record ``p`` as stored."""
        where = self._where.get(p.row_number)
        if where is not None:
            cell, x, y, z = where
            self._cells.setdefault(cell, []).append(
                (p.row_number, p.dedupe_key, x, y, z, p.lat, p.lon))


def lock_duplicate_scope(conn: Connection, rows: Sequence[PreparedRow], kind: Kind) -> None:
    """Hold, until commit, a lock per province the file's pending rows fall in (issue 11).

    Duplicates are looked for among stored records of the same table and province, so two
    uploads into one province check and store one after the other: the second one's check
    (a new snapshot under READ COMMITTED) sees the first one's committed rows and reports
    them as duplicates instead of storing them twice. Uploads into other provinces go on in
    parallel. Locks are taken in code order, so two multi-province files cannot deadlock;
    the reading, geocoding and place checks before this stay parallel.
    """
    provinces = sorted({r.province_code or "" for r in rows
                        if r.status == "pending" and r.target == "main"})
    if not provinces:
        return
    # One statement, the locks taken in the array's order (a round trip per province cost
    # 0.02-0.03 s for a nationwide file).
    conn.execute(sa.text(
        "SELECT count(pg_advisory_xact_lock(hashtextextended(k.key, 2))) "
        "FROM (SELECT key FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS u(key, n) "
        "ORDER BY n) AS k"), {"keys": [f"{kind.table}:{code}" for code in provinces]})


def _others_stored(conn: Connection, kind: Kind, upload_id: int | None) -> bool:
    """Say whether the kind's table holds any record not of ``upload_id`` (checked once).

    A table holding only the upload's own rows (a first upload, or a new database) has no
    stored record to be near: the probes below would read every row of the upload for
    nothing (0.07 s for 100,000 streamed points). Where other records exist the first one
    found ends the scan. Run after :func:`lock_duplicate_scope`, so an upload committed into
    the same provinces meanwhile is seen.
    """
    if upload_id is None:
        return True
    return bool(conn.execute(
        sa.text(f"SELECT EXISTS (SELECT 1 FROM {kind.table} "  # name from the registry
                "WHERE source_upload_id IS DISTINCT FROM :u)"), {"u": upload_id}).scalar())


def resolve_duplicates(
    conn: Connection, rows: Sequence[PreparedRow], kind: Kind, distance_m: float,
    upload_id: int | None = None, *, streamed: bool = False, near: NearIndex | None = None,
) -> None:
    """Decide duplicates in row order.

    A row is a duplicate when it is identical to an earlier row, near a stored record, near
    an earlier stored row of the file, or (address rows) has the same subdistrict, name and
    address as one of those. Rows of ``upload_id`` already in the table are no stored
    records; with ``streamed`` they are asked about too (they are not on the stage).
    ``near``: a :class:`NearIndex` made ahead (an upload that streams its points makes it
    while the server stores the last ones), taken if made with exactly the rows asked about
    within the file (their places never change once streamed).
    """
    pending = [r for r in rows if r.status == "pending"]
    if not pending:
        return
    key_clause = f"AND t.{kind.dedupe_column} = s.dedupe_key" if kind.dedupe_column else ""
    existing: dict[int, Any] = {}
    if kind.geometry == "point" and _others_stored(conn, kind, upload_id):
        params = {"dist_m": distance_m, "upload_id": upload_id}
        existing = {
            r.row_number: r
            for r in conn.execute(
                _near_sql("ingest_duplicates_existing", kind, key_clause=key_clause,
                          same_province="t.province_code = s.province_code"), params)
        }
        if streamed:
            own_key = (f"AND t.{kind.dedupe_column} = s.{kind.dedupe_column}"
                       if kind.dedupe_column else "")
            existing.update({
                r.row_number: r
                for r in conn.execute(
                    _near_sql("ingest_duplicates_streamed", kind, key_clause=own_key,
                              same_province="t.province_code IS NOT DISTINCT FROM "
                                            "s.province_code"), params)
            })
        if kind.has_approximate:
            existing.update({
                r.row_number: r
                for r in conn.execute(
                    _kind_sql("ingest_duplicates_approximate", kind, key_clause=key_clause)
                )
            })
    candidates = [p for p in pending if p.target == "main" and not p.approximate]
    if near is None or near.rows != {p.row_number for p in candidates}:
        near = NearIndex(candidates, distance_m)
    # Only a row something could make a duplicate is asked about: its fingerprint is not
    # unique in the file, a stored record is near it, other rows of the file are within
    # reach, or it is placed by address. Any other row (nearly every row of a coordinate
    # file) is stored, and no later row can be its twin or near it (0.07 s -> 0.03 s for
    # 100,000 rows).
    fingerprints = Counter(p.fingerprint for p in pending)
    asked = [p for p in pending if p.approximate or fingerprints[p.fingerprint] > 1
             or p.row_number in existing or near.reaches(p)]
    first_by_fingerprint: dict[Hashable, int] = {}
    first_by_place: dict[tuple, int] = {}
    for p in asked:
        reason = None
        twin = first_by_fingerprint.get(p.fingerprint)
        # Address rows only (nearly none of a coordinate file: made for those alone).
        place_key = (p.target, p.dedupe_key, p.subdistrict_code, p.record.get("name"),
                     p.record.get("address")) if p.approximate else ()
        if twin is not None:
            reason = f"identical to row {twin}"
        elif p.row_number in existing:
            hit = existing[p.row_number]
            source = (f" (upload {hit.source_upload_id}, row {hit.source_row})"
                      if hit.source_upload_id else "")
            what = f"same {kind.dedupe_column} and place" if kind.dedupe_column else "same place"
            reason = (f"{what} within {distance_m:g} m as stored record {hit.id}{source}"
                      if not p.approximate else
                      f"same subdistrict, name and address as stored record {hit.id}{source}")
        elif (earlier := near.earliest(p)) is not None:
            what = f"same {kind.dedupe_column} " if kind.dedupe_column else "same place "
            reason = f"{what}within {distance_m:g} m of row {earlier}"
        elif p.approximate and place_key in first_by_place:
            reason = f"same subdistrict, name and address as row {first_by_place[place_key]}"
        if reason is None:
            near.add(p)
            first_by_fingerprint.setdefault(p.fingerprint, p.row_number)
            if p.approximate:
                first_by_place.setdefault(place_key, p.row_number)
        else:
            p.status, p.reason = "duplicate", reason
