"""What a webhook sends and how a receiver checks it: the body's bytes and their HMAC.

The body is the outbox payload with the delivery id, serialised the same way on every
attempt, so a repeat is byte for byte the first (and so is its signature). The signature
header reads ``sha256=<hex>``: HMAC-SHA256 of the raw body under the agency's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from typing import Any

SIGNATURE_HEADER = "X-Gis-Signature-256"
DELIVERY_HEADER = "X-Gis-Delivery"
EVENT_HEADER = "X-Gis-Event"
ATTEMPT_HEADER = "X-Gis-Attempt"
_SCHEME = "sha256="


def body_bytes(payload: Mapping[str, Any], delivery_id: uuid.UUID) -> bytes:
    """The exact bytes sent (UTF-8 JSON, keys sorted, no spaces).

    >>> body_bytes({"event": {"kind": "routed"}}, uuid.UUID(int=1))[:40]
    b'{"delivery_id":"00000000-0000-0000-0000-'
    """
    document = {"delivery_id": str(delivery_id), **payload}
    return json.dumps(document, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def signature(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``.

    >>> signature("s3cret", b"{}")
    'sha256=adbde1ce40c89c14215687d5d762a47df6dfaefcfad61e2e86718ffc8498571b'
    """
    return _SCHEME + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver does: recompute over the raw body, compare in constant time.

    >>> verify("s3cret", b"{}", signature("s3cret", b"{}")), verify("s3cret", b"{ }", None)
    (True, False)
    """
    return header is not None and hmac.compare_digest(signature(secret, body), header)
