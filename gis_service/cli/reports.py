"""``gis-service reports``: the report system's configuration and its scheduled jobs.

One command per job, each a thin call into :mod:`gis_service.reports`; add new commands (import,
generate) to the ``reports`` group here. Commands that write run in one transaction through
:func:`transaction`: a :class:`GisError` rolls everything back and exits 1 with its message.
"""

from __future__ import annotations

import datetime as dt

import click

from gis_service.cli.context import AppContext
from gis_service.cli.reports_generate import generate_command
from gis_service.cli.reports_import import import_command
from gis_service.cli.reports_national import national_command
from gis_service.reports.calendar import TZ
from gis_service.reports.lifecycle import escalate_overdue, overdue_by_agency
from gis_service.reports.setup import load_config
from gis_service.timestamps import timestamp_text


@click.group()
def reports() -> None:
    """Field reports: configuration, deadlines and escalation."""


reports.add_command(generate_command)
reports.add_command(import_command)
reports.add_command(national_command)


@reports.command("load-config")
@click.option("--generation", "generation_code", default=None,
              help="Build committees and unit rules from this generation [default: the active one].")
@click.option("--first-year", type=int, default=None, help="First year of the working-day calendar.")
@click.option("--last-year", type=int, default=None, help="Last year of the working-day calendar.")
@click.pass_obj
def load_config_command(app: AppContext, generation_code: str | None, first_year: int | None,
                        last_year: int | None) -> None:
    """Load the categories, agencies and jurisdiction rules (boundaries/reports/*.toml) and the
    working-day calendar; loading the same files again changes nothing."""
    if (first_year is None) != (last_year is None):
        raise click.UsageError("give both --first-year and --last-year, or neither")
    years = None if first_year is None or last_year is None else (first_year, last_year)
    with app.transaction() as conn:
        result = load_config(conn, app.settings, generation_code=generation_code, years=years)
    click.echo(result.describe())


@reports.command()
@click.option("--now", "now_text", default=None, metavar="ISO-8601",
              help="Escalate as of this time (with a zone; local Huế time if none) [default: now].")
@click.option("--dry-run", is_flag=True, help="List the overdue reports by agency; escalate nothing.")
@click.pass_obj
def escalate(app: AppContext, now_text: str | None, dry_run: bool) -> None:
    """List overdue open reports by agency and escalate them to the supervising agency."""
    now = _parse_now(now_text)
    with app.transaction() as conn:
        overdue = overdue_by_agency(conn, now)
        done = [] if dry_run else escalate_overdue(conn, now)
    click.echo(f"as of {timestamp_text(now)}: {sum(a.overdue for a in overdue)} overdue reports "
               f"at {len(overdue)} agencies")
    for item in overdue:
        click.echo(f"  {item.agency_code}\t{item.overdue} overdue (oldest due "
                   f"{item.oldest_due_at.astimezone(TZ):%Y-%m-%d %H:%M}), {item.escalated} escalated before")
    if dry_run:
        click.echo("dry run: nothing escalated")
        return
    click.echo(f"escalated {len(done)} report levels")
    for esc in done:
        click.echo(f"  report {esc.public_id}: {esc.agency_code} -> {esc.escalated_to_code} "
                   f"(level {esc.level})")


def _parse_now(text: str | None) -> dt.datetime:
    if text is None:
        return dt.datetime.now(dt.UTC)
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not an ISO-8601 time", param_hint="--now") from exc
    return value if value.tzinfo is not None else value.replace(tzinfo=TZ)
