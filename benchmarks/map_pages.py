"""The res-10 hot spot page in headless Chromium: time until its first cells are drawn, cold
and warm, against gunicorn over a generated history (issue 16: interactive in < 3 s cold).

Builds its own throw-away database (``--reports`` generated reports, as the tests' history;
``--database-url`` reuses one) and serves it with ``gis-service serve`` (2 workers, no tile
server). Each figure is navigation start to the page's first cell tiles drawn
(``window.gisCellsLoaded``, the moment the map answers clicks on cells), in a fresh Chromium
whose cache is cleared before every load:

1. ``restart_no_warmup``: the first load after a server start with the warm-up off
   (``GIS_WARM_RESOLUTIONS=``) and no stored frames: the study area's cells, polygons and
   weights and the analysis are made for the page and its tiles (issue 16 measured 15.3 s).
2. ``restart``: the first load after a start with the warm-up on (the default), once the
   workers have had ``--settle`` seconds to build the study areas; no stored frames.
3. ``data_change``: the first load after a report changed (a new reports revision: the
   analysis and every tile are made again; the study area stays).
4. ``warm``: the same page again (frame and tiles cached by the server).
5. ``restart_unchanged_data``: a new server on the same state directory, at once (no settle):
   the frame the last one stored (``gis_service/tiled_maps/frame_store.py``) is read.

The machine is shared: compare the ratios to ``warm``, measured in the same run. The last line
is one JSON object.

    .venv/bin/python benchmarks/map_pages.py [--reports N] [--database-url URL] [--settle S]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text

from gis_service.config import Settings
from gis_service.db.engine import make_engine

from support import gunicorn_server, history_database

PAGE = "/maps/hotspots?res=10&k=1"
TARGET_MS = 3000


def first_cells_ms(driver: Any, url: str, timeout: float = 180) -> float:
    """Navigation start to the first cell tiles drawn, with the browser cache cleared."""
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    driver.execute_cdp_cmd("Network.clearBrowserCache", {})
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 1024, "height": 640, "deviceScaleFactor": 1, "mobile": False})
    driver.get(url)
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return window.gisCellsLoaded !== undefined"))
    return round(float(driver.execute_script("return window.gisCellsLoaded")), 1)


def touch_a_report(url: str, settings: Settings) -> None:
    """One report's row rewritten as it is: the reports revision moves, so every cache keyed
    by it (the page's analysis frame, its tiles) misses."""
    engine = make_engine(url, settings)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE report SET status = status "
                              "WHERE id = (SELECT min(id) FROM report)"))
    finally:
        engine.dispose()


@contextmanager
def database(args: argparse.Namespace, settings: Settings) -> Iterator[str]:
    if args.database_url:
        yield args.database_url
    else:
        with history_database(settings, "bench_maps", args.reports, args.seed) as url:
            yield url


def measure(url: str, settings: Settings, settle: float) -> dict[str, float]:
    # The tests' Chromium with the same flags; importable once support has put ROOT on the path.
    from tests import browser  # noqa: PLC0415

    found: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
        # Each server its own state directory: the frames a run stores are its own.
        bare = {"GIS_TILES_URL": "", "GIS_WARM_RESOLUTIONS": "", "GIS_STATE_DIR": first}
        with gunicorn_server(url, env_extra=bare) as base, browser.chromium() as driver:
            found["restart_no_warmup"] = first_cells_ms(driver, base + PAGE)
        usual = {"GIS_TILES_URL": "", "GIS_STATE_DIR": second}
        with gunicorn_server(url, env_extra=usual) as base, browser.chromium() as driver:
            time.sleep(settle)
            found["restart"] = first_cells_ms(driver, base + PAGE)
            touch_a_report(url, settings)
            found["data_change"] = first_cells_ms(driver, base + PAGE)
            found["warm"] = first_cells_ms(driver, base + PAGE)
        # A restart with the data unchanged: the frames the last server stored are read.
        with gunicorn_server(url, env_extra=usual) as base, browser.chromium() as driver:
            found["restart_unchanged_data"] = first_cells_ms(driver, base + PAGE)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reports", type=int, default=37_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--settle", type=float, default=90.0,
                        help="seconds the warm-up gets after a start")
    parser.add_argument("--database-url", help="a database that already has reports")
    args = parser.parse_args()
    settings = Settings.from_env()
    with database(args, settings) as url:
        found = measure(url, settings, args.settle)
    warm = found["warm"]
    result = {
        "benchmark": "map_pages", "page": PAGE, "reports": args.reports,
        "first_cells_ms": found, "target_ms": TARGET_MS,
        "ratio_to_warm": {name: round(value / warm, 2) for name, value in found.items()},
        "cold_met": max(found["restart"], found["data_change"],
                        found["restart_unchanged_data"]) < TARGET_MS,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
