"""Vector tiles and OGC API items on a million reports, side by side with tipg and pygeoapi.

Builds its own throw-away database (as benchmarks/hotspots.py: Huế, the report config, a
synthetic history of ``--reports`` loaded by the bulk importer; ``--database-url`` reuses one),
then serves it three ways on free loopback ports, each with 2 worker processes:

- ours: ``gis-service serve`` (gunicorn, gthread);
- tipg (uvicorn), whose ``/collections/public.report/tiles/WebMercatorQuad/{z}/{x}/{y}`` are the
  same report points (the same three properties asked for);
- pygeoapi (gunicorn), its PostgreSQL provider over the same ``report`` table.

tipg and pygeoapi are installed into their own virtualenv (``var/bench-venv``), never into the
project's: they are benchmark baselines, not dependencies.

Figures, all in this one run:

1. ``cold``: every report-point tile (zoom 15 and 16) over central Huế requested once, by 8
   client threads on keep-alive connections: tiles/s and latency percentiles. Our cache is
   empty (the server was just started); tipg has none.
2. ``warm``: the same tiles again from our server (cached in each of its two worker processes
   after 6 more passes on fresh connections): tiles/s by wrk, and its p50.
3. ``items``: pages of ``limit=1000`` reports at 50 offsets, from us and from pygeoapi, by wrk:
   items/s (pages/s × 1000).

Targets (issue 16): cold ≥ 1× tipg, warm ≥ 5× our cold, items ≥ 1× pygeoapi, warm p50 < 20 ms.
The machine is shared: compare the ratios. The last line is one JSON object.

    .venv/bin/python benchmarks/tiles.py [--reports N] [--database-url URL] [--seconds S]
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hotspots import history_database  # benchmarks/hotspots.py, beside this script
from sqlalchemy import make_url

from gis_service.config import Settings

from support import ROOT, free_port, gunicorn_server, wait_for, wrk

BENCH_VENV = ROOT / "var" / "bench-venv"
BASELINES = ("tipg==1.6.1", "pygeoapi==0.21.0", "uvicorn", "gunicorn", "psycopg2-binary",
             "geoalchemy2", "sqlalchemy")
# Central Huế: the citadel, both banks of the Hương, An Cựu, Vỹ Dạ.
BOX = (107.54, 16.42, 107.63, 16.50)
ZOOMS = (15, 16)
TILE_THREADS = 8
WARM_PASSES = 6
TARGETS = {"cold_vs_tipg": 1.0, "warm_vs_cold": 5.0, "items_vs_pygeoapi": 1.0,
           "warm_p50_ms": 20.0}


def tiles_over(box: tuple[float, float, float, float], zoom: int) -> list[tuple[int, int, int]]:
    def column(lon: float) -> int:
        return int((lon + 180) / 360 * (1 << zoom))

    def row(lat: float) -> int:
        return int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * (1 << zoom))

    west, south, east, north = box
    return [(zoom, x, y) for x in range(column(west), column(east) + 1)
            for y in range(row(north), row(south) + 1)]


def ensure_baselines() -> Path:
    """tipg and pygeoapi in var/bench-venv (installed once, by pip from PyPI)."""
    stamp = BENCH_VENV / ".installed"
    if not stamp.exists() or stamp.read_text() != "\n".join(BASELINES):
        subprocess.run(["python3.11", "-m", "venv", str(BENCH_VENV)], check=True)
        subprocess.run([str(BENCH_VENV / "bin/pip"), "install", "-q", *BASELINES], check=True)
        stamp.write_text("\n".join(BASELINES))
    return BENCH_VENV / "bin"


def _libpq_url(url: str) -> str:
    """The database over loopback TCP (the project's URLs use its unix socket, which tipg's
    settings and pygeoapi's provider cannot take)."""
    found = make_url(url)
    port = found.port or int(str(found.query.get("port", 5432)))
    return (f"postgresql://{found.username}:{found.password}@127.0.0.1:{port}/"
            f"{found.database}")


@contextmanager
def _process(command: list[str], env: dict[str, str], health: str) -> Iterator[str]:
    with tempfile.NamedTemporaryFile(prefix="baseline-", suffix=".log", delete=False) as log:
        process = subprocess.Popen(command, env={**os.environ, **env},
                                   stdout=subprocess.DEVNULL, stderr=log)
    try:
        wait_for(health, process, Path(log.name), timeout_s=120)
        yield health
    finally:
        process.terminate()
        process.wait(timeout=30)
        os.unlink(log.name)


@contextmanager
def tipg_server(bin_dir: Path, url: str) -> Iterator[str]:
    port = free_port()
    env = {"DATABASE_URL": _libpq_url(url), "TIPG_DB_SCHEMAS": '["public"]',
           "TIPG_MAX_FEATURES_PER_QUERY": "10000",
           # tipg stops at 10,000 features per tile by default (dense z15 tiles of a million
           # reports hold more): every point, as ours draws.
           "TIPG_MAX_FEATURES_PER_TILE": "10000000"}
    command = [str(bin_dir / "uvicorn"), "tipg.main:app", "--host", "127.0.0.1", "--port",
               str(port), "--workers", "2", "--log-level", "warning"]
    with _process(command, env, f"http://127.0.0.1:{port}/healthz"):
        yield f"http://127.0.0.1:{port}"


PYGEOAPI_CONFIG = """
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [en-US]
  limits: {{default_items: 100, max_items: 10000}}
  map: {{url: "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png", attribution: OSM}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: bench, description: bench, keywords: [bench], keywords_type: theme,
                    terms_of_service: none, url: http://example.org}}
  license: {{name: none, url: http://example.org}}
  provider: {{name: bench, url: http://example.org}}
  contact: {{name: bench, position: bench, address: x, city: x, stateorprovince: x,
             postalcode: x, country: x, phone: x, fax: x, email: x@example.org, url: x,
             hours: x, instructions: x, role: pointOfContact}}
resources:
  reports:
    type: collection
    title: reports
    description: reports
    keywords: [reports]
    extents:
      spatial: {{bbox: [107.0, 15.9, 108.3, 16.8], crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84}}
    providers:
      - type: feature
        name: PostgreSQL
        data: {{host: {host}, port: {dbport}, dbname: {dbname}, user: {user}, password: {password}}}
        id_field: public_id
        table: report
        geom_field: geom
        properties: [public_id, category, status, channel, created_at]
"""


@contextmanager
def pygeoapi_server(bin_dir: Path, url: str) -> Iterator[str]:
    port, parts = free_port(), urlsplit(_libpq_url(url))
    with tempfile.TemporaryDirectory() as tmp:
        config, openapi = Path(tmp) / "config.yml", Path(tmp) / "openapi.yml"
        config.write_text(PYGEOAPI_CONFIG.format(
            port=port, host=parts.hostname, dbport=parts.port or 5432,
            dbname=parts.path.lstrip("/"), user=parts.username, password=parts.password or ""))
        env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
        subprocess.run([str(bin_dir / "pygeoapi"), "openapi", "generate", str(config),
                        "--output-file", str(openapi)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        command = [str(bin_dir / "gunicorn"), "pygeoapi.flask_app:APP", "--bind",
                   f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
                   "--worker-class", "gthread", "--log-level", "warning"]
        with _process(command, env, f"http://127.0.0.1:{port}/conformance"):
            yield f"http://127.0.0.1:{port}"


def _fetch_all(base: str, paths: list[str], *, keep_alive: bool = True) -> dict[str, Any]:
    """Each path once, by TILE_THREADS threads on keep-alive connections (or a new connection
    per request, which the kernel hands to either worker)."""
    netloc = urlsplit(base).netloc
    chunks = [paths[i::TILE_THREADS] for i in range(TILE_THREADS)]

    def run(chunk: list[str]) -> tuple[list[float], int]:
        connection = http.client.HTTPConnection(netloc, timeout=300)
        latencies, size = [], 0
        for path in chunk:
            if not keep_alive:
                connection.close()
                connection = http.client.HTTPConnection(netloc, timeout=300)
            began = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            size += len(response.read())
            if response.status != 200:
                raise RuntimeError(f"{base}{path}: {response.status}")
            latencies.append(time.perf_counter() - began)
        connection.close()
        return latencies, size

    began = time.perf_counter()
    with ThreadPoolExecutor(TILE_THREADS) as pool:
        results = list(pool.map(run, chunks))
    elapsed = time.perf_counter() - began
    latencies = sorted(value for found, _size in results for value in found)
    return {"tiles": len(paths), "seconds": round(elapsed, 2),
            "tiles_per_s": round(len(paths) / elapsed, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1),
            "mean_kb": round(sum(size for _found, size in results) / len(paths) / 1024, 1)}


def tile_paths(tiles: list[tuple[int, int, int]]) -> tuple[list[str], list[str]]:
    ours = [f"/tiles/reports/{z}/{x}/{y}.mvt" for z, x, y in tiles]
    tipg = [f"/collections/public.report/tiles/WebMercatorQuad/{z}/{x}/{y}"
            "?properties=public_id,category,status" for z, x, y in tiles]
    return ours, tipg


def item_paths(reports: int) -> tuple[list[str], list[str]]:
    offsets = [int(i * (reports - 1000) / 49) for i in range(50)]
    ours = [f"/ogc/collections/reports/items?limit=1000&offset={o}" for o in offsets]
    theirs = [f"/collections/reports/items?limit=1000&offset={o}&f=json" for o in offsets]
    return ours, theirs


def _items_per_s(result: dict[str, Any]) -> float:
    return round(result["rps"] * 1000, 0)


def measure(url: str, reports: int, seconds: int) -> dict[str, Any]:
    bin_dir = ensure_baselines()
    tiles = [tile for zoom in ZOOMS for tile in tiles_over(BOX, zoom)]
    ours_tiles, tipg_tiles = tile_paths(tiles)
    ours_items, pygeoapi_items = item_paths(reports)
    found: dict[str, Any] = {"tiles_requested": len(tiles), "zooms": list(ZOOMS)}
    with tipg_server(bin_dir, url) as tipg:
        _fetch_all(tipg, tipg_tiles[:8])  # connections and catalogue up, not measured
        found["tipg_cold"] = _fetch_all(tipg, tipg_tiles)
    with pygeoapi_server(bin_dir, url) as pygeoapi:
        wrk(pygeoapi, pygeoapi_items[:2], seconds=2, connections=2)
        found["pygeoapi_items"] = wrk(pygeoapi, pygeoapi_items, seconds=seconds, connections=4)
    with gunicorn_server(url, workers=2, threads=4) as ours:
        _fetch_all(ours, ["/tiles/reports/8/0/0.mvt"] * 8)  # workers up, not measured
        found["ours_cold"] = _fetch_all(ours, ours_tiles)
        # Each worker process has its own cache: every tile asked WARM_PASSES more times on
        # fresh connections, so both workers hold (almost) all of them before warm is measured.
        for _ in range(WARM_PASSES):
            _fetch_all(ours, ours_tiles, keep_alive=False)
        found["ours_warm"] = wrk(ours, ours_tiles, seconds=seconds, connections=8, threads=2)
        wrk(ours, ours_items[:2], seconds=2, connections=2)
        found["ours_items"] = wrk(ours, ours_items, seconds=seconds, connections=4)
    return found


def summary(found: dict[str, Any]) -> dict[str, Any]:
    cold, warm, tipg = found["ours_cold"], found["ours_warm"], found["tipg_cold"]
    items, theirs = _items_per_s(found["ours_items"]), _items_per_s(found["pygeoapi_items"])
    ratios = {
        "cold_vs_tipg": round(cold["tiles_per_s"] / tipg["tiles_per_s"], 2),
        "warm_vs_cold": round(warm["rps"] / cold["tiles_per_s"], 1),
        "items_vs_pygeoapi": round(items / theirs, 2) if theirs else None,
        "warm_p50_ms": round(warm["p50_us"] / 1000, 2),
    }
    meets = (ratios["cold_vs_tipg"] >= TARGETS["cold_vs_tipg"]
             and ratios["warm_vs_cold"] >= TARGETS["warm_vs_cold"]
             and (ratios["items_vs_pygeoapi"] or 0) >= TARGETS["items_vs_pygeoapi"]
             and ratios["warm_p50_ms"] < TARGETS["warm_p50_ms"])
    return {"ours_cold_tiles_per_s": cold["tiles_per_s"], "tipg_cold_tiles_per_s":
            tipg["tiles_per_s"], "ours_warm_tiles_per_s": warm["rps"],
            "ours_items_per_s": items, "pygeoapi_items_per_s": theirs, **ratios,
            "targets": TARGETS, "meets_targets": meets}


def main() -> None:
    parser = argparse.ArgumentParser(description=textwrap.dedent(__doc__ or "").split("\n")[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--database-url", help="a database that already has reports")
    args = parser.parse_args()
    settings = Settings.from_env()

    @contextmanager
    def database() -> Iterator[tuple[str, dict[str, Any]]]:
        if args.database_url:
            yield args.database_url, {}
        else:
            with history_database(settings, args.reports, args.seed) as created:
                yield created

    with database() as (url, setup):
        found = measure(url, args.reports, args.seconds)
    result = {**found, **setup, **summary(found)}
    for key, value in result.items():
        print(f"{key:>26}: {value}", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
