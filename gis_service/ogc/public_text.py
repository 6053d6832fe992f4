"""The reports' free text on the OGC API, redacted exactly as ``/v1`` redacts it.

PostgreSQL builds the report features (see :mod:`gis_service.ogc.sql`), but redaction is Python
(:mod:`gis_service.redaction`, by way of :mod:`gis_service.reports.public_record`). So each
feature leaves the database with its text columns under a private property
(:data:`TEXT_PROPERTY`), and :func:`redacted_page` / :func:`redacted_feature` replace it with
the public ``description`` and ``address`` before anything is sent. No free text reaches a
client unredacted, and the private property never does.
"""

from __future__ import annotations

import json
from typing import Any

from gis_service.ogc.sql import TEXT_PROPERTY, Page
from gis_service.reports.public_record import public_address_of, public_description_of


def _publish(feature: dict[str, Any]) -> dict[str, Any]:
    properties = feature["properties"]
    description, edited, hidden, address, edited_address = properties.pop(TEXT_PROPERTY)
    properties["description"] = public_description_of(description, edited, hidden=hidden)
    properties["address"] = public_address_of(address, edited_address, hidden=hidden)
    return feature


def redacted_page(page: Page) -> Page:
    """The page with each feature's public text in place of its raw columns.

    >>> raw = ('[{"type": "Feature", "properties": {"_text": '
    ...        '["gọi 0905123456", null, false, null, null]}}]')
    >>> json.loads(redacted_page(Page(raw, 1)).features)[0]["properties"]
    {'description': 'gọi [số điện thoại]', 'address': None}
    """
    features = [_publish(feature) for feature in json.loads(page.features)]
    return Page(json.dumps(features, ensure_ascii=False), page.returned)


def redacted_feature(text: str | None) -> str | None:
    """One feature (JSON text, or None when not found) with its public text."""
    if text is None:
        return None
    return json.dumps(_publish(json.loads(text)), ensure_ascii=False)
