"""``gis-service notify``: the notification worker, the delivery log and dead letters."""

from __future__ import annotations

import logging
import os
import signal
import uuid
from types import FrameType

import click

from gis_service.cli.context import AppContext
from gis_service.db.schema import DELIVERY_STATUSES
from gis_service.notify.log import agency_id_of, deliveries, retry_dead
from gis_service.notify.worker import Worker


@click.group()
def notify() -> None:
    """Notifications to agencies: deliver them, list them, retry dead letters."""


@notify.command()
@click.option("--once", is_flag=True,
              help="Check for overdue reports once, deliver everything due now, then exit.")
@click.pass_obj
def run(app: AppContext, once: bool) -> None:
    """Deliver the outbox until stopped (SIGTERM/SIGINT finish the deliveries in flight)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s notify %(levelname)s %(message)s")
    worker = Worker(app.engine, app.settings.notify, os.environ)

    def stop(signum: int, frame: FrameType | None) -> None:
        del frame
        click.echo(f"notify: signal {signum}, stopping after the deliveries in flight", err=True)
        worker.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"notify: worker {os.getpid()} delivering"
               + (" what is due, once" if once else " until stopped"), err=True)
    click.echo(worker.run(once=once).describe())


@notify.command("deliveries")
@click.argument("agency_code")
@click.option("--status", type=click.Choice(DELIVERY_STATUSES), default=None)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.pass_obj
def list_deliveries(app: AppContext, agency_code: str, status: str | None, limit: int) -> None:
    """An agency's deliveries, newest first."""
    with app.transaction() as conn:
        page = deliveries(conn, agency_id_of(conn, agency_code), status=status, page_size=limit)
    for d in page.deliveries:
        click.echo(f"{d.delivery_id}\t{d.report}\t{d.event}\t{d.channel}\t{d.status}\t"
                   f"{d.attempts} attempts\t{d.last_error or ''}")
    click.echo(f"{len(page.deliveries)} deliveries" + (" (more: raise --limit)" if page.more else ""))


@notify.command()
@click.option("--agency", "agency_code", default=None, help="Only this agency's dead letters.")
@click.option("--delivery", "delivery_id", type=click.UUID, default=None, help="Only this one.")
@click.pass_obj
def retry(app: AppContext, agency_code: str | None, delivery_id: uuid.UUID | None) -> None:
    """Give dead letters a fresh set of attempts (the same delivery ids)."""
    with app.transaction() as conn:
        count = retry_dead(conn, agency_code=agency_code, delivery_id=delivery_id)
    click.echo(f"{count} dead letters queued again")
