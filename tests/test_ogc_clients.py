"""Real GIS clients against the real server: ``gis-service serve`` (gunicorn) on a free loopback
port over the generated history, read by GDAL's OAPIF driver (Debian's gdal-bin), OWSLib
and QGIS 3.22 headless (Debian's python3-qgis, in the system Python).

The ward scorecards (``scorecards-communes``) are read by all three as well.

CITE Features Part 1 abstract tests covered through the clients: /conf/core/root-success,
/conf/core/conformance-success, /conf/core/fc-md-success, /conf/core/fc-links (next links
followed to the end), /conf/core/fc-numberMatched, /conf/core/fc-bbox-response,
/conf/crs/crs-parameter (GDAL's CRS), /conf/oas30/oas-definition-1 (OWSLib reads the API).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gis_service.db.schema import report
from tests.conftest import IN_CI, HistoryDB

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = "/usr/bin/python3"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not become healthy")


@pytest.fixture(scope="module")
def server(history_db: HistoryDB, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of gunicorn serving the history database."""
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "gunicorn.log"
    env = {**os.environ, "DATABASE_URL": history_db.url, "GIS_THREADS": "4"}
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gis-service"), "serve", "--port", str(port),
             "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=handle)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base + "/healthz", process, log)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _need(tool: str, present: bool) -> None:
    if present:
        return
    if IN_CI:
        pytest.fail(f"{tool} is missing: scripts/system-packages.sh test installs it")
    pytest.skip(f"{tool} is not installed")


def report_total(history_db: HistoryDB) -> int:
    with history_db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(report)).scalar_one())


def ogrinfo(*args: str) -> str:
    _need("ogrinfo (gdal-bin)", shutil.which("ogrinfo") is not None)
    return subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True, check=True,
                          timeout=600).stdout


def test_gdal_oapif_lists_the_collections_and_counts_the_reports(
        server: str, history_db: HistoryDB) -> None:
    """GDAL's OAPIF driver: the landing page, conformance, collections; every report read by
    following the next links."""
    listing = ogrinfo(f"OAPIF:{server}/ogc")
    for layer in ("communes-2025", "communes-2019", "reports", "hotspots-r8", "hotspots-r9",
                  "scorecards-communes"):
        assert re.search(rf"^\d+: {re.escape(layer)}\b", listing, re.MULTILINE), listing
    summary = ogrinfo("-so", "-oo", "PAGE_SIZE=5000", f"OAPIF:{server}/ogc", "reports")
    count = int(re.search(r"Feature Count: (\d+)", summary).group(1))  # type: ignore[union-attr]
    assert count == report_total(history_db)
    # The features themselves, paged through to the end (the count alone is numberMatched).
    features = ogrinfo("-oo", "PAGE_SIZE=10000", "-q", "-geom=NO", f"OAPIF:{server}/ogc",
                       "reports")
    assert features.count("OGRFeature(reports)") == count


def test_gdal_oapif_bbox_and_crs(server: str) -> None:
    """A spatial filter becomes a bbox. (GDAL 3.6 predates the driver's Part 2 support, its
    CRS option: the CRS tests are tests/test_ogc.py's.)"""
    box = ("107.55", "16.43", "107.62", "16.49")
    inside = ogrinfo("-so", "-oo", "PAGE_SIZE=10000", "-spat", *box, f"OAPIF:{server}/ogc",
                     "reports")
    assert int(re.search(r"Feature Count: (\d+)", inside).group(1)) > 0  # type: ignore[union-attr]
    wards = ogrinfo("-so", f"OAPIF:{server}/ogc", "communes-2025")
    assert "Feature Count: 40" in wards and "Geometry: Multi Polygon" in wards


def test_gdal_oapif_reads_the_ward_scorecards(server: str) -> None:
    """The scorecards collection through GDAL: one feature per 2025 ward, each with its
    polygon and the scorecard's figures as fields."""
    summary = ogrinfo("-so", f"OAPIF:{server}/ogc", "scorecards-communes")
    assert "Feature Count: 40" in summary, summary
    for field in ("name: String", "volume_reports: Integer", "rank: Real"):
        assert re.search(rf"^{re.escape(field)}", summary, re.MULTILINE), summary
    features = ogrinfo("-q", "-geom=SUMMARY", f"OAPIF:{server}/ogc", "scorecards-communes")
    assert features.count("OGRFeature(scorecards-communes)") == 40
    assert features.count("MULTIPOLYGON") + features.count("POLYGON") >= 40


