"""KML and KMZ (Google Earth, Google My Maps): placemarks with their folders and fields.

Each placemark is a row: its name, description (or the fields of an HTML table in it, as
ArcGIS and QGIS export them), ExtendedData fields and the innermost named folder (My Maps
layers). XML is parsed with defusedxml: DTD entities and external references are refused.
"""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from xml.etree.ElementTree import ParseError as XMLParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from com.errors import UploadError
from com.ingest.readers.column_names import MAX_HEADER_CHARS
from com.ingest.readers.formats import check_zip
from com.ingest.readers.problems import FileTooLarge, UnsupportedFileType, describe_problem
from com.ingest.readers.table import ReadLimits, SourceTable
from com.ingest.readers.xmltree import child_named, local_name, text_of, xml_refusal

__all__ = ["read_kml", "read_kmz"]


_TAGS = re.compile(r"<[^>]+>")
_ROW = re.compile(r"<tr[^>]*>(.*?)</tr>", re.IGNORECASE | re.DOTALL)
_CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>", re.IGNORECASE | re.DOTALL)


def _description_fields(text: str) -> dict[str, str]:
    """Key/value pairs of an HTML table in a description (how ArcGIS and QGIS export fields).

    Hand-written with regular expressions: only two-cell rows matter and the stdlib HTML
    parser would need as much code to walk them.
    """
    out: dict[str, str] = {}
    for row in _ROW.findall(text):
        cells = [html.unescape(_TAGS.sub(" ", c)).strip() for c in _CELL.findall(row)]
        if len(cells) == 2 and cells[0] and len(cells[0]) <= MAX_HEADER_CHARS:
            out.setdefault(cells[0], cells[1])
    return out


_COMMA_SPACES = re.compile(r"\s*,\s*")
#: One "field: value" line of a description ("ประเภท: น้ำท่วม<br>ระดับ: 4", as Google My Maps
#: writes its fields); a value starting "//" is a link's rest, not a field.
_FIELD_LINE = re.compile(r"^\s*([^:<>/]{1,60}?)\s*[:：]\s*(?!//)(.*?)\s*$")
_LINE_BREAK = re.compile(r"<br\s*/?>|\n", re.IGNORECASE)


def _description_lines(text: str) -> dict[str, str]:
    """Fields of a description written as two or more "field: value" lines, else nothing."""
    lines = [html.unescape(_TAGS.sub(" ", ln)).strip() for ln in _LINE_BREAK.split(text)]
    lines = [ln for ln in lines if ln]
    matches = [_FIELD_LINE.match(ln) for ln in lines]
    if len(lines) < 2 or any(m is None for m in matches):
        return {}
    out: dict[str, str] = {}
    for m in matches:
        assert m is not None
        out.setdefault(m.group(1), m.group(2))
    return out


_GEOMETRY_TAGS = ("Point", "LineString", "LinearRing", "Polygon", "MultiGeometry")


class _GeometryError(ValueError):
    pass


def _kml_coords(text: str, limits: ReadLimits) -> list[tuple[float, float]]:
    points = []
    # Hand-edited KML puts spaces around the commas ("103.49 , 14.88"); tuples are separated
    # by whitespace only, so the spaces beside a comma belong to the tuple.
    text = _COMMA_SPACES.sub(",", text)
    for token in text.split():
        parts = token.split(",")
        if len(parts) < 2:
            raise _GeometryError(f"coordinate {token[:40]!r} is not lon,lat")
        try:
            lon, lat = float(parts[0]), float(parts[1])
        except ValueError:
            raise _GeometryError(f"coordinate {token[:40]!r} is not lon,lat numbers") from None
        points.append((lon, lat))
        if len(points) > limits.max_vertices:
            raise _GeometryError(
                f"geometry has more than {limits.max_vertices:,} vertices (the limit)"
            )
    return points


