"""Submitting a report exactly once, however often the client retries with the same key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from gis_service.auth import Principal
from gis_service.geocode import GeocodeIndex
from gis_service.reports.idempotency import StoredResponse, complete, reserve
from gis_service.reports.intake import NewReport, submit


@dataclass(frozen=True)
class Submission:
    """A stored report's answer: ``status_code`` is the one the caller asked to store with it
    (the web layer's "created"), replayed unchanged to a retry."""

    status_code: int
    body: dict[str, Any]
    replayed: bool


def submit_once(
    conn: Connection,
    new: NewReport,
    *,
    principal: Principal,
    idempotency_key: str | None,
    fingerprint: str,
    index: GeocodeIndex,
    tolerance_m: float,
    render: Callable[[Connection, int], dict[str, Any]],
    created_status: int,
) -> Submission:
    """Store ``new`` and return its rendered answer, or replay the answer a key already got.

    Everything happens in the caller's transaction: the report, its events and the stored
    answer commit together, or none of them does. ``created_status`` is stored with the answer
    (this module knows no protocol; the web layer passes HTTP's 201).
    """
    if idempotency_key is not None:
        stored = reserve(conn, principal.key_id, idempotency_key, fingerprint)
        if stored is not None:
            return Submission(stored.status_code, stored.body, replayed=True)
    report_id = submit(conn, new, index=index, actor=principal.actor, tolerance_m=tolerance_m)
    body = render(conn, report_id)
    if idempotency_key is not None:
        complete(conn, principal.key_id, idempotency_key, StoredResponse(created_status, body), report_id)
    return Submission(created_status, body, replayed=False)
