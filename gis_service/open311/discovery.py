"""Service discovery (``discovery.json``/``.xml``): where the endpoint is and what it speaks."""

from __future__ import annotations

from typing import Any

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
#: When the service list or its definitions last changed shape; bump it with them.
CHANGESET = "2026-11-29T00:00:00+07:00"
CONTACT = ("Trung tâm Giám sát, điều hành đô thị thông minh (Hue-IOC), Thành phố Huế: "
           "hotline 1900 1075")
KEY_SERVICE = ("Reading needs no key. To submit requests, ask the operations centre (Hue-IOC) "
               "for a client API key and send it as the api_key parameter.")
MIME_TYPES = ("text/xml", "application/json")


def discovery(endpoint_url: str) -> dict[str, Any]:
    """The discovery document for the GeoReport v2 endpoint at ``endpoint_url``.

    >>> discovery("https://example.invalid/open311/v2")["endpoints"][0]["formats"]
    ['text/xml', 'application/json']
    """
    return {
        "changeset": CHANGESET,
        "contact": CONTACT,
        "key_service": KEY_SERVICE,
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": endpoint_url,
            "changeset": CHANGESET,
            "type": "production",
            "formats": list(MIME_TYPES),
        }],
    }
