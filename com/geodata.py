"""Loading Thai administrative boundaries and context layers from HDX COD-AB style files."""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import logging
import os
import re
import shutil
import tempfile
import tomllib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

import geopandas as gpd
import httpx
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from com.db.engine import sql, transaction
from com.errors import GeodataError

log = logging.getLogger(__name__)

BOUNDARY_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp.zip", ".zip", ".shp")


def load_manifest() -> dict[str, Any]:
    """Return the reference-data manifest (``geodata/manifest.toml``)."""
    text = resources.files("geodata").joinpath("manifest.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@dataclass
class Boundaries:
    """Boundary and context layers read from a directory, codes already without prefix."""

    provinces: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    subdistricts: gpd.GeoDataFrame
    context: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    crossings: gpd.GeoDataFrame | None = None
    repaired: int = 0


@dataclass
class LoadReport:
    """What a boundary load found and changed."""

    counts: dict[str, int]
    changed: dict[str, int]
    repaired_geometries: int
    gazetteer: dict[str, list[str]]

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary."""
        return {
            "counts": self.counts,
            "changed": self.changed,
            "repaired_geometries": self.repaired_geometries,
            "gazetteer": self.gazetteer,
        }


def find_layer_file(directory: Path, stem: str) -> Path:
    """Find ``stem`` in ``directory`` as GeoJSON, GeoPackage or (zipped) Shapefile.

    Raises
    ------
    GeodataError
        When no file with a known suffix exists.
    """
    for suffix in BOUNDARY_SUFFIXES:
        candidate = directory / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    # Accept a release suffix after the stem (tha_adm3_2019.gpkg); other HDX names such as
    # tha_admbnda_adm3_rtsd_20220121.shp.zip are renamed by `com geodata fetch`.
    matches = sorted(p for p in directory.glob(f"{stem}*") if p.name.endswith(BOUNDARY_SUFFIXES))
    if matches:
        return matches[0]
    raise GeodataError(
        f"{directory}: no {stem} file (.geojson, .gpkg or zipped .shp) found; "
        "download the boundaries with `com geodata fetch DIR` or name the right directory"
    )


def read_layer(path: Path) -> gpd.GeoDataFrame:
    """Read one vector file into EPSG:4326, with a clear error when it is unreadable."""
    target: str | Path = path
    if path.name.endswith(".zip"):
        try:
            with zipfile.ZipFile(path) as zf:
                shp = [n for n in zf.namelist() if n.lower().endswith(".shp")]
        except zipfile.BadZipFile as exc:
            raise GeodataError(f"{path.name}: not a valid zip file ({exc})") from exc
        if not shp:
            raise GeodataError(f"{path.name}: the zip holds no .shp file")
        target = f"zip://{path}!{shp[0]}"
    try:
        frame = gpd.read_file(target, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several unrelated classes for corrupt files
        raise GeodataError(f"{path.name}: cannot be read as a vector file ({exc})") from exc
    if frame.crs is None:
        frame = frame.set_crs(4326)
    elif frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    return frame


def _strip(code: Any, prefix: str) -> str:
    text = str(code).strip()
    return text[len(prefix) :] if prefix and text.upper().startswith(prefix) else text


def _valid(frame: gpd.GeoDataFrame, name: str) -> tuple[gpd.GeoDataFrame, int]:
    """Repair invalid geometries with make_valid; refuse empty or missing ones."""
    if frame.geometry.isna().any() or frame.geometry.is_empty.any():
        bad = int((frame.geometry.isna() | frame.geometry.is_empty).sum())
        raise GeodataError(f"{name}: {bad} features have no geometry")
    invalid = ~frame.geometry.is_valid
    repaired = int(invalid.sum())
    if repaired:
        fixed = shapely.make_valid(frame.geometry[invalid].values)
        # make_valid may return a collection; keep only the polygonal part for areas.
        frame.loc[invalid, frame.geometry.name] = [
            shapely.union_all(
                [g for g in getattr(f, "geoms", [f]) if g.geom_type.endswith("Polygon")]
            )
            if f.geom_type == "GeometryCollection"
            else f
            for f in fixed
        ]
    return frame, repaired


def _admin_level(directory: Path, spec: dict[str, Any], prefix: str) -> gpd.GeoDataFrame:
    path = find_layer_file(directory, spec["stem"])
    frame = read_layer(path)
    wanted = [spec[k] for k in ("code", "name_th", "name_en", "parent", "province") if k in spec]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise GeodataError(
            f"{path.name}: missing field(s) {', '.join(missing)}; "
            f"found {', '.join(c for c in frame.columns if c != 'geometry')}"
        )
    out = gpd.GeoDataFrame(
        {
            "code": [_strip(c, prefix) for c in frame[spec["code"]]],
            "name_th": frame[spec["name_th"]].astype(str).str.strip(),
            "name_en": frame[spec["name_en"]].astype(str).str.strip(),
        },
        geometry=frame.geometry.values,
        crs=4326,
    )
    if "parent" in spec:
        out["parent_code"] = [_strip(c, prefix) for c in frame[spec["parent"]]]
    if "province" in spec:
        out["province_code"] = [_strip(c, prefix) for c in frame[spec["province"]]]
    dupes = out["code"][out["code"].duplicated()].unique().tolist()
    if dupes:
        raise GeodataError(f"{path.name}: duplicate codes {', '.join(dupes[:10])}")
    if not out.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise GeodataError(f"{path.name}: boundaries must be polygons")
    return out


def read_boundaries(directory: Path | str) -> Boundaries:
    """Read and validate all reference layers from ``directory``.

    Parameters
    ----------
    directory
        Folder holding ``tha_adm1/2/3`` (GeoJSON, GeoPackage or zipped Shapefile), and
        optionally ``tha_land_border``, ``mekong`` and ``border_crossings.csv``.

    Returns
    -------
    Boundaries
        The layers with DOPA codes (the "TH" prefix removed).

    Raises
    ------
    GeodataError
        When a file is missing, unreadable, lacks a field, or holds bad geometries.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise GeodataError(f"boundary directory {directory} does not exist")
    manifest = load_manifest()
    prefix = manifest["codes"]["strip_prefix"]
    repaired = 0
    levels = {}
    for level, spec in manifest["levels"].items():
        frame = _admin_level(directory, spec, prefix)
        frame, fixed = _valid(frame, spec["stem"])
        repaired += fixed
        levels[level] = frame
    subdistricts = levels["subdistrict"]
    if "province_code" not in subdistricts:
        subdistricts["province_code"] = subdistricts["code"].str[:2]
    for child, parent in (("district", "province"), ("subdistrict", "district")):
        orphans = set(levels[child]["parent_code"]) - set(levels[parent]["code"])
        if orphans:
            raise GeodataError(
                f"{child} features refer to unknown {parent} codes {sorted(orphans)[:10]}"
            )
    context: dict[str, gpd.GeoDataFrame] = {}
    for layer, spec in manifest["context"].items():
        try:
            path = find_layer_file(directory, spec["stem"])
        except GeodataError:
            log.warning("context layer %s not found in %s", layer, directory)
            continue
        frame = read_layer(path)
        frame, fixed = _valid(frame, spec["stem"])
        repaired += fixed
        keys = frame[spec["key"]].astype(str) if spec["key"] in frame else frame.index.astype(str)
        context[layer] = gpd.GeoDataFrame(
            {
                "feature_key": keys.values,
                "name": frame[spec["name"]].astype(str).values if spec["name"] in frame else keys,
                "properties": frame.drop(columns=frame.geometry.name).to_dict("records"),
            },
            geometry=frame.geometry.values,
            crs=4326,
        )
    crossings = read_crossings(directory / manifest["crossings"]["file"])
    return Boundaries(
        provinces=levels["province"],
        districts=levels["district"],
        subdistricts=subdistricts,
        context=context,
        crossings=crossings,
        repaired=repaired,
    )


def read_crossings(path: Path) -> gpd.GeoDataFrame | None:
    """Read ``border_crossings.csv`` (name_th, name_en, kind, neighbour, lat, lon, ...)."""
    if not path.is_file():
        return None
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        frame = pd.DataFrame(rows)
        lat = pd.to_numeric(frame["lat"], errors="raise")
        lon = pd.to_numeric(frame["lon"], errors="raise")
    except (KeyError, ValueError) as exc:
        raise GeodataError(f"{path.name}: needs numeric lat and lon columns ({exc})") from exc
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs=4326)


