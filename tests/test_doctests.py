"""Every docstring example of the package runs as a doctest, so none can drift from the code.

Examples that need the database get ``conn``: a connection to the generated history (Huế's
boundaries, the report configuration, ~37,000 reports) inside a transaction rolled back after
each module, so an example may write (``gis_service.api`` submits a report).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection

import gis_service
from tests.conftest import HistoryDB

# Entry points that act when imported (``python -m gis_service.cli``).
_NOT_IMPORTED = {"gis_service.cli.__main__"}
ALL_MODULES = sorted(m.name for m in pkgutil.walk_packages(gis_service.__path__, "gis_service.")
                     if m.name not in _NOT_IMPORTED)


@pytest.fixture(scope="module")
def history_conn(history_db: HistoryDB) -> Iterator[Connection]:
    with history_db.engine.connect() as connection:
        yield connection


def _examples(name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(name)
    return [test for test in doctest.DocTestFinder().find(module) if test.examples]


MODULES = [name for name in ALL_MODULES if _examples(name)]


def test_the_package_has_examples() -> None:
    counted = sum(len(test.examples) for name in MODULES for test in _examples(name))
    assert counted >= 150
    assert "gis_service.api" in MODULES, "the public API documents each function by example"


@pytest.mark.parametrize("name", MODULES)
def test_examples_hold(name: str, history_conn: Connection) -> None:
    tests = _examples(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    failures: list[str] = []
    transaction = history_conn.begin()
    try:
        for test in tests:
            test.globs = {**test.globs, "conn": history_conn}
            result = runner.run(test, out=failures.append)
            assert result.failed == 0, "".join(failures)
    finally:
        transaction.rollback()
