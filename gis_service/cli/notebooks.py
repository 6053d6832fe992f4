"""``gis-service notebooks``: JupyterLab in notebooks/ on the project's database."""

from __future__ import annotations

import os

import click

from gis_service.cli.context import AppContext
from gis_service.db.engine import shown_url
from gis_service.errors import GisError
from gis_service.jupyter import DEFAULT_PORT, lab_launch, missing_data


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--port", type=click.IntRange(1024, 65535), default=DEFAULT_PORT, show_default=True,
              help="First port tried (Jupyter takes the next free one).")
@click.argument("jupyter_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def notebooks(app: AppContext, port: int, jupyter_args: tuple[str, ...]) -> None:
    """Open JupyterLab (no browser, 127.0.0.1) in notebooks/ with DATABASE_URL set for the
    kernels; starts the project's cluster if it is the database in use. Further arguments go
    to `jupyter lab`."""
    url = app.url()
    with app.engine.connect() as conn:
        for problem in missing_data(conn):
            click.secho(f"warning: {problem}", fg="yellow", err=True)
    try:
        launch = lab_launch(app.settings, url, port=port, extra_args=jupyter_args)
    except GisError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"JupyterLab in {launch.cwd} on database {shown_url(url)} (Ctrl-C to stop)")
    app.close()
    os.chdir(launch.cwd)
    # Replace this process: Ctrl-C and SIGTERM reach Jupyter, which shuts its kernels down.
    os.execve(launch.argv[0], list(launch.argv), dict(launch.env))