def _kml_geometry(elem: Any, limits: ReadLimits) -> Any:
    import shapely  # deferred: GEOS loads only when a vector file is read

    kind = local_name(elem.tag)
    if kind == "Point":
        pts = _kml_coords(text_of(child_named(elem, "coordinates")), limits)
        if len(pts) != 1:
            raise _GeometryError("a Point needs exactly one lon,lat coordinate")
        return shapely.Point(pts[0])
    if kind == "LineString":
        pts = _kml_coords(text_of(child_named(elem, "coordinates")), limits)
        if len(pts) < 2:
            raise _GeometryError("a LineString needs at least two coordinates")
        return shapely.LineString(pts)
    if kind == "LinearRing":
        return shapely.Polygon(_kml_coords(text_of(child_named(elem, "coordinates")), limits))
    if kind == "Polygon":
        rings = []
        for part in elem:
            if local_name(part.tag) in ("outerBoundaryIs", "innerBoundaryIs"):
                ring = child_named(part, "LinearRing")
                if ring is not None:
                    coords = _kml_coords(text_of(child_named(ring, "coordinates")), limits)
                    if len(coords) < 3:
                        raise _GeometryError("a polygon ring needs at least three coordinates")
                    rings.append((local_name(part.tag), coords))
        outer = [c for k, c in rings if k == "outerBoundaryIs"]
        if not outer:
            raise _GeometryError("a Polygon has no outer boundary")
        return shapely.Polygon(outer[0], [c for k, c in rings if k == "innerBoundaryIs"])
    if kind == "MultiGeometry":
        parts = [
            _kml_geometry(c, limits)
            for c in elem
            if local_name(c.tag) in _GEOMETRY_TAGS
        ]
        if not parts:
            raise _GeometryError("an empty MultiGeometry")
        if sum(shapely.get_num_coordinates(p) for p in parts) > limits.max_vertices:
            raise _GeometryError(
                f"geometry has more than {limits.max_vertices:,} vertices (the limit)"
            )
        if len(parts) == 1:
            return parts[0]
        types = {p.geom_type for p in parts}
        if types == {"Point"}:
            return shapely.MultiPoint(parts)
        if types == {"LineString"}:
            return shapely.MultiLineString(parts)
        if types <= {"Polygon", "MultiPolygon"}:
            return shapely.union_all(parts)
        return shapely.GeometryCollection(parts)
    raise _GeometryError(f"unsupported KML geometry {kind}")


def _placemark(
    pm: Any, folder_name: str | None, limits: ReadLimits, columns: dict[str, None]
) -> tuple[dict[str, object], Any, str | None]:
    """Return a placemark's record, its geometry (or None) and the geometry's problem."""
    record: dict[str, object] = {
        "name": text_of(child_named(pm, "name")) or None,
    }
    desc = text_of(child_named(pm, "description"))
    fields = _description_fields(desc) if "<t" in desc.lower() else {}
    if not fields and ":" in desc:
        fields = _description_lines(desc)
    record["description"] = (
        None if fields else (html.unescape(_TAGS.sub(" ", desc)).strip() or None)
    )
    if folder_name:
        record["folder"] = folder_name
        columns.setdefault("folder", None)
    ext = child_named(pm, "ExtendedData")
    if ext is not None:
        for item in ext.iter():
            tag = local_name(item.tag)
            if tag == "Data" and item.get("name"):
                fields[item.get("name")] = text_of(child_named(item, "value"))
            elif tag == "SimpleData" and item.get("name"):
                fields[item.get("name")] = (item.text or "").strip()
    for key, value in fields.items():
        if key in ("name", "description"):
            key = f"{key} (data)"
        columns.setdefault(key, None)
        record[key] = value or None
    if len(columns) > limits.max_columns:
        raise FileTooLarge(
            f"the KML has more than {limits.max_columns} fields; at most "
            f"{limits.max_columns} accepted"
        )
    gelem = next((c for c in pm if local_name(c.tag) in _GEOMETRY_TAGS), None)
    if gelem is None:
        return record, None, None
    try:
        return record, _kml_geometry(gelem, limits), None
    except _GeometryError as exc:
        return record, None, str(exc)
    except Exception as exc:  # shapely refuses some degenerate shapes
        return record, None, f"geometry cannot be built ({exc})"


@dataclass
class _Placemarks:
    """The rows of a KML as its placemarks are read: fields in order of first use, records."""

    columns: dict[str, None] = field(default_factory=lambda: {"name": None, "description": None})
    records: list[dict[str, object]] = field(default_factory=list)
    geometries: list[Any] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)
    links: list[str] = field(default_factory=list)  # NetworkLink hrefs (not followed)

    def add(self, pm: Any, folder_name: str | None, limits: ReadLimits) -> None:
        """Read one placemark into a row, refusing one over the row cap."""
        if len(self.records) >= limits.max_rows:
            raise FileTooLarge(
                f"the KML has more than {limits.max_rows:,} placemarks (the limit)"
            )
        record, geom, problem = _placemark(pm, folder_name, limits, self.columns)
        self.records.append(record)
        self.geometries.append(geom)
        if problem:
            self.errors[len(self.records)] = problem

    def table(self, fmt: str) -> SourceTable:
        """Return the rows read as a table."""
        names = list(self.columns)
        return SourceTable(
            columns=names,
            rows=[[r.get(c) for c in names] for r in self.records],
            row_numbers=list(range(1, len(self.records) + 1)),
            format=fmt,
            geometries=self.geometries,
            header_parts=[(c,) for c in names],
            details={"geometry_errors": self.errors},
        )


