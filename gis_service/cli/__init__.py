"""The ``gis-service`` command: one sub-command per job, each a thin call into the library."""

from __future__ import annotations

import click

from gis_service.cli.boundaries import boundaries
from gis_service.cli.context import AppContext
from gis_service.cli.db import db
from gis_service.cli.demo import demo
from gis_service.cli.keys import keys
from gis_service.cli.notebooks import notebooks
from gis_service.cli.notify import notify
from gis_service.cli.reports import reports
from gis_service.cli.serve import serve
from gis_service.config import ConfigError, Settings


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Huế field reports: boundaries, snapping, geocoding and maps over PostGIS."""
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    ctx.obj = AppContext(settings)
    ctx.call_on_close(ctx.obj.close)


main.add_command(db)
main.add_command(serve)
main.add_command(demo)
main.add_command(boundaries)
main.add_command(reports)
main.add_command(notebooks)
main.add_command(keys)
main.add_command(notify)
