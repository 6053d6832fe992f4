"""Test harness: a real PostGIS (the project's own cluster, or DATABASE_URL's server), a
throw-away database built by the migrations, and one rolled-back transaction per test."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, func, select

from gis_service.boundaries.manifest import load_manifest
from gis_service.config import Settings
from gis_service.db.engine import database_url, make_engine
from gis_service.db.scratch import scratch_database
from gis_service.synthetic.generator import (
    GeneratedHistory,
    category_codes,
    generate,
    load_communes,
)

IN_CI = bool(os.environ.get("CI"))


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session")
def server_url(settings: Settings) -> str:
    return database_url(settings, start=True)


@pytest.fixture(scope="session")
def empty_database(server_url: str, settings: Settings) -> Iterator[str]:
    """A database with nothing in it, for migration tests."""
    with scratch_database(server_url, settings, "test_empty", migrated=False) as url:
        yield url


@pytest.fixture(scope="session")
def database(server_url: str, settings: Settings) -> Iterator[str]:
    """The session's test database, at the migrations' head."""
    with scratch_database(server_url, settings, "test") as url:
        yield url


@pytest.fixture(scope="session")
def engine(database: str, settings: Settings) -> Iterator[Engine]:
    engine = make_engine(database, settings)
    yield engine
    engine.dispose()


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


def require_data(settings: Settings) -> None:
    """Skip without the shared data root on a laptop; fail in CI, where it must be present."""
    if settings.has_data_root:
        return
    message = f"shared data root {settings.data_root} is absent (set GIS_DATA_ROOT)"
    if IN_CI:
        pytest.fail(message + ": CI must have it")
    pytest.skip(message)


@pytest.fixture(scope="session")
def data_root(settings: Settings) -> object:
    require_data(settings)
    return settings.data_root


@dataclass(frozen=True)
class HueDB:
    """The session database with Huế's boundary manifests loaded and committed."""

    settings: Settings
    engine: Engine
    generations: tuple[str, ...]


@pytest.fixture(scope="session")
def hue_db(settings: Settings, engine: Engine) -> HueDB:
    """Load every manifest in boundaries/ (2019, and 2025 once it exists) into the session
    database, once, committed. Skips without the shared data root (fails in CI).

    Tests using it must leave those generations as they are (use ``conn`` for changes).
    """
    require_data(settings)
    with engine.begin() as connection:
        results = load_manifest(connection, settings)
    return HueDB(settings, engine, tuple(result.code for result in results))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests that use ``hue_db`` last: it commits Huế's boundaries into the session
    database, and tests with drawn units count every unit in it (a stable sort keeps the
    order otherwise)."""
    items.sort(key=lambda item: "hue_db" in getattr(item, "fixturenames", ()))


@dataclass(frozen=True)
class ReportsDB:
    """A database of its own (reports are committed by the API) with Huế, config and keys."""

    settings: Settings
    engine: Engine
    keys: dict[str, str]


@pytest.fixture(scope="session")
def reports_db(server_url: str, settings: Settings) -> Iterator[ReportsDB]:
    """Boundaries, categories, agencies, calendar, and a client and an admin API key."""
    require_data(settings)
    from gis_service.auth import issue_key  # noqa: PLC0415  # only the tests that need it pay
    from gis_service.reports.setup import load_config  # noqa: PLC0415

    with scratch_database(server_url, settings, "test_reports") as url:
        engine = make_engine(url, settings)
        with engine.begin() as connection:
            load_manifest(connection, settings)
            load_config(connection, settings)
            keys = {role: issue_key(connection, name=f"test-{role}", role=role).key
                    for role in ("client", "admin")}
        yield ReportsDB(settings, engine, keys)
        engine.dispose()


def row_counts(engine: Engine) -> tuple[int, ...]:
    """How many reports, events, contacts and idempotency keys the database holds."""
    from gis_service.db.schema import (  # noqa: PLC0415
        idempotency_key,
        report,
        report_contact,
        report_event,
    )

    tables = (report, report_event, report_contact, idempotency_key)
    with engine.connect() as conn:
        return tuple(conn.execute(select(*(
            select(func.count()).select_from(table).scalar_subquery() for table in tables))).one())


@contextmanager
def nothing_left(reports_db: ReportsDB) -> Iterator[None]:
    """The block writes no report, event, contact or idempotency key."""
    before = row_counts(reports_db.engine)
    yield
    assert row_counts(reports_db.engine) == before


def problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem document with ``status``, naming ``field`` when given."""
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "application/problem+json", response.get_data(as_text=True)[:500]
    body: dict[str, Any] = json.loads(response.get_data(as_text=True))
    assert body["status"] == status and body["title"] and body["detail"]
    if field is not None:
        assert body["field"] == field, body
    return body


@pytest.fixture(scope="session")
def app(reports_db: ReportsDB) -> Flask:
    """The API on ``reports_db``, for the modules that test it through the test client
    (a module that needs another database defines its own ``app``)."""
    from gis_service.web import create_app  # noqa: PLC0415

    return create_app(reports_db.settings, engine=reports_db.engine)


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


@dataclass(frozen=True)
class HistoryDB:
    """A database of its own with Huế, the report config and a generated history imported:
    the analyses' test data (hot spots, coverage, maps, notebooks)."""

    settings: Settings
    engine: Engine
    url: str
    history: GeneratedHistory
    imported: int


#: The generator's default size, and a fixed seed so every run sees the same history.
HISTORY_REPORTS = 37_000
HISTORY_SEED = 5


@pytest.fixture(scope="session")
def history_db(server_url: str, settings: Settings,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[HistoryDB]:
    """Boundaries, config, and about 37,000 generated reports over two years (seed 5), imported
    with the bulk importer; the generator's truth file is at ``history.truth_path``. Read-only:
    tests must not change it (use a rolled-back transaction for anything they write)."""
    require_data(settings)
    from gis_service.reports.importing.importer import import_reports  # noqa: PLC0415  # only its users pay
    from gis_service.reports.setup import load_config  # noqa: PLC0415

    with scratch_database(server_url, settings, "test_history") as url:
        engine = make_engine(url, settings)
        with engine.begin() as connection:
            load_manifest(connection, settings)
            load_config(connection, settings)
        with engine.connect() as connection:
            communes = load_communes(connection)
        history = generate(communes, out=tmp_path_factory.mktemp("history") / "history.csv",
                           count=HISTORY_REPORTS, seed=HISTORY_SEED,
                           categories=category_codes(settings))
        with engine.begin() as connection:
            summary = import_reports(connection, history.reports_path, strict=True)
        yield HistoryDB(settings, engine, url, history, summary.imported)
        engine.dispose()
