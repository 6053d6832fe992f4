"""Maps inside JupyterLab, offline: the map scripts served by the Jupyter server itself.

A folium map shown in a notebook is a page in an ``<iframe srcdoc>``, so the links that
:func:`gis_service.maps.assets.use_local_assets` writes resolve against the Jupyter server, not
against our app. ``gis-service notebooks`` puts a copy of the files the app serves (hard links
where the file system allows, so it costs no space) in a folder the server publishes under
``/static/``, and notebooks draw with :func:`notebook_options`, whose links point there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from gis_service.config import Settings
from gis_service.maps.assets import ASSET_ROOT, ROTATE_CSS, SERVED_FOLDERS, require_installed, rotate_css
from gis_service.maps.base import MapOptions

#: The folder of the mirror inside the server's extra static path, and so its URL below /static/.
MIRROR_NAME = "gis-maps"
#: Where a Jupyter server started by ``gis-service notebooks`` serves the map files.
NOTEBOOK_ASSETS_URL = f"/static/{MIRROR_NAME}"


def notebook_options(settings: Settings | None = None) -> MapOptions:
    """Map options for a notebook: scripts from the Jupyter server, tiles as configured.

    >>> notebook_options(Settings()).assets_url
    '/static/gis-maps'
    """
    settings = settings or Settings.from_env()
    return MapOptions.from_settings(settings, assets_url=NOTEBOOK_ASSETS_URL)


def _link_or_copy(source: str, target: str) -> None:
    # Jupyter's static handler refuses symlinks that leave its folder; a hard link is the
    # file itself. Across file systems it has to be a copy.
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def mirror_assets(static_dir: Path, root: Path = ASSET_ROOT) -> Path:
    """(Re)build ``static_dir/gis-maps`` with the files the app serves under its asset URL.

    Returns ``static_dir``, the folder to hand to the Jupyter server as an extra static path.
    Raises :class:`gis_service.maps.assets.AssetsMissing` when ``npm ci`` has not run.
    """
    require_installed(root)
    mirror = static_dir / MIRROR_NAME
    # The mirror holds hard links and copies only: removing it never reaches node_modules.
    shutil.rmtree(mirror, ignore_errors=True)
    for folder in SERVED_FOLDERS:
        shutil.copytree(root / folder, mirror / folder, copy_function=_link_or_copy)
    generated = mirror / ROTATE_CSS
    generated.parent.mkdir(parents=True, exist_ok=True)
    generated.write_text(rotate_css(), encoding="utf-8")
    return static_dir
