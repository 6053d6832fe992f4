"""What every CLI command shares: settings and a lazily created engine."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from gis_service.config import Settings
from gis_service.db.engine import database_url, make_engine


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

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