def _wkb(frame: gpd.GeoDataFrame) -> list[str]:
    return [shapely.to_wkb(g, hex=True) for g in frame.geometry.values]


def store_boundaries(conn: Connection, boundaries: Boundaries) -> dict[str, int]:
    """Upsert boundaries and context layers; return how many rows changed per table.

    Rows are only rewritten when a name or the geometry differs, so a second load of the
    same files changes nothing.
    """
    changed: dict[str, int] = {}
    levels = (
        ("provinces", boundaries.provinces, None),
        ("districts", boundaries.districts, "parent_code"),
        ("subdistricts", boundaries.subdistricts, "parent_code"),
    )
    for table, frame, parent in levels:
        rows = [
            {
                "code": r.code,
                "name_th": r.name_th,
                "name_en": r.name_en,
                "parent": getattr(r, parent) if parent else None,
                "province": (
                    getattr(r, "province_code", None)
                    or (getattr(r, parent) if parent and table == "districts" else r.code[:2])
                ),
                "wkb": wkb,
            }
            for r, wkb in zip(frame.itertuples(index=False), _wkb(frame), strict=True)
        ]
        result = conn.execute(sql(f"upsert_{table}"), rows)
        changed[table] = max(result.rowcount, 0)
    # The subdistrict upsert drops the parts of every new or changed subdistrict, so those
    # without parts are exactly the ones that changed (the upsert's own rowcount counts the
    # deleted parts). Rebuild their pieces: ST_Subdivide keeps point-in-polygon joins fast.
    changed["subdistricts"] = conn.execute(
        sa.text(
            "SELECT count(*) FROM subdistricts s WHERE NOT EXISTS "
            "(SELECT 1 FROM subdistrict_parts p WHERE p.subdistrict_code = s.code)"
        )
    ).scalar_one()
    result = conn.execute(sql("rebuild_subdistrict_parts"))
    changed["subdistrict_parts"] = max(result.rowcount, 0)
    for layer, frame in boundaries.context.items():
        rows = [
            {
                "layer": layer,
                "key": r.feature_key,
                "name": r.name,
                "props": pd.Series(r.properties).to_json(force_ascii=False),
                "wkb": wkb,
            }
            for r, wkb in zip(frame.itertuples(index=False), _wkb(frame), strict=True)
        ]
        result = conn.execute(sql("upsert_context_layer"), rows)
        changed[f"context:{layer}"] = max(result.rowcount, 0)
    if boundaries.crossings is not None and len(boundaries.crossings):
        frame = boundaries.crossings
        extra = [c for c in frame.columns if c not in ("geometry", "lat", "lon")]
        rows = [
            {
                "name_en": r["name_en"],
                "name_th": r.get("name_th"),
                "kind": r.get("kind"),
                "country": r.get("neighbour"),
                "props": pd.Series({k: r.get(k) for k in extra}).to_json(force_ascii=False),
                "wkb": wkb,
            }
            for r, wkb in zip(frame.to_dict("records"), _wkb(frame), strict=True)
        ]
        result = conn.execute(sql("upsert_border_crossing"), rows)
        changed["border_crossings"] = max(result.rowcount, 0)
    return changed


