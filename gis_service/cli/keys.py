"""``gis-service keys``: issue, list and revoke API keys."""

from __future__ import annotations

import click

from gis_service.auth import ROLES, issue_key, list_keys, revoke_key
from gis_service.cli.context import AppContext


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
    """Every key: prefix, holder, role, when created and revoked."""
    with app.engine.connect() as conn:
        for key in list_keys(conn):
            revoked = f"revoked {key['revoked_at']:%Y-%m-%d}" if key["revoked_at"] else "active"
            click.echo(f"{key['prefix']}  {key['role']:<7} {revoked:<18} {key['name']}")
