"""Settings: one typed object read from the environment (``GIS_*`` over documented defaults).

Nothing reads the environment at import time; call :func:`Settings.from_env` once at start-up
and pass the result down. A bad value fails there, naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A setting has a value we cannot use; the message names the variable."""


def _read(env: Mapping[str, str], key: str, parse: Callable[[str], T], default: T) -> T:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{key}={raw!r} is not valid: {exc}") from exc


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0 or value == float("inf"):
        raise ValueError("must be a positive number")
    return value


def _port(raw: str) -> int:
    value = int(raw)
    if not 1024 <= value <= 65535:
        raise ValueError("must be a port between 1024 and 65535")
    return value


def _tiles_url(raw: str) -> str:
    # Leaflet fills in {z}, {x} and {y}; a URL without them would fetch one image for every tile.
    if not raw.startswith(("http://", "https://", "/")):
        raise ValueError("must be an http(s) URL or a path on this server")
    missing = [part for part in ("{z}", "{x}", "{y}") if part not in raw]
    if missing:
        raise ValueError(f"must contain {', '.join(missing)}")
    return raw


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    for origin in origins:
        if not origin.startswith(("https://", "http://")) or "/" in origin.split("://", 1)[1]:
            raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
    return origins


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the environment variable that sets it.

    >>> Settings.from_env({"GIS_SNAP_TOLERANCE_M": "500"}).snap_tolerance_m
    500.0
    """

    #: DATABASE_URL: an existing PostGIS server; unset means the project's own cluster.
    database_url: str | None = None
    #: GIS_STATE_DIR: git-ignored folder for the embedded cluster and run-time files.
    state_dir: Path = PROJECT_ROOT / "var"
    #: GIS_PG_PORT: first port tried by the embedded cluster (the next free one is taken).
    pg_port: int = 54329
    #: GIS_DATA_ROOT: where boundary manifests resolve their files (../shared/data here).
    data_root: Path = PROJECT_ROOT.parent / "shared" / "data"
    #: GIS_BOUNDARIES_DIR: the manifests of Huế's boundary datasets.
    boundaries_dir: Path = PROJECT_ROOT / "boundaries"
    #: GIS_SNAP_TOLERANCE_M: how far outside every unit a point is still snapped to the nearest.
    snap_tolerance_m: float = 2000.0
    #: GIS_STATEMENT_TIMEOUT_MS: set on every database connection.
    statement_timeout_ms: int = 30000
    #: GIS_HOST / GIS_PORT / GIS_WORKERS: where and how many processes `gis-service serve` runs.
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    #: GIS_THREADS: threads per gunicorn worker (gthread workers keep connections alive).
    threads: int = 4
    #: GIS_DB_POOL_SIZE: connections each process keeps open.
    db_pool_size: int = 5
    #: GIS_MAX_BODY_BYTES: larger request bodies are refused with 413.
    max_body_bytes: int = 8 * 1024 * 1024
    #: GIS_TILES_URL: base map tiles for /maps ({z}/{x}/{y} template); empty = no tiles, a
    #: plain background, so the maps need no internet.
    tiles_url: str = ""
    #: GIS_TILES_ATTRIBUTION: credit shown under the tiles (default: the tile server's host).
    tiles_attribution: str = ""
    #: GIS_CORS_WRITE_ORIGINS: comma-separated origins (``https://portal.hue.gov.vn``) whose
    #: pages may write (POST, PATCH, DELETE) from a browser; public GETs answer any origin.
    cors_write_origins: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        default = cls()
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            state_dir=_read(env, "GIS_STATE_DIR", Path, default.state_dir),
            pg_port=_read(env, "GIS_PG_PORT", _port, default.pg_port),
            data_root=_read(env, "GIS_DATA_ROOT", Path, default.data_root),
            boundaries_dir=_read(env, "GIS_BOUNDARIES_DIR", Path, default.boundaries_dir),
            snap_tolerance_m=_read(
                env, "GIS_SNAP_TOLERANCE_M", _positive_float, default.snap_tolerance_m
            ),
            statement_timeout_ms=_read(
                env, "GIS_STATEMENT_TIMEOUT_MS", _positive_int, default.statement_timeout_ms
            ),
            host=env.get("GIS_HOST") or default.host,
            port=_read(env, "GIS_PORT", _port, default.port),
            workers=_read(env, "GIS_WORKERS", _positive_int, default.workers),
            threads=_read(env, "GIS_THREADS", _positive_int, default.threads),
            db_pool_size=_read(env, "GIS_DB_POOL_SIZE", _positive_int, default.db_pool_size),
            max_body_bytes=_read(env, "GIS_MAX_BODY_BYTES", _positive_int, default.max_body_bytes),
            tiles_url=_read(env, "GIS_TILES_URL", _tiles_url, default.tiles_url),
            tiles_attribution=env.get("GIS_TILES_ATTRIBUTION") or default.tiles_attribution,
            cors_write_origins=_read(env, "GIS_CORS_WRITE_ORIGINS", _origins,
                                     default.cors_write_origins),
        )

    @property
    def has_data_root(self) -> bool:
        return (self.data_root / "boundaries").is_dir()
