"""The scripts and stylesheets a folium map loads, served by the app instead of CDNs.

folium's ``Map`` names each resource it links (``leaflet``, ``jquery``, ``bootstrap_css``, ...)
and points it at a CDN. The same files are installed from npm into ``node_modules/`` (pinned by
``package-lock.json``, installed by ``./manage``), and :func:`use_local_assets` rewrites a map's
links to the app's own URLs. A name folium adds in a later release and this table lacks fails
loudly instead of falling back to the internet.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import folium

from gis_service.config import PROJECT_ROOT
from gis_service.errors import ServiceUnavailable

#: Where ``npm ci`` installs the packages of package.json.
ASSET_ROOT = PROJECT_ROOT / "node_modules"
#: The URL path the web app serves ASSET_ROOT's allowed folders under.
ASSETS_URL = "/assets/maps"
#: folium's own stylesheet for rotated marker icons is in no package; it is generated here.
ROTATE_CSS = "folium/leaflet.awesome.rotate.css"

# folium's resource name -> file under node_modules (same versions folium 0.20 links).
_FILES = {
    "leaflet": "leaflet/dist/leaflet.js",
    "jquery": "jquery/dist/jquery.min.js",
    "bootstrap": "bootstrap/dist/js/bootstrap.bundle.min.js",
    "awesome_markers": "leaflet.awesome-markers/dist/leaflet.awesome-markers.js",
    "leaflet_css": "leaflet/dist/leaflet.css",
    "bootstrap_css": "bootstrap/dist/css/bootstrap.min.css",
    # Bootstrap 3's glyphicons alone (awesome-markers' "glyphicon" prefix), beside Bootstrap 5.
    "glyphicons_css": "glyphicons-only-bootstrap/css/bootstrap.min.css",
    "awesome_markers_font_css": "@fortawesome/fontawesome-free/css/all.min.css",
    "awesome_markers_css": "leaflet.awesome-markers/dist/leaflet.awesome-markers.css",
    "awesome_rotate_css": ROTATE_CSS,
}

# Folders that may be served: the files above and what their stylesheets load by relative
# URL (Leaflet's control images, the icon fonts). Nothing else in node_modules is reachable.
SERVED_FOLDERS = (
    "leaflet/dist/",
    "jquery/dist/",
    "bootstrap/dist/",
    "glyphicons-only-bootstrap/css/",
    "glyphicons-only-bootstrap/fonts/",
    "@fortawesome/fontawesome-free/css/",
    "@fortawesome/fontawesome-free/webfonts/",
    "leaflet.awesome-markers/dist/",
)


class AssetsMissing(ServiceUnavailable):
    """node_modules/ lacks a file the maps load: run ``npm ci`` (``./manage`` does)."""


def local_links(
    links: list[tuple[str, str]], base_url: str = ASSETS_URL
) -> list[tuple[str, str]]:
    """folium's (name, CDN URL) pairs with each URL replaced by the app's own.

    >>> local_links([("leaflet", "https://cdn.example/leaflet.js")])
    [('leaflet', '/assets/maps/leaflet/dist/leaflet.js')]
    """
    unknown = [name for name, _ in links if name not in _FILES]
    if unknown:
        raise KeyError(f"folium links {', '.join(unknown)}, which gis_service.maps.assets "
                       "does not serve: add it to package.json and to _FILES")
    return [(name, f"{base_url.rstrip('/')}/{_FILES[name]}") for name, _ in links]


def use_local_assets(fmap: folium.Map, base_url: str = ASSETS_URL) -> folium.Map:
    """Point the map's script and stylesheet links at the app (instance attributes: folium's
    class-level lists, shared by every map, stay as they are)."""
    fmap.default_js = local_links(list(folium.Map.default_js), base_url)
    fmap.default_css = local_links(list(folium.Map.default_css), base_url)
    return fmap


def is_servable(relative: str) -> bool:
    """Whether a path below ASSETS_URL names a file the app may serve.

    >>> is_servable("leaflet/dist/leaflet.js"), is_servable("leaflet/package.json")
    (True, False)
    >>> is_servable("leaflet/dist/../../jquery/package.json")
    False
    """
    parts = PurePosixPath(relative).parts
    if ".." in parts or relative.startswith("/"):
        return False
    return relative == ROTATE_CSS or relative.startswith(SERVED_FOLDERS)


def rotate_css() -> str:
    """folium's rotation classes for marker icons (``Icon(angle=...)``): fa-rotate-0..359."""
    return "".join(f".fa-rotate-{angle}{{transform:rotate({angle}deg)}}\n"
                   for angle in range(360))


def missing_files(root: Path = ASSET_ROOT) -> list[str]:
    """The vendored files a map links that are not installed (empty when all are)."""
    return sorted(path for path in _FILES.values()
                  if path != ROTATE_CSS and not (root / path).is_file())


def require_installed(root: Path = ASSET_ROOT) -> None:
    """Raise :class:`AssetsMissing` naming the absent files, if any."""
    missing = missing_files(root)
    if missing:
        raise AssetsMissing(f"map assets are not installed in {root} ({', '.join(missing)}): "
                            "run `npm ci` in the checkout (./manage does it)")
