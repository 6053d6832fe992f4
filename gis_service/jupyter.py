"""JupyterLab on the project's database: what the notebooks need, and the command that runs it.

The notebooks in ``notebooks/`` find the database the way any analyst's code does, through
``DATABASE_URL`` (:func:`gis_service.analysis.engine`); the server passes its environment to
every kernel it starts, so setting it for the server is enough. Kernels are the virtualenv's
own: the server runs on this interpreter, and Jupyter is told to prefer the environment's
kernel over one a user may have registered in their home folder.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, select

from gis_service import health
from gis_service.config import PROJECT_ROOT, Settings
from gis_service.db.schema import report
from gis_service.maps.notebook import mirror_assets

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
#: JupyterLab's usual port; when it is taken Jupyter tries the next ones itself.
DEFAULT_PORT = 8888


@dataclass(frozen=True)
class LabLaunch:
    """The process to run: arguments, environment and working directory."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: Path


def missing_data(conn: Connection) -> list[str]:
    """What the notebooks need that the database lacks, in words (empty when nothing is).

    >>> missing_data(conn)  # doctest: +SKIP
    ['no reports: the notebooks analyse reports; ...']
    """
    if health.check(conn).active_generation is None:
        return ["no active boundary generation: run `./manage demo` (or `gis-service demo "
                "--no-serve`) to load Huế's boundaries and sample reports"]
    if conn.execute(select(report.c.id).limit(1)).first() is None:
        return ["no reports: the notebooks analyse reports; load a history with `gis-service "
                "reports generate --out FILE` and `gis-service reports import FILE`"]
    return []


def _as_root() -> tuple[str, ...]:
    # Jupyter refuses to run as root unless told; ./manage runs as root on a fresh machine.
    return ("--allow-root",) if hasattr(os, "geteuid") and os.geteuid() == 0 else ()


def lab_launch(settings: Settings, database_url: str, *, port: int = DEFAULT_PORT,
               extra_args: Sequence[str] = (), environ: Mapping[str, str] | None = None
               ) -> LabLaunch:
    """JupyterLab on 127.0.0.1 in ``notebooks/``, no browser, kernels on ``database_url``.

    Prepares the map files the notebooks' maps load (see :mod:`gis_service.maps.notebook`)
    under the state directory. ``extra_args`` go to ``jupyter lab`` as they are.

    >>> launch = lab_launch(settings, url, port=8890)  # doctest: +SKIP
    >>> launch.argv[1:3], launch.env["DATABASE_URL"] == url  # doctest: +SKIP
    (('-m', 'jupyterlab'), True)
    """
    static = mirror_assets(settings.state_dir / "notebooks" / "static")
    argv = (sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
            f"--port={port}", f"--ServerApp.root_dir={NOTEBOOKS_DIR}",
            f"--ServerApp.extra_static_paths={static}", *_as_root(), *extra_args)
    env = {**(os.environ if environ is None else environ), "DATABASE_URL": database_url,
           "JUPYTER_PREFER_ENV_PATH": "1"}
    return LabLaunch(argv, env, NOTEBOOKS_DIR)