def _walk_placemarks(data: bytes, limits: ReadLimits, placemarks: _Placemarks) -> None:
    """Stream the document, reading each outermost placemark with its folder name."""
    # The open elements, root first, and for each the folder name in force inside it (the
    # innermost Folder with a <name>). No recursion: deep nesting cannot exhaust the stack.
    path: list[Any] = []
    folders: list[str | None] = []
    in_placemark = 0
    events = iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=False,
                       forbid_entities=True, forbid_external=True)
    for event, elem in events:
        tag = local_name(elem.tag)
        if event == "start":
            if not path and tag != "kml":
                raise UnsupportedFileType(f"the XML root is <{tag}>, not <kml>")
            path.append(elem)
            folders.append(folders[-1] if folders else None)
            in_placemark += tag == "Placemark"
            continue
        path.pop()
        folders.pop()
        parent = path[-1] if path else None
        if tag == "Placemark":
            in_placemark -= 1
            if in_placemark == 0:  # a placemark nested in another one is not a row
                placemarks.add(elem, folders[-1] if folders else None, limits)
        elif (tag == "name" and parent is not None and not in_placemark
              and local_name(parent.tag) == "Folder"):
            folders[-1] = text_of(elem) or folders[-1]
        elif tag == "href" and any(local_name(e.tag) == "NetworkLink" for e in path):
            placemarks.links.append(text_of(elem))
        if parent is not None and not in_placemark:
            parent.remove(elem)  # read: drop it, so the tree never grows


def read_kml(data: bytes, limits: ReadLimits, *, fmt: str = "kml") -> SourceTable:
    """Read KML placemarks (name, description, ExtendedData) with defusedxml.

    DTD entity declarations (billion laughs) and external entities are refused. Each
    placemark is one row numbered in document order; a placemark whose geometry cannot be
    read keeps its row with geometry None and the problem in ``details["geometry_errors"]``.

    The document is parsed as a stream (``iterparse``): each placemark is read when it ends
    and then dropped from the tree, so memory holds one placemark at a time, and reading
    stops at the first placemark over the row cap.
    """
    placemarks = _Placemarks()
    try:
        _walk_placemarks(data, limits, placemarks)
    except DefusedXmlException as exc:
        raise UploadError(
            "the KML declares XML entities or external references, which are refused "
            f"({xml_refusal(exc)})"
        ) from exc
    except XMLParseError as exc:
        raise UploadError(
            f"the KML is not well-formed XML ({describe_problem(exc)})"
        ) from exc
    if not placemarks.records and placemarks.links:
        # Google My Maps' "Keep data up to date" export: the file only points at the map.
        raise UploadError(
            "the KML holds no placemarks, only a network link to "
            f"{placemarks.links[0][:80]!r} (links are never followed); export the map again "
            "without 'Keep data up to date' / ไฟล์ KML ไม่มีจุด มีเพียงลิงก์ไปยังแผนที่ออนไลน์ "
            "(ระบบไม่เปิดลิงก์): ส่งออกแผนที่ใหม่โดยไม่เลือก 'อัปเดตข้อมูลอยู่เสมอ'"
        )
    return placemarks.table(fmt)


def read_kmz(data: bytes, limits: ReadLimits) -> SourceTable:
    """Read the main KML of a KMZ (``doc.kml`` or the first ``.kml``) after the zip checks."""
    archive = check_zip(data, limits, what="KMZ")
    kmls = [n for n in archive.namelist() if n.lower().endswith(".kml")]
    if not kmls:
        raise UploadError("the KMZ holds no .kml file")
    main = next((n for n in kmls if PurePosixPath(n).name.lower() == "doc.kml"), kmls[0])
    table = read_kml(archive.read(main), limits, fmt="kmz")
    table.details["member"] = main
    return table
