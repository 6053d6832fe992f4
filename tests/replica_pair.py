"""Two real PostgreSQL instances for the replica tests: a primary and its streaming hot standby,
in a temporary folder of their own (the suite's own cluster stays at wal_level minimal)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from gis_service.boundaries.manifest import load_manifest
from gis_service.config import Settings
from gis_service.db.cluster import Cluster, _port_is_free
from gis_service.db.engine import make_engine, with_database
from gis_service.db.replica import StandbyCluster
from gis_service.db.scratch import scratch_database
from gis_service.web.read_routing import READ_APPLICATION_NAME


@dataclass(frozen=True)
class ReplicaPair:
    """A migrated database with Huế, the report config and keys, on a primary with a replica."""

    settings: Settings
    primary: Cluster
    standby: StandbyCluster
    engine: Engine
    read_engine: Engine
    keys: dict[str, str]


def free_port(start: int) -> int:
    port = start
    while not _port_is_free(port):
        port += 1
    return port


def until(condition: Callable[[], bool], *, within_s: float, what: str) -> float:
    """Poll ``condition`` until true; how long it took. A generous bound, never a sleep-assert."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > within_s:
            raise AssertionError(f"{what}: not within {within_s} s")
        time.sleep(0.05)
    return time.monotonic() - started


@contextmanager
def replica_pair(root: Path, settings: Settings) -> Iterator[ReplicaPair]:
    from gis_service.auth import issue_key  # noqa: PLC0415  # only these tests pay the import
    from gis_service.reports.setup import load_config  # noqa: PLC0415

    primary = Cluster(root=root / "postgres", first_port=free_port(settings.replica_pg_port + 3))
    standby = StandbyCluster(root=root / "postgres-replica", primary=primary,
                             first_port=free_port(settings.replica_pg_port + 6))
    standby.start()
    try:
        with scratch_database(primary.url(), settings, "test_replica") as url:
            engine = make_engine(url, settings)
            with engine.begin() as conn:
                load_manifest(conn, settings)
                load_config(conn, settings)
                keys = {role: issue_key(conn, name=f"test-{role}", role=role).key
                        for role in ("client", "admin")}
            name = make_url(url).database or ""
            read_engine = make_engine(with_database(standby.url(), name), settings,
                                      application_name=READ_APPLICATION_NAME)
            yield ReplicaPair(settings, primary, standby, engine, read_engine, keys)
            engine.dispose()
            read_engine.dispose()
    finally:
        standby.stop("immediate")
        primary.stop()
