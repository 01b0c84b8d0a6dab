"""GPX from handheld GPS units: waypoints as rows, or track and route points when none."""

from __future__ import annotations

import io
import math
from typing import Any
from xml.etree.ElementTree import ParseError as XMLParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from com.errors import UploadError
from com.ingest.readers.problems import FileTooLarge, UnsupportedFileType
from com.ingest.readers.table import ReadLimits, SourceTable
from com.ingest.readers.xmltree import child_named, local_name, text_of

__all__ = ["read_gpx"]

_GPX_POINTS = {"wpt": "waypoint", "trkpt": "track point", "rtept": "route point"}
_GPX_COLUMNS = ("name", "description", "comment", "time", "type", "symbol", "elevation_m",
                "point", "track")
#: Header cells for recognition: a GPX ``time`` is the report date, ``desc`` the note.
_GPX_PARTS = {"time": ("time", "date"), "description": ("description", "note"),
              "comment": ("comment",), "symbol": ("symbol",),
              "elevation_m": ("elevation (m)",), "point": ("GPX point",),
              "track": ("track or route",)}

#: A point read: its record, its geometry (or None) and the geometry's problem (or None).
_Point = tuple[dict[str, object], Any, str | None]


def _point_record(elem: Any, tag: str, track: str | None) -> dict[str, object]:
    """Return the fields of a ``wpt``, ``trkpt`` or ``rtept`` element."""
    return {
        "name": text_of(child_named(elem, "name")) or None,
        "description": text_of(child_named(elem, "desc")) or None,
        "comment": text_of(child_named(elem, "cmt")) or None,
        "time": text_of(child_named(elem, "time")) or None,
        "type": text_of(child_named(elem, "type")) or None,
        "symbol": text_of(child_named(elem, "sym")) or None,
        "elevation_m": text_of(child_named(elem, "ele")) or None,
        "point": _GPX_POINTS[tag],
        "track": track if tag != "wpt" else None,
    }


def _point_geometry(elem: Any) -> tuple[Any, str | None]:
    """Return the point at the element's ``lat``/``lon`` attributes, or None and the problem."""
    import shapely  # deferred: GEOS loads only when a vector file is read

    try:
        lat, lon = float(elem.get("lat", "")), float(elem.get("lon", ""))
        if not (math.isfinite(lat) and math.isfinite(lon)):
            raise ValueError
        return shapely.Point(lon, lat), None
    except ValueError:
        return None, (f"coordinate {elem.get('lat')!r}, {elem.get('lon')!r} is not "
                      "lon,lat numbers (GPX lat/lon attributes)")


def _walk_points(data: bytes, limits: ReadLimits) -> tuple[list[_Point], list[_Point]]:
    """Stream the document; return its waypoints and its track and route points."""
    waypoints: list[_Point] = []
    others: list[_Point] = []
    depth = 0
    track: str | None = None
    stack: list[str] = []
    events = iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=True,
                       forbid_entities=True, forbid_external=True)
    for event, elem in events:
        tag = local_name(elem.tag)
        if event == "start":
            if depth == 0 and tag != "gpx":
                raise UnsupportedFileType(f"the XML root is <{tag}>, not <gpx>")
            depth += 1
            stack.append(tag)
            if tag in ("trk", "rte"):
                track = None
            continue
        depth -= 1
        stack.pop()
        parent = stack[-1] if stack else ""
        if tag == "name" and parent in ("trk", "rte"):
            track = text_of(elem) or None
        elif tag in _GPX_POINTS:
            target = waypoints if tag == "wpt" else others
            if len(target) >= limits.max_rows:
                if tag == "wpt":
                    raise FileTooLarge(
                        f"the GPX has more than {limits.max_rows:,} waypoints (the limit)"
                    )
                elem.clear()
                continue
            geom, problem = _point_geometry(elem)
            target.append((_point_record(elem, tag, track), geom, problem))
        if tag in _GPX_POINTS or tag in ("trk", "rte", "trkseg"):
            elem.clear()
    return waypoints, others


def _points_table(waypoints: list[_Point], others: list[_Point]) -> SourceTable:
    """Return the waypoints as a table, or the track and route points when there is none."""
    points = waypoints or others
    details: dict[str, Any] = {
        "waypoints": len(waypoints), "track_points": len(others),
        "geometry_errors": {n: p for n, (_, _, p) in enumerate(points, start=1) if p},
    }
    if waypoints and others:
        details["skipped"] = (f"{len(others):,} track/route points left out (the waypoints "
                              "are the places)")
        details["note"] = (f"{len(others):,} track/route points left out: the {len(waypoints):,} "
                           "waypoints are the places / ไม่นำเข้าจุดของเส้นทาง "
                           f"{len(others):,} จุด: ใช้จุดหมุด (waypoint) {len(waypoints):,} จุดเป็นสถานที่")
    elif others:
        details["note"] = (f"the GPX has no waypoints: its {len(others):,} track/route points "
                           "are read as the places / ไฟล์ GPX ไม่มีจุดหมุด (waypoint): "
                           f"นำเข้าจุดของเส้นทาง {len(others):,} จุดเป็นสถานที่แทน")
    columns = list(_GPX_COLUMNS)
    return SourceTable(
        columns=columns,
        rows=[[r.get(c) for c in columns] for r, _, _ in points],
        row_numbers=list(range(1, len(points) + 1)),
        format="gpx",
        geometries=[g for _, g, _ in points],
        header_parts=[_GPX_PARTS.get(c, (c,)) for c in columns],
        details=details,
    )


def read_gpx(data: bytes, limits: ReadLimits) -> SourceTable:
    """Read the waypoints of a GPX file (handheld GPS units) with defusedxml.

    Each ``<wpt>`` is a row: name, description (``desc``), comment (``cmt``), time, type,
    symbol (``sym``) and elevation, its geometry the point at ``lat``/``lon``. Track and
    route points (``trkpt``, ``rtept``) become rows only when the file has no waypoint (a
    logged track is thousands of positions, not places); they carry their track's name.
    Parsed as a stream, each point dropped once read; entities and DTDs are refused.
    """
    try:
        waypoints, others = _walk_points(data, limits)
    except DefusedXmlException as exc:
        raise UploadError(
            f"the GPX declares XML entities or a DTD, which are refused ({exc})"
        ) from exc
    except XMLParseError as exc:
        raise UploadError(f"the GPX is not well-formed XML ({exc})") from exc
    return _points_table(waypoints, others)