def compare_with_gazetteer(codes: set[str]) -> dict[str, list[str]]:
    """Compare subdistrict codes with the ``geothai`` gazetteer.

    Returns
    -------
    dict
        ``only_in_gazetteer`` (codes geothai knows and the boundaries lack) and
        ``only_in_boundaries`` (the other way round).
    """
    import geothai

    known = {
        s.code
        for p in geothai.provinces()
        for d in geothai.districts(p.code)
        for s in geothai.subdistricts(d.code)
    }
    return {
        "only_in_gazetteer": sorted(known - codes),
        "only_in_boundaries": sorted(codes - known),
    }


def boundary_counts(conn: Connection) -> dict[str, int]:
    """Return the number of rows of each reference table."""
    return dict(conn.execute(sql("geodata_counts")).mappings().one())


def load_geodata(engine: Engine, directory: Path | str) -> LoadReport:
    """Read, validate and upsert all reference data from ``directory`` in one transaction.

    Parameters
    ----------
    engine
        Engine of a database migrated with ``com db upgrade``.
    directory
        The boundary directory (``COM_GEODATA_DIR`` or the CLI argument).

    Returns
    -------
    LoadReport
        Counts after the load, rows changed, repaired geometries and the gazetteer comparison.

    Raises
    ------
    GeodataError
        When any file is missing or invalid; nothing is written then.
    """
    boundaries = read_boundaries(directory)
    with transaction(engine) as conn:
        changed = store_boundaries(conn, boundaries)
        counts = boundary_counts(conn)
    # Fresh statistics let the planner use the GiST indexes in the joins of later uploads
    # (without them it chose nested loops that took minutes). ANALYZE cannot run inside the
    # load's transaction block on every server version, so it runs after the commit.
    with transaction(engine) as conn:
        for table in ("provinces", "districts", "subdistricts", "subdistrict_parts",
                      "context_layers", "border_crossings"):
            conn.execute(sa.text(f"ANALYZE {table}"))  # fixed names, no user input
    gazetteer = compare_with_gazetteer(set(boundaries.subdistricts["code"]))
    for key, codes in gazetteer.items():
        if codes:
            log.info("%s: %d subdistrict codes (%s)", key, len(codes), ", ".join(codes[:10]))
    return LoadReport(
        counts=counts, changed=changed, repaired_geometries=boundaries.repaired, gazetteer=gazetteer
    )


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def where(conn: Connection, *, lat: float, lon: float, max_distance_m: float = 1000.0) -> dict:
    """Reverse-geocode a point to its subdistrict, district and province.

    A point inside a subdistrict gets it by ST_Contains; a point just outside the simplified
    boundaries (on a river bank, say) gets the nearest subdistrict within ``max_distance_m``.

    Returns
    -------
    dict
        Codes, Thai and English names, ``match`` ("inside", "nearest" or "none") and
        ``distance_m``.
    """
    row = (
        conn.execute(sql("reverse_geocode"), {"lat": lat, "lon": lon, "max_m": max_distance_m})
        .mappings()
        .first()
    )
    if row is None:
        return {"lat": lat, "lon": lon, "match": "none"}
    return {"lat": lat, "lon": lon, **dict(row)}


