"""``gis-service serve``: the API and maps under gunicorn on 127.0.0.1."""

from __future__ import annotations

import click

from gis_service.cli.context import AppContext
from gis_service.serving import serve as run_server


@click.command()
@click.option("--host", default=None, help="Interface to bind (default GIS_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default GIS_PORT, 8000).")
@click.option("--workers", type=int, default=None, help="gunicorn workers (default GIS_WORKERS, 2).")
@click.pass_obj
def serve(app: AppContext, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the API, its docs and the maps with gunicorn until interrupted."""
    app.url()  # fail early, with the cluster started, rather than in every worker
    click.echo(f"serving on http://{host or app.settings.host}:{port or app.settings.port} "
               "(docs at /docs, health at /healthz)")
    run_server(app.settings, host=host, port=port, workers=workers)
