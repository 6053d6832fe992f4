"""The analysts' notebooks: committed clean, run top to bottom against the generated history,
and opened by ``gis-service notebooks`` in a JupyterLab whose kernels reach the database.

Each notebook runs in a kernel of this virtualenv (a kernel spec written for the test, so no
Jupyter outside the venv is involved), with DATABASE_URL naming the history database, exactly
as JupyterLab's kernels get it. The executed copies are saved under test-output/notebooks/ for
review.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from sqlalchemy import Connection, update

from gis_service.config import PROJECT_ROOT, Settings
from gis_service.db.schema import generation
from gis_service.jupyter import NOTEBOOKS_DIR, lab_launch, missing_data
from gis_service.maps.assets import ASSET_ROOT, missing_files
from gis_service.maps.notebook import MIRROR_NAME, NOTEBOOK_ASSETS_URL
from tests.conftest import IN_CI, HistoryDB
from tests.factories import add_generation, add_unit, square

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
EXECUTED = PROJECT_ROOT / "test-output" / "notebooks"
#: Generous: a cell that needs this long is broken, not slow (the notebooks take seconds).
CELL_TIMEOUT_S = 300
KERNEL_NAME = "gis-service-test"


def _ids(path: Path) -> str:
    return path.stem


def test_there_are_at_least_three_notebooks() -> None:
    assert {"01_hotspots", "02_coverage_gaps", "03_boundary_generations"} <= {
        path.stem for path in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert '"output_type"' not in text
    notebook = nbformat.reads(text, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)
    # Analysis with prose between the cells, not a script cut into pieces.
    assert sum(cell.cell_type == "markdown" for cell in notebook.cells) >= len(code) // 2


def _venv_kernel(folder: Path) -> KernelManager:
    """A kernel manager that can only start this interpreter's ipykernel."""
    spec = folder / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "gis-service (test)", "language": "python"}), encoding="utf-8")
    specs = KernelSpecManager(kernel_dirs=[str(folder / "kernels")])
    return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs,
                         connection_file=str(folder / "connection.json"))


def _map_pages(notebook: Any) -> list[str]:
    """The HTML of every folium map a notebook displayed."""
    return [output["data"]["text/html"]
            for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.outputs
            if "leaflet" in output.get("data", {}).get("text/html", "")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_runs_top_to_bottom(path: Path, history_db: HistoryDB, tmp_path: Path,
                                     record_property: Any) -> None:
    notebook = nbformat.read(path, as_version=4)
    manager = _venv_kernel(tmp_path)
    client = NotebookClient(notebook, km=manager, timeout=CELL_TIMEOUT_S,
                            resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
    env = {**os.environ, "DATABASE_URL": history_db.url, "MPLBACKEND": "Agg",
           "IPYTHONDIR": str(tmp_path / "ipython")}
    started = time.perf_counter()
    try:
        # Raises CellExecutionError, naming the cell, on any error; then shuts the kernel down.
        client.execute(env=env, cleanup_kc=True)
    finally:
        if manager.has_kernel:  # a kernel that never became ready
            manager.shutdown_kernel(now=True)
        EXECUTED.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, EXECUTED / path.name)
    record_property("seconds", round(time.perf_counter() - started, 1))

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code)
    pages = _map_pages(notebook)
    assert pages, "every notebook draws at least one folium map"
    for page in pages:  # offline: Leaflet from the Jupyter server, nothing from a CDN
        assert f"{NOTEBOOK_ASSETS_URL}/leaflet/dist/leaflet.js" in page
        assert not re.search(r"https?://[^\"' ]*cdn", page)


def test_missing_data_names_what_the_notebooks_lack(conn: Connection,
                                                    history_db: HistoryDB) -> None:
    with history_db.engine.connect() as full:
        assert missing_data(full) == []
    conn.execute(update(generation).values(status="draft"))  # rolled back after the test
    assert "no active boundary generation" in missing_data(conn)[0]
    generation_id = add_generation(conn, "nb-test", status="active")
    add_unit(conn, generation_id, "nb1", square(107.5, 16.4, 0.01))
    assert "no reports" in missing_data(conn)[0]


