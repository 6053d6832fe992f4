"""The embedded cluster: first start, idempotent start, a port already taken, crash recovery."""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from gis_service.cli import main
from gis_service.db.cluster import Cluster, _port_is_free

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="DATABASE_URL is set: the embedded cluster is unused"
)


def _free_port_run(start: int, length: int = 3) -> int:
    """The first port from ``start`` with ``length`` free ports after it."""
    port = start
    while not all(_port_is_free(p) for p in range(port, port + length)):
        port += length
    return port


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("state") / "postgres"
    cluster = Cluster(root=root, first_port=_free_port_run(56100))
    yield cluster
    cluster.stop()


def _postgis_version(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT postgis_lib_version()").fetchone()
    assert row is not None
    return str(row[0])


def test_start_creates_then_is_harmless_twice(cluster: Cluster) -> None:
    first = cluster.start()
    assert first.running and first.port == cluster.first_port
    again = cluster.start()
    assert (again.pid, again.port) == (first.pid, first.port)
    assert _postgis_version(cluster.url()).startswith("3.")
    # A unix socket as well as the TCP port.
    assert list(cluster.socket_dir.glob(".s.PGSQL.*"))


def test_a_taken_port_moves_the_cluster_to_the_next_free_one(cluster: Cluster) -> None:
    port = cluster.start().port
    assert port is not None
    cluster.stop()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        moved = cluster.start()
    assert moved.running and moved.port is not None and moved.port > port
    assert _postgis_version(cluster.url())


def test_a_crash_leaves_a_stale_pid_file_that_start_recovers(cluster: Cluster) -> None:
    pid = cluster.start().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (cluster.data_dir / "postmaster.pid").exists()
    assert not cluster.status().running

    recovered = cluster.start()
    assert recovered.running and recovered.pid != pid
    assert _postgis_version(cluster.url())


def test_a_pid_file_naming_some_other_process_is_stale(cluster: Cluster) -> None:
    cluster.stop()
    # Our own pid is alive but is not a postgres server.
    (cluster.data_dir / "postmaster.pid").write_text(f"{os.getpid()}\n{cluster.data_dir}\n")
    assert cluster.start().running


def test_cli_status_and_url(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIS_STATE_DIR", str(cluster.root.parent))
    monkeypatch.setenv("GIS_PG_PORT", str(cluster.first_port))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    runner = CliRunner()
    cluster.start()
    status = runner.invoke(main, ["db", "status"])
    assert status.exit_code == 0 and "running" in status.output
    assert runner.invoke(main, ["db", "url"]).output.strip() == cluster.url()
    assert runner.invoke(main, ["db", "stop"]).exit_code == 0
    stopped = runner.invoke(main, ["db", "status"])
    assert stopped.exit_code == 3 and "stopped" in stopped.output
