"""Settings: one typed object read from the environment (``GIS_*`` over documented defaults).

Nothing reads the environment at import time; call :func:`Settings.from_env` once at start-up
and pass the result down. A bad value fails there, naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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


def _share(raw: str) -> float:
    value = float(raw)
    if not 0.0 <= value <= 1.0:
        raise ValueError("must be a number from 0 to 1")
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


def _boolean(raw: str) -> bool:
    # Only these spellings: 'false' must never be read as true.
    words = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
    if raw.lower() not in words:
        raise ValueError("must be true or false (1/0, yes/no)")
    return words[raw.lower()]


def _any_port(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 65535:
        raise ValueError("must be a port between 1 and 65535")
    return value


@dataclass(frozen=True)
class NotifySettings:
    """The notification worker and its SMTP server (``GIS_NOTIFY_*``, ``GIS_SMTP_*``).

    >>> NotifySettings.from_env({"GIS_NOTIFY_MAX_ATTEMPTS": "3"}).max_attempts
    3
    """

    #: GIS_NOTIFY_TIMEOUT_S: one webhook request or SMTP conversation, at most.
    timeout_s: float = 10.0
    #: GIS_NOTIFY_LEASE_S: a claimed row is another worker's to retry after this (a crash).
    lease_s: float = 60.0
    #: GIS_NOTIFY_MAX_ATTEMPTS: after this many failed attempts a delivery is dead.
    max_attempts: int = 12
    #: GIS_NOTIFY_BACKOFF_S / GIS_NOTIFY_BACKOFF_MAX_S: first retry delay, doubling up to the cap.
    backoff_s: float = 30.0
    backoff_max_s: float = 3600.0
    #: GIS_NOTIFY_POLL_S: how often an idle worker looks for due rows.
    poll_s: float = 1.0
    #: GIS_NOTIFY_OVERDUE_EVERY_S: how often the worker looks for newly overdue reports.
    overdue_every_s: float = 60.0
    #: GIS_NOTIFY_CONCURRENCY: deliveries in flight at once per worker (rows claimed at a time).
    concurrency: int = 4
    #: GIS_SMTP_HOST (empty: e-mail channels fail, and are retried, until it is set), _PORT.
    smtp_host: str = ""
    smtp_port: int = 25
    #: GIS_SMTP_SENDER: the From address of notification e-mails.
    smtp_sender: str = "paht-gis@localhost"
    #: GIS_SMTP_STARTTLS: upgrade the connection with STARTTLS before sending.
    smtp_starttls: bool = False
    #: GIS_SMTP_USER / GIS_SMTP_PASSWORD: log in when a user is given.
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> NotifySettings:
        d = cls()
        found = cls(
            timeout_s=_read(env, "GIS_NOTIFY_TIMEOUT_S", _positive_float, d.timeout_s),
            lease_s=_read(env, "GIS_NOTIFY_LEASE_S", _positive_float, d.lease_s),
            max_attempts=_read(env, "GIS_NOTIFY_MAX_ATTEMPTS", _positive_int, d.max_attempts),
            backoff_s=_read(env, "GIS_NOTIFY_BACKOFF_S", _positive_float, d.backoff_s),
            backoff_max_s=_read(env, "GIS_NOTIFY_BACKOFF_MAX_S", _positive_float, d.backoff_max_s),
            poll_s=_read(env, "GIS_NOTIFY_POLL_S", _positive_float, d.poll_s),
            overdue_every_s=_read(env, "GIS_NOTIFY_OVERDUE_EVERY_S", _positive_float,
                                  d.overdue_every_s),
            concurrency=_read(env, "GIS_NOTIFY_CONCURRENCY", _positive_int, d.concurrency),
            smtp_host=env.get("GIS_SMTP_HOST") or d.smtp_host,
            smtp_port=_read(env, "GIS_SMTP_PORT", _any_port, d.smtp_port),
            smtp_sender=env.get("GIS_SMTP_SENDER") or d.smtp_sender,
            smtp_starttls=_read(env, "GIS_SMTP_STARTTLS", _boolean, d.smtp_starttls),
            smtp_user=env.get("GIS_SMTP_USER") or d.smtp_user,
            smtp_password=env.get("GIS_SMTP_PASSWORD") or d.smtp_password,
        )
        # A request may last the whole timeout (and an SMTP conversation a few of them): a
        # lease shorter than that hands rows still in flight to another worker.
        if found.lease_s < 3 * found.timeout_s:
            raise ConfigError(f"GIS_NOTIFY_LEASE_S={found.lease_s:g} must be at least 3 x "
                              f"GIS_NOTIFY_TIMEOUT_S ({found.timeout_s:g})")
        if found.backoff_max_s < found.backoff_s:
            raise ConfigError("GIS_NOTIFY_BACKOFF_MAX_S must be at least GIS_NOTIFY_BACKOFF_S")
        return found


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
    #: GIS_MIN_ROUTING_CONFIDENCE: a geocoded report is routed to a commune only at commune
    #: precision and at least this confidence; vaguer ones are held or refused. 0.5: on the
    #: labelled set every wrong top answer scores <= 0.4 and 99.2% of right ones >= 0.5 (tied,
    #: ambiguous answers are never routed, whatever their confidence).
    min_routing_confidence: float = 0.5
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
    #: GIS_NOTIFY_* and GIS_SMTP_*: the notification worker (see NotifySettings).
    notify: NotifySettings = field(default_factory=NotifySettings)
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
            min_routing_confidence=_read(
                env, "GIS_MIN_ROUTING_CONFIDENCE", _share, default.min_routing_confidence
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
            notify=NotifySettings.from_env(env),
            cors_write_origins=_read(env, "GIS_CORS_WRITE_ORIGINS", _origins,
                                     default.cors_write_origins),
        )

    @property
    def has_data_root(self) -> bool:
        return (self.data_root / "boundaries").is_dir()
