"""``gis-service demo``: everything a new user needs, from an empty machine to a served map."""

from __future__ import annotations

import dataclasses

import click

from gis_service.boundaries.manifest import load_manifest, manifests_dir
from gis_service.cli.context import AppContext
from gis_service.db import migrate
from gis_service.db.engine import shown_url
from gis_service.notify.process import worker_beside
from gis_service.reports.sample import load_sample_history
from gis_service.reports.setup import load_config
from gis_service.serving import serve


@click.command()
@click.option("--serve/--no-serve", "then_serve", default=True,
              help="Serve the API and maps afterwards (default) or stop once loaded.")
@click.pass_obj
def demo(app: AppContext, then_serve: bool) -> None:
    """Start PostGIS, migrate, load Huế's boundaries and sample data, then serve API and maps."""
    settings = app.settings
    click.echo(f"database: {shown_url(app.url())}")
    migrate.upgrade(app.engine)
    click.echo(f"schema at revision {migrate.current_revision(app.engine)}")

    source = manifests_dir(settings)
    if not settings.has_data_root:
        click.secho(
            f"No boundary data root at {settings.data_root}: loading APPROXIMATE boundaries built "
            "from the vietnamadminunits gazetteer. Set GIS_DATA_ROOT to a folder with the "
            "official files (see boundaries/README.md) and run this again for real polygons.",
            fg="yellow",
        )
    with app.engine.begin() as conn:
        for result in load_manifest(conn, dataclasses.replace(settings, boundaries_dir=source)):
            loaded = sum(load.inserted + load.updated for load in result.loads)
            click.echo(f"boundaries {result.code} ({result.status}): {loaded} units written")
        click.echo(load_config(conn, settings).describe())
    if settings.has_data_root:
        with app.engine.begin() as conn:
            sample = load_sample_history(conn, settings)
        click.echo(f"sample reports: {sample.imported} imported" if sample.path else
                   f"sample reports: {sample.already_present} already in the database")
    else:
        click.echo("sample reports: none (the approximate boundaries carry no population)")

    if then_serve:
        click.echo(f"serving on http://{settings.host}:{settings.port}  (maps /maps, API docs "
                   "/docs, health /healthz, reverse /v1/reverse?lat=16.4779&lon=107.611), "
                   "with the notification worker beside it")
        with worker_beside():
            serve(settings)
