"""One webhook delivery: a signed POST, a 2xx or a :class:`DeliveryFailed` saying why.

Redirects are not followed (a receiver that moved must be reconfigured: following one would
send the signed event wherever a compromised receiver points). The timeout bounds connecting
and each read; the lease (``GIS_NOTIFY_LEASE_S`` >= 3 x timeout) bounds the rest.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Mapping
from urllib.parse import urlsplit

from gis_service.errors import DeliveryFailed
from gis_service.notify import signing
from gis_service.notify.outbox import Claimed

USER_AGENT = "gis-service-notify/1"
#: Of a failing receiver's answer, this much is kept in the delivery log.
_ERROR_BODY_CHARS = 200


def secret_of(claimed: Claimed, env: Mapping[str, str]) -> str:
    """The agency's signing secret, from the variable its channel names."""
    name = claimed.secret_env or ""
    secret = env.get(name)
    if not secret:
        raise DeliveryFailed(f"the signing secret variable {name} is not set for the worker")
    return secret


def headers_for(claimed: Claimed, body: bytes, secret: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        signing.DELIVERY_HEADER: str(claimed.delivery_id),
        # The same key on every attempt: receivers that dedupe by Idempotency-Key can, too.
        "Idempotency-Key": str(claimed.delivery_id),
        signing.EVENT_HEADER: claimed.event_kind,
        signing.ATTEMPT_HEADER: str(claimed.attempts),
        signing.SIGNATURE_HEADER: signing.signature(secret, body),
    }


def post(claimed: Claimed, *, env: Mapping[str, str], timeout_s: float) -> int:
    """POST the claimed row's event to its webhook; return the HTTP status (2xx)."""
    body = signing.body_bytes(claimed.payload, claimed.delivery_id)
    headers = headers_for(claimed, body, secret_of(claimed, env))
    connection = _connection(claimed.target, timeout_s)
    parts = urlsplit(claimed.target)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read(64 * 1024)
    except TimeoutError as exc:
        raise DeliveryFailed(f"no answer within {timeout_s:g} s") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:300]) from exc
    finally:
        connection.close()
    if not 200 <= response.status < 300:
        text = answer[:_ERROR_BODY_CHARS].decode("utf-8", "replace")
        raise DeliveryFailed(f"HTTP {response.status} {response.reason}: {text}".strip())
    return response.status


def _connection(url: str, timeout_s: float) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    if parts.scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout_s,
                                           context=ssl.create_default_context())
    return http.client.HTTPConnection(host, port, timeout=timeout_s)
