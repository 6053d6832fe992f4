"""``gis-service db``: the embedded PostgreSQL cluster and the schema's migrations."""

from __future__ import annotations

import click

from gis_service.cli.context import AppContext
from gis_service.db import migrate
from gis_service.db.cluster import Cluster, ClusterError


def _cluster(app: AppContext) -> Cluster:
    if app.settings.database_url:
        raise click.ClickException(
            "DATABASE_URL is set: the project's own cluster is not in use"
        )
    return Cluster.from_settings(app.settings)


@click.group()
def db() -> None:
    """Run the project's own PostGIS cluster and migrate the schema."""


@db.command()
@click.pass_obj
def start(app: AppContext) -> None:
    """Create (on first use) and start the cluster; harmless when it already runs."""
    try:
        click.echo(_cluster(app).start().describe())
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from exc


@db.command()
@click.pass_obj
def stop(app: AppContext) -> None:
    """Stop the cluster (fast shutdown)."""
    try:
        click.echo(_cluster(app).stop().describe())
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from exc


@db.command()
@click.pass_obj
def status(app: AppContext) -> None:
    """Say whether the cluster runs, where, and on which port; exit 3 when stopped."""
    current = _cluster(app).status()
    click.echo(current.describe())
    if not current.running:
        raise SystemExit(3)


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
