"""Run the web app under gunicorn (never Flask's development server)."""

from __future__ import annotations

from flask import Flask
from gunicorn.app.base import BaseApplication

from gis_service.config import Settings


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

        return create_app(self.settings)


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