def assign_subdistricts(conn: Connection) -> int:
    """Set subdistrict, district and province codes of risk points that lack them.

    Uses the same rule as :func:`where`: containing subdistrict, else the nearest within 1 km.
    Returns the number of points updated.
    """
    return conn.execute(sql("assign_subdistricts")).rowcount


# --- downloading the official release --------------------------------------------------------

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class FetchedFile:
    """The outcome of fetching one manifest entry."""

    name: str
    url: str
    sha256: str
    pinned: bool
    status: str  # downloaded | replaced | present
    size_bytes: int
    unpacked: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary."""
        return {
            "name": self.name,
            "url": self.url,
            "sha256": self.sha256,
            "pinned": self.pinned,
            "status": self.status,
            "size_bytes": self.size_bytes,
            "unpacked": self.unpacked,
        }


@dataclass
class FetchEntry:
    """One file of the ``[fetch]`` section: where it comes from and its pinned hash."""

    name: str
    url: str
    sha256: str  # "" = not yet pinned
    layers: dict[str, list[str]] = field(default_factory=dict)


def read_fetch_manifest(
    source: str | Path | None = None, *, timeout_s: float = 60.0
) -> list[FetchEntry]:
    """Read the ``[fetch]`` section of a manifest into entries.

    Parameters
    ----------
    source
        A TOML file, an http(s) URL of one, or None for the packaged ``geodata/manifest.toml``.
    timeout_s
        Timeout of the request when ``source`` is a URL.

    Returns
    -------
    list of FetchEntry
        With URLs resolved against ``base_url``.

    Raises
    ------
    GeodataError
        When the manifest cannot be read or an entry lacks a name, a URL or a valid sha256.
    """
    where_from = str(source) if source is not None else "geodata/manifest.toml"
    try:
        if source is None:
            manifest = load_manifest()
        elif str(source).startswith(("http://", "https://")):
            response = httpx.get(str(source), timeout=timeout_s, follow_redirects=True)
            response.raise_for_status()
            manifest = tomllib.loads(response.text)
        else:
            manifest = tomllib.loads(Path(source).read_text(encoding="utf-8"))
    except httpx.HTTPError as exc:
        raise GeodataError(f"manifest {where_from}: cannot download ({exc})") from exc
    except OSError as exc:
        raise GeodataError(f"manifest {where_from}: cannot read ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise GeodataError(f"manifest {where_from}: not valid TOML ({exc})") from exc
    fetch = manifest.get("fetch")
    if not isinstance(fetch, dict) or not fetch.get("files"):
        raise GeodataError(f"manifest {where_from}: no [[fetch.files]] entries")
    base_url = str(fetch.get("base_url", ""))
    entries = []
    for number, item in enumerate(fetch["files"], start=1):
        name = str(item.get("name", ""))
        label = f"manifest {where_from}, file {number} ({name or 'no name'})"
        # A plain file name: the manifest may come from a URL, so never let it pick a path.
        if not name or name != Path(name).name or name.startswith("."):
            raise GeodataError(f"{label}: `name` must be a plain file name")
        url = urljoin(base_url, str(item.get("url") or quote(name)))
        if not url.startswith(("http://", "https://")):
            raise GeodataError(f"{label}: no http(s) URL (set `url` or [fetch] base_url)")
        sha256 = item.get("sha256")
        if not isinstance(sha256, str) or not (sha256 == "" or SHA256_RE.match(sha256.lower())):
            raise GeodataError(
                f'{label}: sha256 must be 64 hex digits, or "" for a file not yet pinned'
            )
        layers = {
            str(stem): [patterns] if isinstance(patterns, str) else [str(p) for p in patterns]
            for stem, patterns in dict(item.get("layers", {})).items()
        }
        entries.append(FetchEntry(name=name, url=url, sha256=sha256.lower(), layers=layers))
    return entries


def _download(client: httpx.Client, entry: FetchEntry, target: Path) -> str:
    """Stream ``entry`` to a temporary file beside ``target``; verify; rename. Return the hash."""
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            try:
                with client.stream("GET", entry.url) as response:
                    response.raise_for_status()
                    for chunk in response.iter_bytes(1 << 20):
                        digest.update(chunk)
                        fh.write(chunk)
            except httpx.HTTPStatusError as exc:
                status = exc.response.status_code
                raise GeodataError(
                    f"{entry.name}: HTTP {status} {exc.response.reason_phrase} from {entry.url}"
                ) from exc
            except httpx.HTTPError as exc:
                raise GeodataError(f"{entry.name}: cannot download {entry.url} ({exc})") from exc
            fh.flush()
            os.fsync(fh.fileno())
        actual = digest.hexdigest()
        if entry.sha256 and actual != entry.sha256:
            raise GeodataError(
                f"{entry.name}: sha256 mismatch: the manifest pins {entry.sha256} but "
                f"{entry.url} sent {actual}; the file was not kept"
            )
        os.replace(tmp, target)
        return actual
    finally:
        tmp.unlink(missing_ok=True)


def _write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def unpack_layers(archive: Path, layers: dict[str, list[str]], *, force: bool = False) -> list[str]:
    """Copy the layers the loader needs out of a release archive, under the loader's names.

    The official COD-AB archive holds every level in one zip (``tha_admbnda_adm3_rtsd_....shp``
    and its sidecar files); the loader reads one file per level. A Shapefile member becomes
    ``<stem>.shp.zip`` (with its .dbf, .shx, .prj, .cpg), any other member ``<stem><suffix>``.

    Parameters
    ----------
    archive
        The downloaded zip.
    layers
        Loader stem (``tha_adm3``) -> glob patterns matched against member file names.
    force
        Rewrite outputs that already exist.

    Returns
    -------
    list of str
        Names of the files written.

    Raises
    ------
    GeodataError
        When the archive is not a zip, or a pattern matches no member or several.
    """
    written: list[str] = []
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise GeodataError(f"{archive.name}: not a valid zip file ({exc})") from exc
    with zf:
        members = [m for m in zf.namelist() if not m.endswith("/")]
        for stem, patterns in layers.items():
            hits = sorted(
                {m for m in members for p in patterns if fnmatch.fnmatch(Path(m).name, p)}
            )
            if len(hits) != 1:
                found = ", ".join(hits) if hits else "nothing"
                raise GeodataError(
                    f"{archive.name}: layer {stem} ({' or '.join(patterns)}) matched {found}; "
                    "adjust [fetch.files.layers] in the manifest"
                )
            member = hits[0]
            if member.lower().endswith(".shp"):
                # The .shp with its sidecars (.dbf, .shx, .prj, .cpg), re-zipped on its own.
                base = member[: -len(".shp")]
                parts = [m for m in members if m.rsplit(".", 1)[0] == base]
                target = archive.parent / f"{stem}.shp.zip"
            else:
                parts = [member]
                target = archive.parent / f"{stem}{''.join(Path(member).suffixes)}"
            if target.exists() and not force:
                continue
            _write_atomically(target, partial(_copy_members, zf, parts, target))
            written.append(target.name)
    return written


def _copy_members(zf: zipfile.ZipFile, members: list[str], target: Path, tmp: Path) -> None:
    """Write one member to ``tmp`` as is, or several into a new zip (``target`` ends in .zip)."""
    if target.name.endswith(".zip"):
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
            for m in members:
                with zf.open(m) as src, out.open(Path(m).name, "w") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    else:
        with zf.open(members[0]) as src, tmp.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)


def fetch_geodata(
    directory: Path | str,
    *,
    manifest: str | Path | None = None,
    allow_unpinned: bool = False,
    timeout_s: float = 60.0,
) -> list[FetchedFile]:
    """Download the reference files of a manifest into ``directory``, verifying each sha256.

    Files already present with the pinned hash are skipped, so a second fetch downloads
    nothing. Downloads stream to a temporary file that is renamed only once its hash is
    right: an interrupted or wrong download never leaves a file the loader would read.

    Parameters
    ----------
    directory
        Where to put the files (created if needed); then ``com geodata load DIR``.
    manifest
        A manifest file or URL (default: the packaged ``geodata/manifest.toml``).
    allow_unpinned
        Download entries whose ``sha256`` is ``""`` (not yet pinned) and report their hash so
        an operator can pin it; without it such entries are refused before any download.
    timeout_s
        Network timeout per request, in seconds.

    Returns
    -------
    list of FetchedFile
        One per manifest entry, with its computed sha256 and status.

    Raises
    ------
    GeodataError
        On an unpinned entry (without ``allow_unpinned``), an HTTP or network error, or a
        hash mismatch.
    """
    entries = read_fetch_manifest(manifest, timeout_s=timeout_s)
    unpinned = [e.name for e in entries if not e.sha256]
    if unpinned and not allow_unpinned:
        raise GeodataError(
            f'{", ".join(unpinned)}: no sha256 pinned in the manifest (sha256 = ""); '
            "pass --allow-unpinned to download anyway and print the hash to pin"
        )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    results = []
    with httpx.Client(timeout=timeout_s, follow_redirects=True) as client:
        for entry in entries:
            target = directory / entry.name
            status = "downloaded"
            if target.is_file():
                present = file_sha256(target)
                if not entry.sha256 or present == entry.sha256:
                    status = "present"
                    digest = present
                else:
                    log.warning("%s: present with another hash; downloading again", entry.name)
                    status = "replaced"
            if status != "present":
                digest = _download(client, entry, target)
            if not entry.sha256:
                log.warning("%s is not pinned; its sha256 is %s", entry.name, digest)
            unpacked = (
                unpack_layers(target, entry.layers, force=status != "present")
                if entry.layers
                else []
            )
            results.append(
                FetchedFile(
                    name=entry.name,
                    url=entry.url,
                    sha256=digest,
                    pinned=bool(entry.sha256),
                    status=status,
                    size_bytes=target.stat().st_size,
                    unpacked=unpacked,
                )
            )
    return results
