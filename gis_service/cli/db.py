"""``gis-service db``: the embedded PostgreSQL cluster and the schema's migrations."""

from __future__ import annotations

import click

from gis_service.cli.context import AppContext
from gis_service.db import migrate, partitions
from gis_service.db.cluster import Cluster, ClusterError
from gis_service.db.replica import StandbyCluster


def _cluster(app: AppContext) -> Cluster:
    if app.settings.database_url:
        raise click.ClickException(
            "DATABASE_URL is set: the project's own cluster is not in use"
        )
    return Cluster.from_settings(app.settings)


@click.group()
def db() -> None:
    """Run the project's own PostGIS cluster and migrate the schema."""


def _standby(app: AppContext) -> StandbyCluster:
    _cluster(app)  # the same refusal under DATABASE_URL
    return StandbyCluster.from_settings(app.settings)


@db.command()
@click.option("--replica", is_flag=True,
              help="Also start the read replica (created on first use with pg_basebackup).")
@click.pass_obj
def start(app: AppContext, replica: bool) -> None:
    """Create (on first use) and start the cluster; harmless when it already runs."""
    try:
        # The replica first: it starts the primary ready to stream (restarting it if need be).
        standby = _standby(app).start() if replica else None
        click.echo(f"primary: {_cluster(app).start().describe()}")
        if standby is not None:
            click.echo(f"replica: {standby.describe()}")
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from exc


@db.command()
@click.pass_obj
def stop(app: AppContext) -> None:
    """Stop the cluster and its replica, if any (fast shutdown, the replica first)."""
    try:
        standby = _standby(app)
        if standby.exists:
            click.echo(f"replica: {standby.stop().describe()}")
        click.echo(f"primary: {_cluster(app).stop().describe()}")
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from exc


@db.command()
@click.pass_obj
def status(app: AppContext) -> None:
    """Say whether the cluster (and the replica, if created) runs, where, and on which port;
    exit 3 when one of them is stopped."""
    current = _cluster(app).status()
    click.echo(f"primary: {current.describe()}")
    standby = _standby(app)
    replica = standby.status() if standby.exists else None
    click.echo(f"replica: {replica.describe()}" if replica else "replica: none")
    if not current.running or (replica is not None and not replica.running):
        raise SystemExit(3)


@db.command("remove-replica")
@click.pass_obj
def remove_replica(app: AppContext) -> None:
    """Stop and delete the read replica, and drop its replication slot on the primary."""
    standby = _standby(app)
    if not standby.exists:
        click.echo("no replica to remove")
        return
    try:
        standby.remove()
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"replica removed (slot dropped, {standby.root} deleted); the primary returns "
               "to wal_level minimal at its next start")


@db.command()
@click.pass_obj
def url(app: AppContext) -> None:
    """Print the database URL (DATABASE_URL when set, else the cluster's)."""
    try:
        click.echo(app.url())
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from exc


@db.command()
@click.argument("revision", default="head")
@click.pass_obj
def upgrade(app: AppContext, revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    migrate.upgrade(app.engine, revision)
    click.echo(f"database at revision {migrate.current_revision(app.engine)}")


@db.command()
@click.argument("revision", default="base")
@click.pass_obj
def downgrade(app: AppContext, revision: str) -> None:
    """Revert migrations down to REVISION (default: base, an empty schema)."""
    migrate.downgrade(app.engine, revision)
    click.echo(f"database at revision {migrate.current_revision(app.engine)}")


@db.command("partitions")
@click.option("--create", is_flag=True, help="Create the missing partitions (else only list).")
@click.option("--years-ahead", type=click.IntRange(0, 20), default=partitions.YEARS_AHEAD,
              show_default=True, help="Partitions through this many years past the current one.")
@click.pass_obj
def partitions_(app: AppContext, create: bool, years_ahead: int) -> None:
    """List the yearly partitions of reports; with --create, make the missing ones.

    Reports outside every yearly partition wait in the default partition; creating their
    year's partition moves them into it.
    """
    with app.engine.begin() as conn:
        made = partitions.ensure_report_partitions(conn, years_ahead=years_ahead) if create else []
        listed = partitions.list_partitions(conn)
    for part in listed:
        click.echo(f"{part.name}\t{part.bounds}\t~{part.rows} rows")
    click.echo(f"created {len(made)} partition(s){': ' + ', '.join(made) if made else ''}")
