"""`gis-service db start --replica`, `db status`, `db stop` and `db remove-replica` on a state
folder of their own."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from gis_service.cli import main
from gis_service.db.cluster import Cluster
from gis_service.db.replica import SLOT_NAME, StandbyCluster
from tests.replica_pair import free_port

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="DATABASE_URL is set: the embedded cluster is unused"
)


def test_start_status_stop_and_remove(tmp_path_factory: pytest.TempPathFactory,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path_factory.mktemp("replica_cli")
    base = int(os.environ.get("GIS_PG_PORT", "54329")) + 100
    monkeypatch.setenv("GIS_STATE_DIR", str(state))
    monkeypatch.setenv("GIS_PG_PORT", str(free_port(base + 1)))
    monkeypatch.setenv("GIS_REPLICA_PG_PORT", str(free_port(base + 4)))
    runner = CliRunner()
    primary, standby = Cluster(state / "postgres", 0), StandbyCluster(state / "postgres-replica",
                                                                      0, Cluster(state / "postgres", 0))
    try:
        started = runner.invoke(main, ["db", "start", "--replica"])
        assert started.exit_code == 0, started.output
        assert "primary: running" in started.output and "replica: running" in started.output
        assert primary.setting("wal_level") == "replica"
        assert standby.psql("postgres", "SELECT pg_is_in_recovery()").strip() == "t"
        status = runner.invoke(main, ["db", "status"])
        assert status.exit_code == 0 and status.output.count("running") == 2

        stopped = runner.invoke(main, ["db", "stop"])
        assert stopped.exit_code == 0 and stopped.output.count("stopped") == 2
        assert runner.invoke(main, ["db", "status"]).exit_code == 3

        removed = runner.invoke(main, ["db", "remove-replica"])
        assert removed.exit_code == 0, removed.output
        assert not standby.exists and not standby.root.exists()
        slots = primary.psql("postgres", f"SELECT count(*) FROM pg_replication_slots "
                                         f"WHERE slot_name = '{SLOT_NAME}'")
        assert slots.strip() == "0"
        status = runner.invoke(main, ["db", "status"])
        assert "replica: none" in status.output and status.exit_code == 0
    finally:
        if standby.exists:
            standby.stop("immediate")
        primary.stop()
