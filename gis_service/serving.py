"""Run the web app under gunicorn (never Flask's development server)."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask
from gunicorn.app.base import BaseApplication

from gis_service.config import Settings

log = logging.getLogger(__name__)


class GunicornServer(BaseApplication):
    """gunicorn configured in code; each worker builds its own app (and engine) after fork."""

    def __init__(self, settings: Settings, *, host: str, port: int, workers: int) -> None:
        self.settings = settings
        self.options = {
            "bind": f"{host}:{port}",
            "workers": workers,
            # gthread workers keep HTTP connections alive (sync workers would not); ours write
            # gunicorn's own errors as problem+json (web/server_errors.py).
            "worker_class": "gis_service.web.server_errors.ProblemThreadWorker",
            "threads": settings.threads,
            "timeout": 60,
            "graceful_timeout": 10,
            "keepalive": 5,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "preload_app": False,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from gis_service.web import create_app  # noqa: PLC0415  # built per worker, after fork

        app = create_app(self.settings)
        if self.settings.warm_resolutions:
            threading.Thread(target=warm_study_areas,
                             args=(app, self.settings.warm_resolutions), name="warm-study-areas",
                             daemon=True).start()
        return app


def warm_study_areas(app: Flask, resolutions: tuple[int, ...]) -> None:
    """The census raster and each configured resolution's study area (cells, polygons, ring-1
    weights) built once, coarsest first, so the first map page or analysis after start does not pay for them.
    A failure is logged, never raised: the analyses build what they miss themselves."""
    from gis_service.analysis import grid  # noqa: PLC0415  # the worker's, after fork
    from gis_service.analysis.residents import resident_raster  # noqa: PLC0415
    from gis_service.web.services import services  # noqa: PLC0415

    with app.app_context():
        engine = services().engine
    try:
        with engine.connect() as conn:
            resident_raster(conn)  # the residents behind every "excess" analysis
    except Exception:  # a warm-up is best effort; the traceback is logged
        log.exception("warming the resident raster failed")
        return
    for resolution in sorted(resolutions):
        started = time.perf_counter()
        try:
            with engine.connect() as conn:
                grid.warm(conn, resolution)
        except Exception:  # a warm-up is best effort; the traceback is logged
            log.exception("warming the study area at resolution %s failed", resolution)
            return
        log.info("study area at resolution %s warm in %.1f s", resolution,
                 time.perf_counter() - started)


def serve(settings: Settings, *, host: str | None = None, port: int | None = None,
          workers: int | None = None) -> None:
    """Serve until interrupted."""
    server = GunicornServer(
        settings,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
    )
    server.run()

