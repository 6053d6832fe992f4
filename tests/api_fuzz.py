"""Schemathesis over our own /openapi.json, in process (WSGI): shared by the API fuzz test and
benchmarks/fuzz_api.py.

Each operation is fuzzed in three passes: positive (data the document allows), ``known`` (the
same with what is known to exist fixed: a stored report in the path, a real category and
generation in the query, a valid body; see :class:`Known`), so that the handlers get past
their 404 and 422 to their successful answers, and negative (data the document forbids).
No answer may be a 5xx, and each must match the document: a documented status, content type,
headers and body schema; negative data must be refused with a 4xx.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.generation import GenerationMode
from sqlalchemy import Engine, select

from gis_service.auth import issue_key
from gis_service.boundaries.manifest import load_manifest
from gis_service.config import Settings
from gis_service.db.schema import report
from gis_service.reports.importing.importer import import_reports
from gis_service.reports.setup import load_config
from gis_service.synthetic.generator import category_codes, generate, load_communes

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]
#: Operations that answer schema-violating parts of a body with 200 by design, so
#: negative_data_rejection does not apply: a batch answers each bad item with its own error.
PER_ITEM_ERRORS = frozenset({"POST /v1/geocode/batch"})
#: Writes that need more than a client key.
AGENCY_OPERATIONS = frozenset({"PATCH /v1/reports/{public_id}",
                               "POST /v1/reports/{public_id}/public-text",
                               "GET /v1/agencies/{code}/deliveries"})
PASSES = ("positive", "known", "negative")


@dataclass(frozen=True)
class Keys:
    """The API keys the fuzzer sends: a client's, and an admin's for agency-only writes."""

    client: str
    admin: str

    def for_operation(self, label: str) -> str:
        return self.admin if label in AGENCY_OPERATIONS else self.client


@dataclass(frozen=True)
class Outcome:
    """One operation in one pass: how many requests were sent, and the failure, if any."""

    operation: str
    mode: str
    requests: int
    seconds: float
    failure: str | None


def prepare_database(engine: Engine, settings: Settings, *, history_csv: Path, reports: int,
                     seed: int) -> None:
    """Huế's boundaries, the report config and ``reports`` generated reports over two years
    (emerging hot spots need their periods), committed into an empty migrated database."""
    with engine.begin() as conn:
        load_manifest(conn, settings)
        load_config(conn, settings)
    with engine.connect() as conn:
        communes = load_communes(conn)
    history = generate(communes, out=history_csv, count=reports, seed=seed,
                       categories=category_codes(settings))
    with engine.begin() as conn:
        # Not strict: the generator draws inside the 2019 communes, a few of whose points lie
        # past Huế's official outline and are refused as outside the service area (issue #13).
        summary = import_reports(conn, history.reports_path)
    assert set(summary.by_reason) <= {"outside_service_area"}, summary.by_reason


def issue_keys(engine: Engine) -> Keys:
    """A client and an admin key, limits far above what the fuzzer sends (a 429 would hide
    the handlers behind it)."""
    with engine.begin() as conn:
        return Keys(*(issue_key(conn, name=f"fuzz-{role}", role=role,
                                rate_limit_per_minute=1_000_000).key
                      for role in ("client", "admin")))


@dataclass(frozen=True)
class Known:
    """Values that exist, for the ``known`` pass: path and query parameters by name, and whole
    bodies by operation, so that generated requests reach the handlers' successful answers
    (a random category is a 422, a random generation a 404, a random point outside Huế)."""

    path: Mapping[str, str]
    query: Mapping[str, object]
    bodies: Mapping[str, object]

    def applies(self, operation: Any) -> dict[str, Any]:
        """``as_strategy`` keyword arguments fixing what is known for ``operation``."""
        fixed: dict[str, Any] = {}
        for where, values, parameters in (("path_parameters", self.path, operation.path_parameters),
                                          ("query", self.query, operation.query)):
            names = {parameter.name for parameter in parameters}
            chosen = {name: value for name, value in values.items() if name in names}
            if chosen:
                fixed[where] = chosen
        if operation.label in self.bodies:
            fixed["body"] = self.bodies[operation.label]
        return fixed


def known_values(engine: Engine, keys: Keys) -> Known:
    """A stored report (as itself, an Open311 request and a token), a category, a point in Vỹ
    Dạ, an address, the 2025 generation, and a valid body for each write."""
    with engine.connect() as conn:
        public_id = conn.execute(select(report.c.public_id).order_by(report.c.id).limit(1)).scalar_one()
    point = {"lat": 16.4779, "lon": 107.611}
    return Known(
        path={"public_id": public_id, "service_request_id": public_id, "token": public_id,
              "service_code": "sanitation", "code": "ubnd-hue"},
        query={**point, "generation": "2025", "category": "sanitation",
               "service_code": "sanitation", "q": "Phường Vỹ Dạ, Thành phố Huế",
               "by": "commune"},
        bodies={
            "POST /v1/reports": {"category": "sanitation", "description": "fuzz", **point},
            "PATCH /v1/reports/{public_id}": {"status": "accepted", "note": "fuzz"},
            "POST /v1/reports/{public_id}/rating": {"satisfaction": 4,
                                                    "reporter_token": "rpt_fuzz"},
            "POST /v1/reports/{public_id}/public-text": {"reason": "fuzz", "hidden": False},
            "POST /v1/geocode/batch": {"items": [{"id": 1, **point},
                                                 {"id": "2", "q": "Vỹ Dạ, Huế"}]},
            "POST /open311/v2/requests.{fmt}": {
                "api_key": keys.client, "service_code": "sanitation", "lat": "16.4779",
                "long": "107.611", "description": "fuzz", "email": "fuzz@example.invalid"},
        },
    )


def load_schema(app: Flask) -> Any:
    """Our OpenAPI document as schemathesis reads it, answered by ``app`` in process."""
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


def operations(schema: Any) -> list[Any]:
    """Every operation of the document (a broken definition fails here, loudly)."""
    return [result.ok() for result in schema.get_all_operations()]


def _strategy(operation: Any, mode: str, known: Known) -> Any:
    """The requests of a pass; None for ``known`` when nothing is known for the operation."""
    if mode == "negative":
        return operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
    fixed = known.applies(operation) if mode == "known" else {}
    if mode == "known" and not fixed:
        return None
    return operation.as_strategy(generation_mode=GenerationMode.POSITIVE, **fixed)


def _with_form_key(case: Any, key: str, mode: str) -> None:
    """Open311 takes its key in the form: put a valid one where the document asks for it."""
    if mode != "negative" and isinstance(case.body, dict) and "api_key" in case.body:
        case.body["api_key"] = key


def fuzz_operation(operation: Any, mode: str, *, keys: Keys, known: Known,
                   max_examples: int, seed: int | None = None) -> Outcome:
    """Send up to ``max_examples`` generated requests; the first failure is kept (shrunk).

    ``seed`` None: derandomized (the same requests on every run, as the test suite wants).
    """
    label = operation.label
    key = keys.for_operation(label)
    selected = [check for check in CHECKS
                if not (check is checks.negative_data_rejection and label in PER_ITEM_ERRORS)]
    sent = 0

    def call(case: Any) -> None:
        nonlocal sent
        sent += 1
        _with_form_key(case, key, mode)
        case.call_and_validate(headers={"X-API-Key": key}, checks=selected)

    strategy = _strategy(operation, mode, known)
    if strategy is None:
        return Outcome(label, mode, 0, 0.0, None)
    run: Callable[[], None] = given(case=strategy)(call)
    run = settings(max_examples=max_examples, derandomize=seed is None, database=None,
                   deadline=None, suppress_health_check=list(HealthCheck),
                   phases=[Phase.explicit, Phase.generate, Phase.shrink])(run)
    if seed is not None:
        run = hypothesis_seed(seed)(run)
    started = time.perf_counter()
    failure: str | None = None
    try:
        run()
    except Unsatisfiable:
        pass  # nothing to negate (no parameters, or only free-text path parameters)
    except (Exception, BaseExceptionGroup) as error:  # schemathesis' FailureGroup is the latter
        failure = str(error)
    return Outcome(label, mode, sent, time.perf_counter() - started, failure)
