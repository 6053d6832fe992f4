"""Idempotency keys: a retried request returns the first response and creates nothing new.

The key is reserved at the start of the request's transaction (an insert that waits for any
concurrent holder of the same key to finish), so two copies of one request arriving together
cannot both create a report: the second waits, then replays the first's stored answer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert

from gis_service.db.schema import idempotency_key
from gis_service.errors import Conflict, InvalidInput

MAX_KEY_CHARS = 200


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]


def request_fingerprint(body: object) -> str:
    """The same request, whatever its key order or spacing, has the same fingerprint."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def reserve(conn: Connection, key_id: int, key: str, fingerprint: str) -> StoredResponse | None:
    """Reserve ``key`` for this request; if it was used before, the stored response instead.

    The same key with a different request body is a :class:`Conflict` (409).
    """
    # Printable only: a NUL (or a control character) cannot be stored as text.
    if not key or len(key) > MAX_KEY_CHARS or not key.isprintable():
        raise InvalidInput(f"Idempotency-Key must be 1 to {MAX_KEY_CHARS} printable characters",
                           field="Idempotency-Key")
    reserved = conn.execute(
        insert(idempotency_key)
        .values(api_key_id=key_id, key=key, request_hash=fingerprint, status_code=0, response={})
        .on_conflict_do_nothing()
        .returning(idempotency_key.c.key)
    ).first()
    if reserved is not None:
        return None
    row = conn.execute(
        select(idempotency_key.c.request_hash, idempotency_key.c.status_code,
               idempotency_key.c.response)
        .where(idempotency_key.c.api_key_id == key_id, idempotency_key.c.key == key)
    ).one()
    if row.request_hash != fingerprint:
        raise Conflict("this Idempotency-Key was used for a different request",
                       field="Idempotency-Key")
    return StoredResponse(row.status_code, row.response)


def complete(conn: Connection, key_id: int, key: str, response: StoredResponse,
             report_id: int | None) -> None:
    """Store the answer to replay, in the same transaction as the work it describes."""
    conn.execute(
        update(idempotency_key)
        .where(idempotency_key.c.api_key_id == key_id, idempotency_key.c.key == key)
        .values(status_code=response.status_code, response=response.body, report_id=report_id)
    )
