"""The README's first command, minus the endless serving: `gis-service demo --no-serve`,
and `gis-service serve` answering under gunicorn."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from gis_service.cli import main
from gis_service.config import Settings
from gis_service.db.engine import make_engine
from gis_service.db.schema import admin_unit, report
from gis_service.db.scratch import scratch_database
from tests.conftest import require_data

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def scratch(server_url: str, settings: Settings) -> Iterator[str]:
    with scratch_database(server_url, settings, "test_demo", migrated=False) as url:
        yield url


def _counts(url: str, settings: Settings) -> tuple[int, int]:
    engine = make_engine(url, settings)
    try:
        with engine.connect() as conn:
            units = conn.execute(select(func.count()).select_from(admin_unit)).scalar_one()
            reports = conn.execute(select(func.count()).select_from(report)).scalar_one()
    finally:
        engine.dispose()
    return units, reports


def test_demo_loads_boundaries_config_and_sample_reports(
        scratch: str, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_data(settings)
    monkeypatch.setenv("DATABASE_URL", scratch)
    monkeypatch.setenv("GIS_STATE_DIR", str(tmp_path))
    runner = CliRunner()
    first = runner.invoke(main, ["demo", "--no-serve"])
    assert first.exit_code == 0, first.output
    units, reports = _counts(scratch, settings)
    assert units == 1 + 9 + 152 + 1 + 40
    assert reports > 30_000
    again = runner.invoke(main, ["demo", "--no-serve"])
    assert again.exit_code == 0, again.output
    assert "already in the database" in again.output
    assert _counts(scratch, settings) == (units, reports)


def test_demo_without_a_data_root_loads_approximate_boundaries(
        scratch: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("DATABASE_URL", scratch)
    monkeypatch.setenv("GIS_DATA_ROOT", str(tmp_path / "no-data-here"))
    monkeypatch.setenv("GIS_STATE_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "APPROXIMATE" in result.output
    assert _counts(scratch, settings) == (1 + 9 + 133 + 1 + 40, 0)


def test_serve_runs_gunicorn_and_answers(scratch: str, settings: Settings, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": scratch, "GIS_DATA_ROOT": str(tmp_path / "none"),
           "GIS_STATE_DIR": str(tmp_path)}
    loaded = subprocess.run([sys.executable, "-m", "gis_service.cli", "demo", "--no-serve"],
                            env=env, capture_output=True, text=True, check=False)
    assert loaded.returncode == 0, loaded.stderr
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from support import free_port  # noqa: PLC0415  # the benchmarks' helper, not a package

    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "gis-service"), "serve", "--port",
                               str(port), "--workers", "2"], env=env, stderr=subprocess.PIPE)
    try:
        body = b""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    body = answer.read()
                    break
            except OSError:
                time.sleep(0.2)
        assert b'"active_generation": "2025"' in body or b'"active_generation":"2025"' in body
        ps = subprocess.run(["ps", "-o", "args=", "--ppid", str(server.pid)], capture_output=True,
                            text=True, check=False).stdout
        assert ps.count("gis-service") >= 2  # two gunicorn workers under the master
    finally:
        server.terminate()
        server.wait(timeout=30)
