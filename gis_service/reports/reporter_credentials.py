"""Who may rate a report: the resident who filed it, and nobody else.

Submission through ``POST /v1/reports`` returns a *reporter token* once; only its SHA-256 is
stored (the token is 256 random bits, as API keys are: a plain hash cannot be brute-forced).
Open311 clients identify their user with ``account_id`` or ``device_id``; that identity is
stored hashed together with the submitting key, so it proves nothing to another client.

Rating needs a client key (the resident's app) and one of the two; an agency or admin key is
refused whatever it presents (they answer reports, they do not judge their own answers).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import Connection, select, update

from gis_service.auth import Principal
from gis_service.db.schema import report
from gis_service.errors import Forbidden, Unauthorized

TOKEN_PREFIX = "rpt_"
TOKEN_HEADER = "X-Reporter-Token"
MAX_DEVICE_CHARS = 200
_DUMMY = hashlib.sha256(b"no reporter credential").hexdigest()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def device_hash(key_id: int, device: str) -> str:
    """The stored form of an Open311 ``account_id``/``device_id`` sent with key ``key_id``."""
    return _sha256(f"{key_id}:{device}")


def issue_token(conn: Connection, report_id: int) -> str:
    """A new reporter token for ``report_id`` (a previous one stops working); shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(update(report).where(report.c.id == report_id)
                 .values(reporter_token_hash=_sha256(token)))
    return token


def bind_device(conn: Connection, report_id: int, key_id: int, device: str) -> None:
    conn.execute(update(report).where(report.c.id == report_id)
                 .values(reporter_device_hash=device_hash(key_id, device)))


def require_rater(principal: Principal) -> None:
    """Only a client key may rate (before the report is even read)."""
    if principal.role != "client":
        raise Forbidden("only the resident who filed a report can rate it (with a client key "
                        "and the reporter token)", field="api_key")


def check_reporter(conn: Connection, report_id: int, principal: Principal, *,
                   token: str | None, device: str | None) -> None:
    """:class:`Unauthorized` without a credential, :class:`Forbidden` with a wrong one.

    Compared in constant time; a report without a stored credential compares against a dummy.
    """
    if not token and not device:
        raise Unauthorized(f"send the reporter token ({TOKEN_HEADER} or reporter_token), or "
                           "the device_id/account_id the report was filed with",
                           field="reporter_token")
    stored_token, stored_device = conn.execute(
        select(report.c.reporter_token_hash, report.c.reporter_device_hash)
        .where(report.c.id == report_id)).one()
    if token:
        if not hmac.compare_digest(_sha256(token), stored_token or _DUMMY):
            raise Forbidden("the reporter token does not belong to this report",
                            field="reporter_token")
        return
    presented = device_hash(principal.key_id, device or "")
    if not hmac.compare_digest(presented, stored_device or _DUMMY):
        raise Forbidden("this device_id/account_id with this key did not file the report",
                        field="device_id")
