"""``gis-service keys``: issue, list and revoke API keys."""

from __future__ import annotations

import click

from gis_service.auth import ROLES, issue_key, list_keys, revoke_key
from gis_service.cli.context import AppContext
from gis_service.reports.calendar import TZ


@click.group()
def keys() -> None:
    """API keys for the write endpoints (stored hashed; a key is shown once)."""


@keys.command("create")
@click.option("--name", required=True, help="Who holds the key (shown in the audit trail).")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--agency", "agency_code", default=None, help="The agency of an agency key.")
@click.option("--rate-limit", type=click.IntRange(1), default=600, show_default=True,
              help="Requests per minute.")
@click.pass_obj
def create(app: AppContext, name: str, role: str, agency_code: str | None, rate_limit: int) -> None:
    """Issue a key and print it (it cannot be shown again)."""
    with app.transaction() as conn:
        issued = issue_key(conn, name=name, role=role, agency_code=agency_code,
                           rate_limit_per_minute=rate_limit)
    click.echo(issued.key)


@keys.command("revoke")
@click.argument("prefix")
@click.pass_obj
def revoke(app: AppContext, prefix: str) -> None:
    """Revoke the key whose prefix (the part after ``gis_``) is PREFIX."""
    with app.transaction() as conn:
        revoke_key(conn, prefix)
    click.echo(f"revoked {prefix}")


@keys.command("list")
@click.pass_obj
def list_command(app: AppContext) -> None:
    """Every key: prefix, role, agency, created, revoked or active, rate limit, holder."""
    with app.engine.connect() as conn:
        keys = list_keys(conn)
    click.echo("prefix    role    agency          created     state               per-min  holder")
    for key in keys:
        revoked = key.revoked_at
        state = f"revoked {revoked.astimezone(TZ):%Y-%m-%d}" if revoked else "active"
        created = f"{key.created_at.astimezone(TZ):%Y-%m-%d}"
        click.echo(f"{key.prefix}  {key.role:<7} {key.agency or '-':<15} {created}  "
                   f"{state:<19} {key.rate_limit_per_minute:>7}  {key.name}")
