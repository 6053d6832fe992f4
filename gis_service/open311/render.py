"""Open311 documents as JSON and XML (the specification's examples, element by element).

JSON follows the Spark convention the specification uses: a list is an array, the XML's
wrapping element (``<services>``) disappears and each item (``<service>``) becomes an object.
XML is built with ``xml.etree`` (which escapes ``&``, ``<`` and ``>``); characters XML 1.0
cannot carry at all (most control characters) become U+FFFD so the document stays well formed.
Dates are ISO 8601 with the Huế offset, to the second.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from gis_service.timestamps import timestamp_text

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
FORMATS = ("json", "xml")
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
#: A list's element name -> the name of each of its items.
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def w3_datetime(value: dt.datetime) -> str:
    """ISO 8601 in Huế time with its offset (the spec requires a zone): the service's one
    timestamp form (:mod:`gis_service.timestamps`)."""
    return timestamp_text(value)


def plain(value: Any) -> Any:
    """Dataclasses, tuples and datetimes as JSON-ready dicts, lists and strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dt.datetime):
        return w3_datetime(value)
    return value


def to_json(value: Any) -> bytes:
    return json.dumps(plain(value), ensure_ascii=False, separators=(",", ":")).encode()


def xml_text(value: object) -> str:
    """A scalar as XML text: ``true``/``false``, numbers as written in JSON, none as empty.

    >>> xml_text(True), xml_text(None), xml_text(16.4779), xml_text("a\\x01b")
    ('true', '', '16.4779', 'a\\ufffdb')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return _NOT_XML.sub("\ufffd", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list):
        item_tag = ITEM_TAGS[element.tag]
        for item in value:
            _fill(ET.SubElement(element, item_tag), item)
    else:
        element.text = xml_text(value)


def to_xml(root: str, value: Any) -> bytes:
    """``value`` under a ``root`` element, with the XML declaration the spec asks for.

    >>> to_xml("services", [{"metadata": False, "group": "a & b"}]).decode().splitlines()[1]
    '<services><service><metadata>false</metadata><group>a &amp; b</group></service></services>'
    """
    element = ET.Element(root)
    _fill(element, plain(value))
    return XML_DECLARATION + ET.tostring(element, encoding="unicode").encode()


def render(root: str, value: Any, fmt: str) -> tuple[bytes, str]:
    """The body and its content type: ``fmt`` is ``json`` or ``xml``."""
    if fmt == "json":
        return to_json(value), JSON_TYPE
    if fmt == "xml":
        return to_xml(root, value), XML_TYPE
    raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
