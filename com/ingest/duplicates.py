"""Duplicates: identical rows, rows near a stored record or an earlier row of the file.

Duplicates against stored records are found in PostGIS (``ST_DWithin`` on geography with the
GiST index); duplicates within the file (same key within ``duplicate_distance_m``, or an
identical row) with a KD-tree in memory.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.db.engine import load_sql
from com.ingest.kinds import Kind
from com.ingest.prepare import PreparedRow

__all__ = ["lock_duplicate_scope", "resolve_duplicates"]


def _kind_sql(name: str, kind: Kind, **extra: str) -> sa.TextClause:
    """Return a registry-templated statement; identifiers come from KINDS, never input."""
    text = load_sql(name).format(table=kind.table, **extra)
    return sa.text(text)


def _near_pairs(points: Sequence[PreparedRow], distance_m: float) -> dict[int, list[int]]:
    """Earlier rows of the file within ``distance_m`` metres with the same duplicate key.

    Set-based in memory: a KD-tree on unit-sphere coordinates finds candidate pairs for all
    points at once, and each candidate is confirmed with the geodesic distance on the WGS 84
    ellipsoid (what PostGIS geography measures).
    """
    if len(points) < 2:
        return {}
    # Deferred: scipy and pyproj are heavy, and a file of one point needs neither.
    from pyproj import Geod
    from scipy.spatial import cKDTree

    lat = np.radians(np.array([p.lat for p in points], dtype=float))
    lon = np.radians(np.array([p.lon for p in points], dtype=float))
    xyz = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    # Chord on a 6,356 km sphere (the polar radius): never shorter than the true distance.
    radius = 2 * math.sin(distance_m * 1.01 / 6_356_752.0 / 2)
    pairs = cKDTree(xyz).query_pairs(radius, output_type="ndarray")
    if not len(pairs):
        return {}
    same = np.array([points[i].dedupe_key == points[j].dedupe_key for i, j in pairs],
                    dtype=bool)
    pairs = pairs[same]
    if not len(pairs):
        return {}
    lat_d, lon_d = np.degrees(lat), np.degrees(lon)
    _, _, metres = Geod(ellps="WGS84").inv(
        lon_d[pairs[:, 0]], lat_d[pairs[:, 0]], lon_d[pairs[:, 1]], lat_d[pairs[:, 1]]
    )
    near: dict[int, list[int]] = {}
    for (i, j), d in zip(pairs, np.atleast_1d(metres), strict=True):
        if d <= distance_m:
            a, b = sorted((points[i].row_number, points[j].row_number))
            near.setdefault(b, []).append(a)
    return {k: sorted(v) for k, v in near.items()}


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
    for code in provinces:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 2))"),
                     {"k": f"{kind.table}:{code}"})


def resolve_duplicates(
    conn: Connection, rows: Sequence[PreparedRow], kind: Kind, distance_m: float
) -> None:
    """Decide duplicates in row order.

    A row is a duplicate when it is identical to an earlier row, near a stored record, near
    an earlier stored row of the file, or (address rows) has the same subdistrict, name and
    address as one of those.
    """
    pending = [r for r in rows if r.status == "pending"]
    if not pending:
        return
    key_clause = f"AND t.{kind.dedupe_column} = s.dedupe_key" if kind.dedupe_column else ""
    existing: dict[int, Any] = {}
    if kind.geometry == "point":
        existing = {
            r.row_number: r
            for r in conn.execute(
                _kind_sql("ingest_duplicates_existing", kind, key_clause=key_clause),
                {"dist_m": distance_m},
            )
        }
        if kind.has_approximate:
            existing.update({
                r.row_number: r
                for r in conn.execute(
                    _kind_sql("ingest_duplicates_approximate", kind, key_clause=key_clause)
                )
            })
    near = _near_pairs(
        [p for p in pending if p.target == "main" and not p.approximate], distance_m
    )
    stored: set[int] = set()
    first_by_fingerprint: dict[Hashable, int] = {}
    first_by_place: dict[tuple, int] = {}
    for p in pending:
        reason = None
        twin = first_by_fingerprint.get(p.fingerprint)
        place_key = (p.target, p.dedupe_key, p.subdistrict_code, p.record.get("name"),
                     p.record.get("address"))
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
        elif any(e in stored for e in near.get(p.row_number, ())):
            earlier = next(e for e in near[p.row_number] if e in stored)
            what = f"same {kind.dedupe_column} " if kind.dedupe_column else "same place "
            reason = f"{what}within {distance_m:g} m of row {earlier}"
        elif p.approximate and place_key in first_by_place:
            reason = f"same subdistrict, name and address as row {first_by_place[place_key]}"
        if reason is None:
            stored.add(p.row_number)
            first_by_fingerprint.setdefault(p.fingerprint, p.row_number)
            if p.approximate:
                first_by_place.setdefault(place_key, p.row_number)
        else:
            p.status, p.reason = "duplicate", reason