def _require_assets() -> None:
    absent = missing_files()
    if absent:
        message = f"the notebooks' maps need {', '.join(absent)} (npm ci; ./manage does it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def test_lab_launch_serves_notebooks_with_the_database_and_local_map_files(
        settings: Settings, tmp_path: Path) -> None:
    _require_assets()
    launch = lab_launch(dataclasses.replace(settings, state_dir=tmp_path), "postgresql://db/x",
                        port=9999, extra_args=["--ServerApp.token=t"], environ={"HOME": "/h"})
    assert launch.argv[:3] == (sys.executable, "-m", "jupyterlab")
    assert {"--no-browser", "--ip=127.0.0.1", "--port=9999",
            f"--ServerApp.root_dir={NOTEBOOKS_DIR}"} <= set(launch.argv)
    assert launch.argv[-1] == "--ServerApp.token=t"
    assert dict(launch.env) == {"HOME": "/h", "DATABASE_URL": "postgresql://db/x",
                                "JUPYTER_PREFER_ENV_PATH": "1"}
    static = tmp_path / "notebooks" / "static"
    assert f"--ServerApp.extra_static_paths={static}" in launch.argv
    served = static / MIRROR_NAME / "leaflet/dist/leaflet.js"
    assert served.read_bytes() == (ASSET_ROOT / "leaflet/dist/leaflet.js").read_bytes()
    assert not (static / MIRROR_NAME / "leaflet/package.json").exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60.0) -> bytes:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "gis-service notebooks exited early"
        try:
            status, body = _get(url)
            if status == 200:
                return body
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in {timeout_s:.0f} s")


@dataclasses.dataclass(frozen=True)
class Lab:
    base_url: str
    token: str
    runtime_dir: Path
    process: subprocess.Popen[bytes]

    def api(self, path: str, *, method: str = "GET", body: object = None) -> Any:
        request = urllib.request.Request(
            f"{self.base_url}/api/{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")


@pytest.fixture
def lab(database: str, tmp_path: Path) -> Iterator[Lab]:
    """``gis-service notebooks`` on a free port, as a user runs it, with its own Jupyter dirs."""
    _require_assets()
    port, token, runtime = _free_port(), "test-token", tmp_path / "runtime"
    env = {**os.environ, "DATABASE_URL": database, "GIS_STATE_DIR": str(tmp_path / "state"),
           "JUPYTER_RUNTIME_DIR": str(runtime), "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "IPYTHONDIR": str(tmp_path / "ipython")}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gis-service"), "notebooks", "--port", str(port),
         f"--IdentityProvider.token={token}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield Lab(f"http://127.0.0.1:{port}", token, runtime, process)
    finally:
        process.terminate()  # Jupyter shuts its kernels down on SIGTERM
        process.wait(timeout=30)


def _run_in_kernel(connection_file: Path, code: str) -> str:
    """Run ``code`` in a running kernel; return what it printed."""
    client = BlockingKernelClient(connection_file=str(connection_file))
    client.load_connection_file()
    client.start_channels()
    printed: list[str] = []
    try:
        client.wait_for_ready(timeout=60)
        client.execute_interactive(
            code, timeout=60,
            output_hook=lambda msg: printed.append(msg["content"].get("text", "")))
    finally:
        client.stop_channels()
    return "".join(printed)


def test_gis_service_notebooks_opens_lab_whose_kernels_reach_the_database(
        lab: Lab, database: str) -> None:
    leaflet = _wait_for(f"{lab.base_url}{NOTEBOOK_ASSETS_URL}/leaflet/dist/leaflet.js",
                        lab.process)
    assert leaflet == (ASSET_ROOT / "leaflet/dist/leaflet.js").read_bytes()
    listed = {item["name"] for item in lab.api("contents")["content"]}
    assert {path.name for path in NOTEBOOKS} <= listed  # the server's root is notebooks/

    kernel = lab.api("kernels", method="POST", body={"name": "python3"})
    printed = _run_in_kernel(lab.runtime_dir / f"kernel-{kernel['id']}.json",
                             "import os, sys\nprint(os.environ['DATABASE_URL'])\n"
                             "print(sys.prefix)")
    lab.api(f"kernels/{kernel['id']}", method="DELETE")
    assert printed.split() == [database, sys.prefix]  # this venv's kernel, on this database
