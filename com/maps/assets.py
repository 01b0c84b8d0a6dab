"""Local copies of Leaflet and its plugins: where they are on disk and the URLs the app serves.

folium points every map and plugin at CDNs (jsDelivr, cdnjs, unpkg). An operations room may have
no internet, and the brief forbids CDNs, so :func:`localise` rewrites each asset a map needs to a
URL of the app, which serves it from ``node_modules`` (installed by ``npm ci`` in
``scripts/setup.sh``, never committed). An asset without a local copy is an error, never a
silent CDN fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from com.errors import ConfigError

if TYPE_CHECKING:  # folium and branca are imported by the maps that use them (30 MB at start)
    import folium
    from branca.element import Element

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO_ROOT / "node_modules"

#: URL prefix under which the app serves the packages below.
VENDOR_PREFIX = "/assets/vendor"

#: Served package name -> directory inside node_modules. Whole directories, because the CSS
#: files refer to their images relatively (leaflet/dist/images, leaflet-search/images, ...).
PACKAGES: dict[str, str] = {
    "leaflet": "leaflet/dist",
    "leaflet.markercluster": "leaflet.markercluster/dist",
    "leaflet.heat": "leaflet.heat/dist",
    "leaflet.fullscreen": "leaflet.fullscreen",
    "leaflet-measure": "leaflet-measure/dist",
    "leaflet-search": "leaflet-search",
}


@dataclass(frozen=True)
class Asset:
    """One JS or CSS file: its served package and path inside that package's directory."""

    package: str
    path: str

    def url(self, prefix: str = VENDOR_PREFIX) -> str:
        """Return the URL the app serves this file at."""
        return f"{prefix}/{self.package}/{self.path}"

    def file(self, node_modules: Path = NODE_MODULES) -> Path:
        """Return the file on disk."""
        return node_modules / PACKAGES[self.package] / self.path


#: folium's asset names (the first item of each ``default_js``/``default_css`` pair) -> local
#: file. Names missing here make :func:`localise` fail loudly. jQuery, Bootstrap and the
#: awesome-markers/Font Awesome files are deliberately absent: COM's maps use none of them
#: (no ``folium.Popup`` with HTML, no ``folium.Icon``), see :data:`DROPPED`.
LOCAL: dict[str, Asset] = {
    "leaflet": Asset("leaflet", "leaflet.js"),
    "leaflet_css": Asset("leaflet", "leaflet.css"),
    "markerclusterjs": Asset("leaflet.markercluster", "leaflet.markercluster.js"),
    "markerclustercss": Asset("leaflet.markercluster", "MarkerCluster.css"),
    "markerclusterdefaultcss": Asset("leaflet.markercluster", "MarkerCluster.Default.css"),
    "leaflet-heat.js": Asset("leaflet.heat", "leaflet-heat.js"),
    "Control.Fullscreen.js": Asset("leaflet.fullscreen", "Control.FullScreen.js"),
    "Control.FullScreen.css": Asset("leaflet.fullscreen", "Control.FullScreen.css"),
    "leaflet_measure_js": Asset("leaflet-measure", "leaflet-measure.js"),
    "leaflet_measure_css": Asset("leaflet-measure", "leaflet-measure.css"),
    "Leaflet.Search.js": Asset("leaflet-search", "dist/leaflet-search.min.js"),
    "Leaflet.Search.css": Asset("leaflet-search", "dist/leaflet-search.min.css"),
}

#: folium defaults that COM's pages do not need and therefore never load.
DROPPED = frozenset(
    {
        "jquery",
        "bootstrap",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers",
        "awesome_markers_css",
        "awesome_markers_font_css",
        "awesome_rotate_css",
    }
)


def missing_files(node_modules: Path = NODE_MODULES) -> list[Path]:
    """Return the local asset files that are not on disk (empty after ``npm ci``)."""
    return [a.file(node_modules) for a in LOCAL.values() if not a.file(node_modules).is_file()]


def _local_pairs(pairs: list[tuple[str, str]], prefix: str, owner: str) -> list[tuple[str, str]]:
    out = []
    for name, _url in pairs:
        if name in DROPPED:
            continue
        if name not in LOCAL:
            raise ConfigError(
                f"{owner} needs the web asset {name!r}, which COM has no local copy of: add it "
                "to package.json and com/maps/assets.py LOCAL"
            )
        out.append((name, LOCAL[name].url(prefix)))
    return out


def localise(m: folium.Map, *, prefix: str = VENDOR_PREFIX) -> folium.Map:
    """Point every JS and CSS file of ``m`` and its children at the app's local copies.

    Sets ``default_js``/``default_css`` on each element instance (the class attributes keep
    folium's CDN URLs, so other users of folium are untouched).

    Parameters
    ----------
    m
        A map with all its layers and controls added.
    prefix
        URL prefix of the served packages.

    Returns
    -------
    folium.Map
        ``m``, for chaining.

    Raises
    ------
    ConfigError
        When an element needs an asset with no local copy.
    """
    stack: list[Element] = [m]
    while stack:
        element = stack.pop()
        for attr in ("default_js", "default_css"):
            pairs = getattr(element, attr, None)
            if pairs:
                setattr(element, attr, _local_pairs(list(pairs), prefix, type(element).__name__))
        stack.extend(element._children.values())
    return m


def external_urls(html: str) -> list[str]:
    """Return the ``http(s)://`` script/link/img URLs in rendered HTML (for checks and tests)."""
    import re

    return re.findall(r"""(?:src|href)\s*=\s*["'](https?://[^"']+)""", html)


def render_parts(m: folium.Map) -> dict[str, str]:
    """Render ``m`` into the three parts a page template embeds: header, html and script."""
    from branca.element import Figure

    figure = m.get_root()
    if not isinstance(figure, Figure):  # pragma: no cover - folium always gives a Figure
        raise ConfigError("folium map has no Figure root")
    figure.render()
    return {
        "header": figure.header.render(),
        "html": figure.html.render(),
        "script": figure.script.render(),
    }
