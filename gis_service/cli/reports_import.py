"""``gis-service reports import``: load a file of reports, all or nothing, and say what happened."""

from __future__ import annotations

from pathlib import Path

import click

from gis_service.cli.context import AppContext
from gis_service.errors import GisError
from gis_service.reports.importing.importer import STEPS, ImportRejected, import_reports
from gis_service.reports.setup import config_loaded, load_config


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--strict", is_flag=True, help="Import nothing if any row is rejected.")
@click.option("--batch", "batch_label", default=None,
              help="Label stored with every report of the file [default: the file's name].")
@click.option("--offline", is_flag=True,
              help="Lock the report tables for the import and rebuild their indexes and foreign "
                   "keys once at the end: about twice as fast for first loads and large "
                   "back-fills, but every query on reports waits until it commits.")
@click.pass_obj
def import_command(app: AppContext, file: Path, strict: bool, batch_label: str | None,
                   offline: bool) -> None:
    """Import reports from FILE (CSV or GeoJSON in the import format) in one transaction.

    Rows already stored (same public_id) are skipped, so an interrupted import can simply be
    run again. Rejected rows are listed with their row number and reason; the others are
    imported (with --strict, nothing is). If categories and agencies are not loaded yet, the
    configuration is loaded first, as `reports load-config` would, in the same transaction.
    """
    try:
        with app.engine.begin() as conn:
            if not config_loaded(conn):
                click.echo("configuration not loaded yet; loading it first:")
                click.echo(load_config(conn, app.settings).describe())
            with click.progressbar(length=len(STEPS), label=f"importing {file.name}",
                                   item_show_func=lambda step: step) as bar:
                summary = import_reports(
                    conn, file, batch_label=batch_label, strict=strict, offline=offline,
                    tolerance_m=app.settings.snap_tolerance_m,
                    progress=lambda step, _done, _total: bar.update(1, current_item=step),
                )
    except ImportRejected as exc:
        click.echo(exc.summary.describe(), err=True)
        raise click.ClickException(f"{exc.detail} (nothing was written)") from exc
    except GisError as exc:
        raise click.ClickException(f"{exc.detail} (nothing was written)") from exc
    click.echo(summary.describe())
