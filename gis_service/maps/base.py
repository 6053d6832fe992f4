"""The map every page starts from: local assets, optional tiles, a plain background, a title."""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import urlsplit

import folium
import geopandas as gpd
from branca.element import Element, Figure

from gis_service.config import Settings
from gis_service.maps.assets import ASSETS_URL, use_local_assets

# Huế's province, for a map with nothing on it yet (west, south, east, north).
HUE_BOUNDS = (107.0, 15.98, 108.22, 16.75)
# Without tiles the map sits on this colour (a pale land tone; water is not drawn).
PLAIN_BACKGROUND = "#eef0ea"
# No favicon request (it would 404), then the pages' own styles.
_PAGE_HEAD = f"""<link rel="icon" href="data:,">
<style>
.folium-map.leaflet-container {{ background: {PLAIN_BACKGROUND};
  font: 13px/1.4 system-ui, sans-serif; }}
.gis-box {{ background: rgba(255,255,255,.94); padding: 8px 10px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,.3); max-width: 320px; }}
.gis-box h1 {{ font-size: 15px; font-weight: 600; margin: 0 0 4px; }}
.gis-box p {{ margin: 2px 0; }}
.gis-legend i {{ display: inline-block; width: 14px; height: 14px; margin-right: 6px;
  vertical-align: -2px; border: 1px solid #888; }}
.gis-legend div {{ white-space: nowrap; }}
.gis-form label {{ display: inline-block; margin: 2px 6px 2px 0; }}
.gis-form input, .gis-form select {{ font: inherit; max-width: 9em; }}
</style>"""


@dataclass(frozen=True)
class MapOptions:
    """How pages draw their base: tiles (optional) and where the app serves the scripts."""

    #: A {z}/{x}/{y} tile URL; empty draws no base map at all (works offline).
    tiles_url: str = ""
    tiles_attribution: str = ""
    #: URL prefix of the vendored scripts and stylesheets (see gis_service.maps.assets).
    assets_url: str = ASSETS_URL

    @classmethod
    def from_settings(cls, settings: Settings, *, assets_url: str = ASSETS_URL) -> MapOptions:
        return cls(settings.tiles_url, settings.tiles_attribution, assets_url)


def base_map(title: str, bounds: tuple[float, float, float, float] = HUE_BOUNDS,
             options: MapOptions | None = None) -> folium.Map:
    """An empty map fitted to ``bounds`` (west, south, east, north) with the page's title.

    >>> fmap = base_map("Communes")
    >>> "cdn" in map_html(fmap)
    False
    """
    options = options or MapOptions()
    fmap = folium.Map(location=None, tiles=None, control_scale=True, zoom_snap=0.25)
    use_local_assets(fmap, options.assets_url)
    if options.tiles_url:
        folium.TileLayer(tiles=options.tiles_url, name="Base map", control=False,
                         attr=options.tiles_attribution or _host(options.tiles_url)).add_to(fmap)
    root = fmap.get_root()
    assert isinstance(root, Figure)  # folium.Map puts itself in a Figure when built
    root.title = html.escape(title)
    root.header.add_child(Element(_PAGE_HEAD), name="gis_page_head")
    west, south, east, north = bounds
    fmap.fit_bounds([[south, west], [north, east]])
    return fmap


def frame_bounds(*frames: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """The bounds covering every non-empty frame, or Huế's when all are empty."""
    boxes = [frame.total_bounds for frame in frames if len(frame)]
    if not boxes:
        return HUE_BOUNDS
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def map_html(fmap: folium.Map) -> str:
    """The whole page: one HTML document with the map filling the window."""
    return str(fmap.get_root().render())


def _host(url: str) -> str:
    return html.escape(urlsplit(url).netloc or "local tiles")
