"""``gis-service reports generate-national``: a national synthetic history, COPYed in."""

from __future__ import annotations

import datetime as dt

import click

from gis_service.cli.context import AppContext
from gis_service.errors import GisError
from gis_service.synthetic.national import (
    DEFAULT_END,
    DEFAULT_START,
    copy_history,
    load_wards,
    national_agency,
)

_DAY = click.DateTime(formats=["%Y-%m-%d"])


@click.command("generate-national")
@click.option("--count", type=click.IntRange(min=1), default=10_000_000, show_default=True,
              help="Reports to write.")
@click.option("--generation", "generation_code", default="vn2025", show_default=True,
              help="Generation whose communes the reports are filed under.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--start", type=_DAY, default=DEFAULT_START.isoformat(), show_default=True,
              help="First day of the history.")
@click.option("--end", type=_DAY, default=DEFAULT_END.isoformat(), show_default=True,
              help="Day after the last one.")
@click.pass_obj
def national_command(app: AppContext, *, count: int, generation_code: str, seed: int,
                     start: dt.datetime, end: dt.datetime) -> None:
    """COPY COUNT synthetic reports over every ward of a generation, weighted by a population
    proxy (ward area times an urban or rural density: no national census is at hand), in one
    transaction. For national-scale benchmarks: one agency, no lifecycle."""
    if end <= start:
        raise click.BadParameter("must be after --start", param_hint="--end")
    try:
        with app.engine.begin() as conn:
            wards = load_wards(conn, generation_code)
            history = copy_history(conn, wards, count=count, agency_id=national_agency(conn),
                                   seed=seed, start=start.date(), end=end.date())
    except GisError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"wrote {history.reports:,} reports over {len(wards.ids):,} wards in "
               f"{history.seconds:.1f} s ({history.reports_per_s:,.0f} reports/s)")
