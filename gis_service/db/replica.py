"""A read replica the project starts: a second embedded cluster, a hot standby of the first.

``gis-service db start --replica`` makes the project's own primary ready to stream (wal_level
``replica``, WAL senders, a replication role and a physical replication slot), copies it with
``pg_basebackup`` into ``var/postgres-replica/`` and starts that copy as a streaming hot standby
(``standby.signal``, ``primary_conninfo``, ``hot_standby = on``). The standby has the primary's
roles and password (it is a physical copy), listens on its own port (``GIS_REPLICA_PG_PORT``,
default ``GIS_PG_PORT + 100``) and unix socket, and is read-only. initdb's own pg_hba.conf
already trusts replication connections over the unix socket, the only way the standby connects.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from gis_service.config import Settings
from gis_service.db.cluster import (
    MAX_WAL_SENDERS,
    Cluster,
    ClusterError,
    ClusterStatus,
    chown_for_server,
    pg_bindir,
    run_as_server,
)

REPLICA_DIR = "postgres-replica"
#: The role the standby streams as: REPLICATION and LOGIN, no other right.
REPLICATION_ROLE = "gis_replicator"
#: The primary's physical slot: it keeps the WAL a stopped standby has not yet received.
SLOT_NAME = "gis_replica"
#: How the standby's WAL receiver appears in the primary's pg_stat_replication.
APPLICATION_NAME = "gis-replica"


@dataclass(frozen=True)
class StandbyCluster(Cluster):
    """The replica's cluster: the primary's machinery, created by pg_basebackup, read-only."""

    primary: Cluster

    @classmethod
    def from_settings(cls, settings: Settings) -> StandbyCluster:
        return cls(root=settings.state_dir / REPLICA_DIR, first_port=settings.replica_pg_port,
                   primary=Cluster.from_settings(settings))

    @property
    def exists(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def start(self) -> ClusterStatus:
        """Start the primary ready to stream, create the standby on first use, start it."""
        prepare_primary(self.primary)
        return super().start()

    def remove(self) -> None:
        """Stop the standby, drop the primary's slot (its WAL is no longer kept), delete it."""
        if self.status().running:
            self.stop("immediate")
        # Started (as it is, still streaming-ready) if need be: a slot left behind would keep
        # WAL forever, and a primary at wal_level minimal refuses to start with one.
        self.primary.start()
        self.primary.psql("postgres", "SELECT pg_drop_replication_slot(slot_name) FROM "
                          f"pg_replication_slots WHERE slot_name = '{SLOT_NAME}'")
        self.primary.set_replication(False)
        target = self.root.resolve()
        if self.root.is_symlink():
            self.root.unlink()
        shutil.rmtree(target, ignore_errors=True)

    # -- Cluster's hooks ------------------------------------------------------------------
    def _ensure_created(self) -> None:
        if self.exists:
            return
        self._prepare_root()
        primary = self.primary.status()
        run_as_server([
            str(pg_bindir() / "pg_basebackup"),
            "-D", str(self.data_dir),
            "-h", str(self.primary.socket_dir), "-p", str(primary.port),
            "-U", REPLICATION_ROLE,
            "-X", "stream", "-S", SLOT_NAME,
            # A fast checkpoint: the copy starts now rather than at the next scheduled one.
            "-c", "fast", "--no-password",
        ])
        # The primary's own settings file came with the copy; ours is written at every start.
        (self.data_dir / "gis_service.conf").unlink(missing_ok=True)
        signal = self.data_dir / "standby.signal"
        signal.touch()
        chown_for_server(signal)
        self._write_state(password=self.primary.password())

    def _wal_settings(self) -> list[str]:
        primary_port = self.primary.status().port
        conninfo = (f"host={self.primary.socket_dir} port={primary_port} "
                    f"user={REPLICATION_ROLE} application_name={APPLICATION_NAME}")
        return [
            "wal_level = replica",
            f"max_wal_senders = {MAX_WAL_SENDERS}",
            f"max_replication_slots = {MAX_WAL_SENDERS}",
            "hot_standby = on",
            f"primary_conninfo = '{conninfo}'",
            f"primary_slot_name = '{SLOT_NAME}'",
            # The primary keeps rows a replica query still reads, so long reads are not
            # cancelled by vacuum's cleanup ("conflict with recovery").
            "hot_standby_feedback = on",
            # Report the replay position every second (default 10 s): the lag the monitor
            # reads is at most that old.
            "wal_receiver_status_interval = 1s",
        ]

    def _ensure_database(self) -> None:
        """Nothing to create: the database, its extensions and roles came with the copy."""


def start_replica(settings: Settings) -> str:
    """Start the embedded replica (and its primary); what it is, for people to read."""
    if settings.database_url:
        raise ClusterError("DATABASE_URL is set: the project's own cluster (and its replica) "
                           "is not in use; point DATABASE_READ_URL at your replica instead")
    return StandbyCluster.from_settings(settings).start().describe()


def prepare_primary(primary: Cluster) -> None:
    """The primary running at wal_level replica, with the replication role and slot."""
    primary.start()
    if primary.set_replication(True):
        primary.restart()
    primary.psql("postgres", f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{REPLICATION_ROLE}') THEN
            CREATE ROLE {REPLICATION_ROLE} WITH REPLICATION LOGIN;
          END IF;
          IF NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = '{SLOT_NAME}') THEN
            PERFORM pg_create_physical_replication_slot('{SLOT_NAME}', true);
          END IF;
        END $$""")
