"""Who is calling: the API key from the request, checked against the database."""

from __future__ import annotations

from flask import request
from sqlalchemy import Connection

from gis_service.auth import Principal, authenticate, require_role
from gis_service.ratelimit import count_request
from gis_service.web.services import services

HEADER = "X-API-Key"


def presented_key() -> str | None:
    """The key from the X-API-Key header, or ``Authorization: Bearer``."""
    key = request.headers.get(HEADER)
    if key:
        return key
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def optional_principal(conn: Connection) -> Principal | None:
    """Anonymous readers are allowed; a key, when given, must be valid."""
    key = presented_key()
    if key is None:
        return None
    principal = authenticate(conn, key)
    count_request(services().engine, principal)
    return principal


def required_principal(conn: Connection, *roles: str) -> Principal:
    principal = authenticate(conn, presented_key())
    count_request(services().engine, principal)
    require_role(principal, *roles)
    return principal
