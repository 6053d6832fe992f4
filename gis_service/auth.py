"""API keys: issued once, stored hashed, compared in constant time, each with a role.

Roles: ``client`` submits reports and reads public data; ``agency`` reads and updates its own
agency's reports (and sees their reporters' contact details); ``admin`` does everything. A key
reads ``gis_<prefix>_<secret>``: the prefix finds the row, the secret is only ever hashed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, select, update

from gis_service.db.schema import agency, api_key
from gis_service.errors import Forbidden, InvalidInput, NotFound, Unauthorized

ROLES = ("client", "agency", "admin")
_PREFIX_CHARS = 8
# Compared against when the prefix is unknown, so a miss costs the same as a wrong secret.
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()
#: gis_<prefix>_<secret>: 8 hex digits, then token_urlsafe's alphabet (which has "_" too).
_KEY_SHAPE = re.compile(r"gis_([0-9a-f]{8})_([A-Za-z0-9_-]{1,200})")



@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, name, role and (for agency keys) agency."""

    key_id: int
    name: str
    role: str
    agency_id: int | None
    rate_limit_per_minute: int

    @property
    def actor(self) -> str:
        """How events name this caller."""
        return f"key:{self.name} ({self.role})"


@dataclass(frozen=True)
class IssuedKey:
    key: str
    prefix: str
    role: str


def _hash(secret: str) -> str:
    # Secrets are 256 random bits: a plain SHA-256 cannot be brute-forced, no slow KDF needed.
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(conn: Connection, *, name: str, role: str, agency_code: str | None = None,
              rate_limit_per_minute: int = 600) -> IssuedKey:
    """Create a key; the full key is returned once and never stored."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    if (role == "agency") != (agency_code is not None):
        raise InvalidInput("an agency key needs an agency, and only an agency key has one",
                           field="agency")
    agency_id = None
    if agency_code is not None:
        agency_id = conn.execute(select(agency.c.id).where(agency.c.code == agency_code)).scalar()
        if agency_id is None:
            raise NotFound(f"no agency {agency_code!r}", field="agency")
    prefix = secrets.token_hex(_PREFIX_CHARS // 2)
    secret = secrets.token_urlsafe(32)
    conn.execute(insert(api_key).values(
        prefix=prefix, secret_hash=_hash(secret), name=name, role=role, agency_id=agency_id,
        rate_limit_per_minute=rate_limit_per_minute))
    return IssuedKey(f"gis_{prefix}_{secret}", prefix, role)


def revoke_key(conn: Connection, prefix: str) -> None:
    done = conn.execute(update(api_key).where(api_key.c.prefix == prefix, api_key.c.revoked_at.is_(None))
                        .values(revoked_at=func.now()))
    if done.rowcount == 0:
        raise NotFound(f"no active key with prefix {prefix!r}", field="prefix")


def authenticate(conn: Connection, presented: str | None) -> Principal:
    """The principal behind a presented key; :class:`Unauthorized` for missing, wrong or revoked."""
    if not presented:
        raise Unauthorized("an API key is required (header X-API-Key)", field="api_key")
    shape = _KEY_SHAPE.fullmatch(presented)
    # A malformed key (a NUL, say, which PostgreSQL cannot even compare) is never looked up;
    # it is still compared, against the dummy, like an unknown prefix.
    prefix, secret = shape.groups() if shape else ("", "")
    row = None if shape is None else conn.execute(
        select(api_key.c.id, api_key.c.name, api_key.c.role, api_key.c.agency_id,
               api_key.c.rate_limit_per_minute, api_key.c.secret_hash, api_key.c.revoked_at)
        .where(api_key.c.prefix == prefix)
    ).one_or_none()
    stored = row.secret_hash if row is not None else _DUMMY_HASH
    matches = hmac.compare_digest(_hash(secret), stored)
    if row is None or not matches or row.revoked_at is not None:
        raise Unauthorized("the API key is not valid", field="api_key")
    return Principal(row.id, row.name, row.role, row.agency_id, row.rate_limit_per_minute)


def _with_article(words: str) -> str:
    """ "an agency or admin", "a client": the article English wants before the first word."""
    return ("an " if words[:1] in "aeiou" else "a ") + words


def require_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles and principal.role != "admin":
        raise Forbidden(f"this needs {_with_article(' or '.join(roles))} key", field="api_key")


@dataclass(frozen=True)
class KeyListing:
    """A key as ``gis-service keys list`` shows it: never its secret or its hash."""

    prefix: str
    name: str
    role: str
    agency: str | None
    rate_limit_per_minute: int
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def list_keys(conn: Connection) -> list[KeyListing]:
    """Every key, oldest first, with its agency's code (agency keys)."""
    rows = conn.execute(
        select(api_key.c.prefix, api_key.c.name, api_key.c.role,
               agency.c.code.label("agency"), api_key.c.rate_limit_per_minute,
               api_key.c.created_at, api_key.c.revoked_at)
        .outerjoin(agency, agency.c.id == api_key.c.agency_id)
        .order_by(api_key.c.id))
    return [KeyListing(*row) for row in rows]
