"""Schemathesis against /openapi.json for every operation: no 5xx, every answer as documented.

Bounded for the suite (a few derandomized examples per operation and pass, the analyses'
slow operations fewer); benchmarks/fuzz_api.py runs the same passes longer, with a seed.
The fuzzer writes (reports, events, keys' usage), so it gets a database of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import Engine

from gis_service.config import Settings
from gis_service.db.engine import make_engine
from gis_service.db.scratch import scratch_database
from gis_service.web import create_app
from tests.api_fuzz import (
    PASSES,
    Keys,
    fuzz_operation,
    issue_keys,
    known_values,
    load_schema,
    operations,
    prepare_database,
)
from tests.conftest import require_data

EXAMPLES = 6
#: Each call computes Gi* (or coverage) over the whole province: a second or so apiece.
SLOW_EXAMPLES = 2
SLOW = ("/v1/hotspots", "/v1/coverage")
FUZZ_REPORTS = 1_500


@pytest.fixture(scope="module")
def fuzz_db(server_url: str, settings: Settings,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    require_data(settings)
    with scratch_database(server_url, settings, "test_fuzz") as url:
        engine = make_engine(url, settings)
        prepare_database(engine, settings, history_csv=tmp_path_factory.mktemp("fuzz") / "h.csv",
                         reports=FUZZ_REPORTS, seed=11)
        yield engine
        engine.dispose()


@pytest.fixture(scope="module")
def app(fuzz_db: Engine, settings: Settings) -> Flask:
    return create_app(settings, engine=fuzz_db)


@pytest.fixture(scope="module")
def keys(fuzz_db: Engine) -> Keys:
    return issue_keys(fuzz_db)


@pytest.mark.parametrize("mode", PASSES)
def test_every_operation_answers_as_documented(app: Flask, fuzz_db: Engine, keys: Keys,
                                               mode: str) -> None:
    known = known_values(fuzz_db, keys)
    fuzzed = []
    for operation in operations(load_schema(app)):
        slow = operation.path.startswith(SLOW)
        fuzzed.append(fuzz_operation(operation, mode, keys=keys, known=known,
                                     max_examples=SLOW_EXAMPLES if slow else EXAMPLES))
    assert len(fuzzed) >= 20, [outcome.operation for outcome in fuzzed]
    # Requests were sent (a negative pass finds nothing to negate in a few operations, and
    # nothing is known for a few others): all but those, and at least 80% of the operations.
    sent = sum(outcome.requests > 0 for outcome in fuzzed)
    assert sent >= 0.8 * len(fuzzed), [o.operation for o in fuzzed if o.requests == 0]
    failures = {f"{outcome.operation} ({mode})": outcome.failure
                for outcome in fuzzed if outcome.failure is not None}
    assert not failures, "\n\n".join(f"{name}:\n{text}" for name, text in failures.items())
