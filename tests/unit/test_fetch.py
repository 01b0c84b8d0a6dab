"""`com geodata fetch` against a local HTTP server serving copies of ../shared/geodata."""

from __future__ import annotations

import hashlib
import re
import shutil
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import geopandas as gpd
import pytest

from com.errors import GeodataError
from com.geodata import fetch_geodata, read_boundaries, read_fetch_manifest

GEODATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "geodata"
FILES = [
    "tha_adm1.geojson",
    "tha_adm2.geojson",
    "tha_adm3.geojson",
    "tha_land_border.geojson",
    "mekong.geojson",
    "border_crossings.csv",
]


class Server:
    """A static file server on 127.0.0.1 (random port) that counts GET requests."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    for name in FILES:
        shutil.copy(GEODATA_DIR / name, root / name)
    srv = Server(root)
    yield srv
    srv.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(path: Path, base: str, entries: list[dict]) -> Path:
    lines = ["[fetch]", f'base_url = "{base}"']
    for e in entries:
        lines.append("[[fetch.files]]")
        lines += [f'{k} = "{v}"' for k, v in e.items() if k != "layers"]
        if "layers" in e:
            lines.append("[fetch.files.layers]")
            lines += [f'{k} = "{v}"' for k, v in e["layers"].items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_fetch_verifies_then_skips_and_the_result_loads(server, tmp_path):
    pinned = [{"name": n, "sha256": sha256(server.root / n)} for n in FILES]
    manifest = write_manifest(server.root / "manifest.toml", server.base, pinned)
    dest = tmp_path / "geodata"

    first = fetch_geodata(dest, manifest=f"{server.base}manifest.toml")  # manifest by URL
    assert [f.status for f in first] == ["downloaded"] * len(FILES)
    assert all(f.pinned for f in first)
    for name in FILES:
        assert (dest / name).read_bytes() == (server.root / name).read_bytes()
    assert leftovers(dest) == []

    served = len(server.requests)
    second = fetch_geodata(dest, manifest=manifest)  # manifest by path
    assert [f.status for f in second] == ["present"] * len(FILES)
    assert len(server.requests) == served  # nothing downloaded again
    assert [f.sha256 for f in second] == [e["sha256"] for e in pinned]

    boundaries = read_boundaries(dest)
    assert len(boundaries.provinces) == 77
    assert len(boundaries.districts) == 928
    assert len(boundaries.subdistricts) == 7425
    assert set(boundaries.context) == {"land_border", "mekong"}


def test_a_file_with_another_hash_is_refused_and_not_kept(server, tmp_path):
    wrong = hashlib.sha256(b"something else").hexdigest()
    manifest = write_manifest(
        tmp_path / "m.toml", server.base, [{"name": "tha_adm1.geojson", "sha256": wrong}]
    )
    dest = tmp_path / "geodata"
    with pytest.raises(GeodataError) as info:
        fetch_geodata(dest, manifest=manifest)
    message = str(info.value)
    assert "tha_adm1.geojson: sha256 mismatch" in message
    assert wrong in message and sha256(server.root / "tha_adm1.geojson") in message
    assert list(dest.iterdir()) == []  # neither the file nor a temporary part


def test_a_stale_local_file_is_replaced(server, tmp_path):
    name = "border_crossings.csv"
    dest = tmp_path / "geodata"
    dest.mkdir()
    (dest / name).write_text("stale", encoding="utf-8")
    manifest = write_manifest(
        tmp_path / "m.toml", server.base, [{"name": name, "sha256": sha256(server.root / name)}]
    )
    (result,) = fetch_geodata(dest, manifest=manifest)
    assert result.status == "replaced"
    assert (dest / name).read_bytes() == (server.root / name).read_bytes()


def test_http_404_is_a_clear_error(server, tmp_path):
    manifest = write_manifest(
        tmp_path / "m.toml", server.base, [{"name": "tha_adm9.geojson", "sha256": "a" * 64}]
    )
    dest = tmp_path / "geodata"
    with pytest.raises(GeodataError) as info:
        fetch_geodata(dest, manifest=manifest)
    assert str(info.value) == (
        f"tha_adm9.geojson: HTTP 404 File not found from {server.base}tha_adm9.geojson"
    )
    assert list(dest.iterdir()) == []


def test_unpinned_entries_are_refused_unless_allowed(server, tmp_path):
    manifest = write_manifest(
        tmp_path / "m.toml", server.base, [{"name": "mekong.geojson", "sha256": ""}]
    )
    dest = tmp_path / "geodata"
    served = len(server.requests)
    with pytest.raises(GeodataError, match="--allow-unpinned"):
        fetch_geodata(dest, manifest=manifest)
    assert len(server.requests) == served  # refused before any download

    (result,) = fetch_geodata(dest, manifest=manifest, allow_unpinned=True)
    assert result.pinned is False
    assert result.sha256 == sha256(server.root / "mekong.geojson")  # printed for pinning


def test_the_packaged_official_entry_is_not_pinned_and_is_refused(tmp_path):
    entries = read_fetch_manifest()
    assert entries and all(e.url.startswith("https://data.humdata.org/") for e in entries)
    # No invented hashes: the official files have not been checked from this machine.
    assert all(e.sha256 == "" for e in entries)
    with pytest.raises(GeodataError, match="no sha256 pinned"):
        fetch_geodata(tmp_path / "geodata")  # refuses before touching the network


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"name": "../evil.geojson", "sha256": ""}, "plain file name"),
        ({"name": "tha_adm1.geojson", "sha256": "abc"}, "64 hex digits"),
        ({"name": "tha_adm1.geojson", "url": "ftp://x/y", "sha256": ""}, "no http(s) URL"),
    ],
)
def test_bad_manifest_entries_are_named(tmp_path, entry, problem):
    manifest = write_manifest(tmp_path / "m.toml", "http://127.0.0.1:9/", [entry])
    with pytest.raises(GeodataError, match=r"file 1 .*" + re.escape(problem)):
        read_fetch_manifest(manifest)


def test_release_archive_is_unpacked_under_the_loader_names(server, tmp_path):
    """An archive shaped like the HDX release (all levels in one zip of Shapefiles)."""
    build = tmp_path / "build"
    build.mkdir()
    members = []
    for level in (1, 2, 3):
        frame = gpd.read_file(GEODATA_DIR / f"tha_adm{level}.geojson")
        frame = frame[frame["ADM1_PCODE"] == "TH32"]
        path = build / f"tha_admbnda_adm{level}_rtsd_20220121.shp"
        frame.to_file(path, driver="ESRI Shapefile", encoding="UTF-8")
        members += sorted(build.glob(f"{path.stem}.*"))
    archive = server.root / "tha_adm_test_shp.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for m in members:
            zf.write(m, f"release/{m.name}")
        zf.writestr("release/tha_admbndl_admALL_rtsd_itos_20220121.txt", "lines, not areas")
    layers = read_fetch_manifest()[0].layers  # the patterns of the packaged manifest
    manifest = write_manifest(
        tmp_path / "m.toml",
        server.base,
        [
            {
                "name": archive.name,
                "sha256": sha256(archive),
                "layers": {k: v[0] for k, v in layers.items()},
            }
        ],
    )
    dest = tmp_path / "geodata"
    (result,) = fetch_geodata(dest, manifest=manifest)
    assert sorted(result.unpacked) == ["tha_adm1.shp.zip", "tha_adm2.shp.zip", "tha_adm3.shp.zip"]
    with zipfile.ZipFile(dest / "tha_adm3.shp.zip") as zf:
        assert {Path(n).suffix for n in zf.namelist()} >= {".shp", ".shx", ".dbf", ".prj"}
    boundaries = read_boundaries(dest)
    assert (len(boundaries.provinces), len(boundaries.districts)) == (1, 17)
    assert len(boundaries.subdistricts) == 159
    assert "ด่าน" in set(boundaries.subdistricts["name_th"])
    # A second fetch neither downloads nor rewrites the unpacked layers.
    (again,) = fetch_geodata(dest, manifest=manifest)
    assert (again.status, again.unpacked) == ("present", [])