def test_owslib_reads_collections_and_items(server: str, history_db: HistoryDB) -> None:
    """OWSLib's OGCAPIFeatures: landing page, conformance, collections, items with bbox and
    limit."""
    from owslib.ogcapi.features import Features  # noqa: PLC0415  # a test-only dependency

    api = Features(f"{server}/ogc")
    assert any(uri.endswith("/conf/core") for uri in api.conformance()["conformsTo"])
    ids = {c["id"] for c in api.collections()["collections"]}
    assert {"communes-2025", "reports", "hotspots-r9"} <= ids
    found = api.collection_items("reports", limit=10, bbox=[107.55, 16.43, 107.62, 16.49])
    assert found["numberReturned"] == len(found["features"]) == 10
    assert found["numberMatched"] < report_total(history_db)
    ward = api.collection_items("communes-2025", limit=1)["features"][0]
    assert api.collection_item("communes-2025", ward["id"])["properties"]["code"] == ward["id"]


def test_owslib_reads_the_ward_scorecards(server: str) -> None:
    """OWSLib: the scorecards collection's metadata, its 40 wards and one ward by its id."""
    from owslib.ogcapi.features import Features  # noqa: PLC0415  # a test-only dependency

    api = Features(f"{server}/ogc")
    assert api.collection("scorecards-communes")["id"] == "scorecards-communes"
    found = api.collection_items("scorecards-communes", limit=100)
    assert found["numberMatched"] == found["numberReturned"] == len(found["features"]) == 40
    card = found["features"][0]
    assert card["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    again = api.collection_item("scorecards-communes", card["id"])
    assert again["properties"] == card["properties"]


# QgsError.summary() of a layer's error crashes 3.22's Python bindings (a temporary freed), and
# so can exitQgis(): the result is printed and flushed, then the process leaves at once.
QGIS_SCRIPT = textwrap.dedent("""
    import json, os, sys
    from qgis.core import QgsApplication, QgsVectorLayer
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    layer = QgsVectorLayer(f"url='{sys.argv[1]}' typename='{sys.argv[2]}'", "r", "OAPIF")
    found = {"valid": layer.isValid()}
    if layer.isValid():
        found.update(crs=layer.crs().authid(), fields=layer.fields().names(),
                     count=layer.featureCount(), read=sum(1 for _ in layer.getFeatures()))
    print(json.dumps(found), flush=True)
    os._exit(0)
""")



def qgis_layer(server: str, collection: str, tmp_path: Path) -> dict[str, Any]:
    """What QGIS 3.22 headless reads of ``collection`` as an OAPIF layer."""
    present = Path(SYSTEM_PYTHON).exists() and subprocess.run(
        [SYSTEM_PYTHON, "-c", "import qgis.core"], check=False, capture_output=True
    ).returncode == 0
    _need("QGIS (python3-qgis)", present)
    script = tmp_path / "qgis_count.py"
    script.write_text(QGIS_SCRIPT)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": tempfile.mkdtemp()}
    env.pop("PYTHONPATH", None)
    result = subprocess.run([SYSTEM_PYTHON, str(script), f"{server}/ogc", collection],
                            check=False, capture_output=True, text=True, timeout=900, env=env,
                            cwd=tmp_path)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, result.stderr[-3000:]
    found: dict[str, Any] = json.loads(lines[-1])
    assert found["valid"], found
    return found


def test_qgis_loads_the_reports_as_an_oapif_layer(server: str, history_db: HistoryDB,
                                                  tmp_path: Path) -> None:
    """QGIS 3.22 headless: the reports collection is a valid layer with every report."""
    found = qgis_layer(server, "reports", tmp_path)
    assert found["read"] == found["count"] == report_total(history_db), found
    assert {"category", "status", "created_at"} <= set(found["fields"])


def test_qgis_loads_the_ward_scorecards(server: str, tmp_path: Path) -> None:
    """QGIS 3.22 headless: the scorecards collection is a valid layer of the 40 wards."""
    found = qgis_layer(server, "scorecards-communes", tmp_path)
    assert found["read"] == found["count"] == 40, found
    assert {"name", "volume_reports", "rank"} <= set(found["fields"]), found
