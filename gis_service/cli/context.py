"""What every CLI command shares: settings, a lazily created engine, and its transactions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import click
from sqlalchemy import Connection, Engine

from gis_service.config import Settings
from gis_service.db.engine import database_url, make_engine
from gis_service.errors import GisError


@dataclass
class AppContext:
    settings: Settings
    _engine: Engine | None = field(default=None, init=False)

    def url(self) -> str:
        """The database URL, starting the embedded cluster when it is the one in use."""
        return database_url(self.settings, start=True)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.url(), self.settings)
        return self._engine

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction; a GisError rolls it back and becomes a one-line error and exit 1."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except GisError as exc:
            raise click.ClickException(f"{exc.detail} (nothing was written)") from exc

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
