"""GeoJSON: counted before GDAL reads it, then read through pyogrio (:mod:`ogr`).

GDAL holds several hundred bytes per coordinate of the feature it is reading, so features and
coordinates are counted first and a geometry over the vertex cap is set aside as its row's
rejection.
"""

from __future__ import annotations

import itertools
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from com.ingest.readers.ogr import read_ogr
from com.ingest.readers.problems import FileTooLarge
from com.ingest.readers.table import ReadLimits, SourceTable

__all__ = ["read_geojson"]

# Possessive quantifiers (Python 3.11): no backtracking, the scan stays linear and quick.
_JSON_STRING = rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"'
_JSON_FLAT = rb'\{(?:[^{}\[\]"]++|' + _JSON_STRING + rb")*+\}"  # an object of scalars only
#: A feature's type member: counts features cheaply (an upper bound, checked exactly when over).
_FEATURE_TYPE = re.compile(rb'"type"\s*:\s*"Feature"')
#: Tokens of a GeoJSON text for the pre-check: a key (with its value when that is a scalar
#: or a flat object), a flat object, a string, a position (an array of numbers only) or a
#: bracket. Whole keys and values as single tokens keep the Python loop short.
_GEOJSON_TOKEN = re.compile(
    rb'"(?P<key>[^"\\]*+(?:\\.[^"\\]*+)*+)"\s*+:\s*+(?P<value>' + _JSON_STRING + rb"|"
    + _JSON_FLAT + rb"|[-+.0-9eE]++|true|false|null)?"
    + rb"|(?P<flat>" + _JSON_FLAT + rb")|" + _JSON_STRING
    + rb"|(?P<pos>\[\s*+[-+.0-9][^\[\]{}\"]*+\])"
    + rb"|(?P<open>[\[{])|(?P<close>[\]}])"
)


def _too_many_features(limits: ReadLimits) -> str:
    return (f"the GeoJSON has more than {limits.max_rows:,} features (the limit); "
            "split it into smaller files")


def _scan_geojson(data: bytes, limits: ReadLimits) -> tuple[bytes, dict[int, str]]:
    """Count features and coordinates before GDAL reads the file; set aside huge geometries.

    GDAL holds several hundred bytes per coordinate of the feature it is reading (its JSON
    object tree) and parses the file more than once, so a 50 MB GeoJSON of one enormous
    polygon could take gigabytes. Byte counts bound the work first (every coordinate opens
    a ``[``, every feature says ``"type": "Feature"``); only a file above those bounds is tokenised
    (strings skipped, so brackets in text do not count) to count exactly, stopping at the
    first feature or coordinate over a cap. Hand-written: no JSON library both streams and
    reports byte offsets, which are needed to set a geometry aside.

    Returns
    -------
    tuple
        The bytes for GDAL (a geometry of more than ``max_vertices`` coordinates replaced
        by ``null``) and the reasons of the rows whose geometry was set aside.

    Raises
    ------
    FileTooLarge
        More features than ``max_rows`` or more coordinates than ``max_file_vertices``.
    """
    if _within_byte_bounds(data, limits):
        return data, {}
    scan = _count_tokens(data, limits)
    if (not scan.spans and scan.total > limits.max_vertices and scan.features == 0
            and not scan.problems):
        raise FileTooLarge(
            f"the GeoJSON geometry has {scan.total:,} vertices; at most {limits.max_vertices:,} "
            "accepted"
        )
    if not scan.spans:
        return data, scan.problems
    return _null_spans(data, scan.spans), scan.problems


def _within_byte_bounds(data: bytes, limits: ReadLimits) -> bool:
    """Whether byte counts alone keep the file under the caps (no tokenising needed).

    Every coordinate opens a ``[`` and every feature says ``"type": "Feature"``.
    """
    typed = sum(1 for _ in itertools.islice(_FEATURE_TYPE.finditer(data), limits.max_rows + 1))
    return typed <= limits.max_rows and data.count(b"[") <= limits.max_vertices


@dataclass
class _Scan:
    """What tokenising found: coordinates and features counted, geometries to set aside."""

    total: int
    features: int
    spans: list[tuple[int, int]]
    problems: dict[int, str]


def _count_tokens(data: bytes, limits: ReadLimits) -> _Scan:
    """Count coordinates and features exactly, stopping at the first over a cap.

    A geometry of more than ``max_vertices`` coordinates is noted by its byte span and its
    row's reason. One loop with local counters: it runs once per coordinate.
    """
    stack: list[tuple[bytes, bytes | None]] = []  # open brackets and the key they follow
    key: bytes | None = None
    total = features = 0
    feature_depth = geometry_depth = 0
    geometry_start = geometry_vertices = 0
    spans: list[tuple[int, int]] = []
    problems: dict[int, str] = {}
    for m in _GEOJSON_TOKEN.finditer(data):
        kind = m.lastgroup
        if kind == "pos":
            total += 1
            geometry_vertices += 1
            if total > limits.max_file_vertices:
                raise FileTooLarge(
                    f"the GeoJSON holds more than {limits.max_file_vertices:,} coordinates "
                    "(the limit for one file); split it or simplify the geometries"
                )
        elif kind == "key":
            key = m.group("key")
            continue
        elif kind == "flat" and len(stack) == 2 and stack[1] == (b"[", b"features"):
            features += 1  # a feature without geometry or properties objects
            if features > limits.max_rows:
                raise FileTooLarge(_too_many_features(limits))
        elif kind == "open":
            bracket = m.group("open")
            depth = len(stack)
            if (bracket == b"{" and depth == 2 and stack[1] == (b"[", b"features")
                    and stack[0][0] == b"{"):
                features += 1
                if features > limits.max_rows:
                    raise FileTooLarge(_too_many_features(limits))
                feature_depth = depth + 1
            elif bracket == b"{" and depth == 0:
                feature_depth = 1  # a bare Feature: the whole file is its one row
            if (bracket == b"{" and key == b"geometry" and depth == feature_depth
                    and not geometry_depth):
                geometry_depth, geometry_start, geometry_vertices = depth + 1, m.start(), 0
            stack.append((bracket, key))
        elif kind == "close" and stack:
            stack.pop()
            if geometry_depth and len(stack) == geometry_depth - 1:
                if geometry_vertices > limits.max_vertices:
                    spans.append((geometry_start, m.end()))
                    problems[max(features, 1)] = (
                        f"geometry has {geometry_vertices:,} vertices; at most "
                        f"{limits.max_vertices:,} accepted"
                    )
                geometry_depth = 0
        key = None
    return _Scan(total, features, spans, problems)


def _null_spans(data: bytes, spans: list[tuple[int, int]]) -> bytes:
    """Replace each byte span (a geometry object) by ``null``."""
    pieces, last = [], 0
    for start, end in spans:
        pieces += [data[last:start], b"null"]
        last = end
    pieces.append(data[last:])
    return b"".join(pieces)


def read_geojson(data: bytes, limits: ReadLimits, *, layer: str | None = None) -> SourceTable:
    """Read GeoJSON through pyogrio (a declared "crs" is honoured and converted to WGS 84).

    Counted first (:func:`_scan_geojson`): too many features or coordinates are refused
    before GDAL parses anything, and a geometry over the vertex cap is set aside as its
    row's rejection.
    """
    data, problems = _scan_geojson(data, limits)
    with tempfile.TemporaryDirectory(prefix="com-geojson-") as tmp:
        path = Path(tmp) / "upload.geojson"
        path.write_bytes(data)
        del data
        return read_ogr(str(path), limits, fmt="geojson", layer=layer,
                        geometry_errors=problems)
