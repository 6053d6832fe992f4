"""``gis-service reports generate``: write a synthetic report history for the importer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from gis_service.cli.context import AppContext
from gis_service.errors import GisError
from gis_service.synthetic.generator import (
    DEFAULT_COUNT,
    DEFAULT_END,
    DEFAULT_GENERATION,
    GeneratedHistory,
    category_codes,
    generate,
    load_communes,
)

_DAY = click.DateTime(formats=["%Y-%m-%d"])


@click.command("generate")
@click.option("--count", type=click.IntRange(min=1), default=DEFAULT_COUNT, show_default=True,
              help="Expected number of reports (rows) to write.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed: the same seed writes the same files.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              required=True, help="The reports CSV; OUT.incidents.csv and OUT.truth.json go beside it.")
@click.option("--start", type=_DAY, default=None,
              help="First day of the history [default: two years before --end].")
@click.option("--end", type=_DAY, default=DEFAULT_END.isoformat(), show_default=True,
              help="Day after the last one: the history's 'now'.")
@click.option("--generation", "generation_code", default=DEFAULT_GENERATION, show_default=True,
              help="Boundary generation whose communes and populations place the reports.")
@click.pass_obj
def generate_command(app: AppContext, *, count: int, seed: int, out: Path,
                     start: dt.datetime | None, end: dt.datetime, generation_code: str) -> None:
    """Write a synthetic history of about COUNT reports in the bulk-import format, simulated as
    incidents that residents report zero, one or several times, and the truth beside it."""
    try:
        with app.engine.connect() as conn:
            communes = load_communes(conn, generation_code)
        codes = category_codes(app.settings)
        with click.progressbar(length=count, label="generating", show_pos=True) as bar:
            history = generate(
                communes, out=out, count=count, seed=seed, end=end.date(),
                start=start.date() if start else None, categories=codes,
                progress=lambda _done, _total, rows: bar.update(rows - bar.pos),
            )
    except GisError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(_summary(history))


def _summary(history: GeneratedHistory) -> str:
    return (f"wrote {history.reports:,} reports ({history.duplicates:,} duplicates) of "
            f"{history.incidents_reported:,} reported incidents ({history.incidents:,} in all) to "
            f"{history.reports_path} in {history.seconds:.1f} s "
            f"({history.rows_per_second:,.0f} rows/s); truth in {history.truth_path}")
