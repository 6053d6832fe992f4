"""The boundary revision followed by LISTEN/NOTIFY (spatial/revision_watch.py, migration 0008),
and /v1/reverse answering from memory under it: the same answers as the SQL, never an answer
from boundaries the primary has since changed (once the watch has heard of the change)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, text

from gis_service.config import Settings
from gis_service.db.engine import make_engine
from gis_service.db.scratch import scratch_database
from gis_service.spatial import single
from gis_service.spatial.revision_watch import RevisionWatch
from gis_service.web import create_app
from gis_service.web import reverse as reverse_view
from tests.factories import add_generation, add_unit, square

X0, Y0, SIZE = 107.0, 16.0, 0.01
CODE = "watch-grid"


@pytest.fixture(scope="module")
def watched_engine(server_url: str, settings: Settings) -> Iterator[Engine]:
    """A database of its own (its revisions change here), with a province over 2x2 communes."""
    with scratch_database(server_url, settings, "test_watch") as url:
        engine = make_engine(url, settings)
        with engine.begin() as conn:
            gen = add_generation(conn, CODE)
            province = add_unit(conn, gen, "P", square(X0 - 1, Y0 - 1, 3), level="province")
            for col in (0, 1):
                for row in (0, 1):
                    add_unit(conn, gen, f"9{col}{row}",
                             square(X0 + col * SIZE, Y0 + row * SIZE, SIZE), parent_id=province)
        yield engine
        engine.dispose()


def _revision(engine: Engine) -> Any:
    with engine.connect() as conn:
        return conn.execute(text("SELECT revision FROM boundary_revision")).scalar_one()


def _bump(engine: Engine) -> Any:
    """A committed write to generation (a statement that changes no row still bumps)."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE generation SET description = description WHERE false"))
    return _revision(engine)


def _eventually(condition: Callable[[], bool]) -> None:
    """Wait for ``condition`` (a notification is asynchronous); fail after 20 s."""
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, "the watch never caught up"
        time.sleep(0.01)


def test_the_watch_follows_commits_and_reconnects(watched_engine: Engine) -> None:
    watch = RevisionWatch(watched_engine).start()
    try:
        _eventually(lambda: watch.revision == _revision(watched_engine))
        with watched_engine.connect() as conn:  # uncommitted: readers (and the watch) see none
            conn.execute(text("UPDATE generation SET description = description WHERE false"))
            pending = conn.execute(text("SELECT revision FROM boundary_revision")).scalar_one()
            conn.rollback()
        fresh = _bump(watched_engine)
        _eventually(lambda: watch.revision == fresh)
        assert pending != fresh
        killed = watch.backend_pid
        with watched_engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})
        _eventually(lambda: watch.backend_pid not in (None, killed))
        after = _bump(watched_engine)
        _eventually(lambda: watch.revision == after)
    finally:
        watch.stop()
    assert watch.revision is None  # a stopped watch vouches for nothing


def _apps(settings: Settings, engine: Engine) -> tuple[Flask, Flask]:
    return (create_app(settings, engine=engine, watch_revision=True),
            create_app(settings, engine=engine, watch_revision=False))


def _points() -> list[tuple[float, float]]:
    """Deep inside each commune, beside its edges, on them, and outside the grid."""
    offsets = (0.1, 0.25, 0.5, 0.75, 0.9, 0.9999, 1.0, 1.00005, 1.5)
    return [(X0 + a * SIZE, Y0 + b * SIZE) for a in offsets for b in offsets] + [(X0 - 0.5, Y0)]


def test_memory_answers_equal_the_sql_and_follow_a_change(
        settings: Settings, watched_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    watched, plain = _apps(settings, watched_engine)
    watch = watched.extensions["gis_service"].revision_watch
    opened = []
    real = reverse_view.connection

    def counted() -> Any:
        opened.append(1)
        return real()

    monkeypatch.setattr(reverse_view, "connection", counted)
    try:
        _eventually(lambda: watch.revision == _revision(watched_engine))

        def ask(app: Flask, lon: float, lat: float) -> Any:
            response = app.test_client().get(
                f"/v1/reverse?lat={lat}&lon={lon}&generation={CODE}")
            assert response.status_code == 200, response.get_data(as_text=True)
            return response.get_json()

        points = _points()
        [ask(plain, lon, lat) for lon, lat in points]  # the SQL's answers, cached by commune
        with watched_engine.connect() as conn:
            assert single._CORES.build(conn) is not None
        expected = [ask(plain, lon, lat) for lon, lat in points]
        opened.clear()
        assert [ask(watched, lon, lat) for lon, lat in points] == expected
        assert 0 < len(opened) < len(points) - 10  # edges asked the SQL, deep points did not

        with watched_engine.begin() as conn:
            conn.execute(text("UPDATE admin_unit SET name = 'Renamed' WHERE code = '900'"))
        changed = _revision(watched_engine)
        _eventually(lambda: watch.revision == changed)
        deep = ask(watched, X0 + 0.5 * SIZE, Y0 + 0.5 * SIZE)
        assert deep["units"]["commune"]["name"] == "Renamed"
    finally:
        watch.stop()
