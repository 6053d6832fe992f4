"""The bulk-import file format for reports: what ``gis-service reports generate`` writes and
``gis-service reports import`` reads.

CSV (RFC 4180, comma-separated, ``"`` quoting where needed), UTF-8 without a byte-order mark,
one header row with exactly the names in :data:`COLUMNS`, in that order, one report per row.

- An empty field is NULL (``COPY ... CSV`` reads an unquoted empty field as NULL).
- Times are ISO 8601 with seconds and an explicit offset, written in Vietnam's time
  (``2025-10-31T08:15:42+07:00``); readers must honour any offset.
- ``lat``/``lon`` are WGS84 decimal degrees (EPSG:4326), six decimals (about 0.1 m).
- ``media_urls`` is a ``|``-separated list of URLs (:data:`MEDIA_SEPARATOR`).
- ``duplicate_of`` is the ``public_id`` of the original report in the same file (or already
  stored); it is set exactly when ``status`` is ``duplicate``.
- ``incident_id`` is the synthetic generator's incident (the event residents report, once or
  several times): the importer does not store it; analysts use it to check estimates against
  the generator's truth files. Files from other sources leave it empty.

Column by column:

===================  ==========================================================================
public_id            unique report id (text)
created_at           when the report was received (ISO 8601 with offset)
category             a category code (``category.code``)
description          plain text, at most 4,000 characters
channel              ``app``, ``web`` or ``hotline``
lat, lon             the report's point
location_source      ``gps``, ``geocoded`` or ``manual``
address              free-text address as the resident wrote or said it (may be empty)
reporter_name        private contact details (never published); each may be empty
reporter_phone
reporter_email
status               a ``report.status`` value (``received`` ... ``closed``, ``duplicate``)
first_response_at    lifecycle times, empty when not (yet) reached
resolved_at
closed_at
satisfaction         1 to 5, empty when the resident gave no rating
duplicate_of         public_id of the original, empty otherwise
media_urls           ``|``-separated URLs, empty for none
incident_id          generator's incident id (integer), ignored for storage
===================  ==========================================================================
"""

from __future__ import annotations

from typing import Final

COLUMNS: Final[tuple[str, ...]] = (
    "public_id",
    "created_at",
    "category",
    "description",
    "channel",
    "lat",
    "lon",
    "location_source",
    "address",
    "reporter_name",
    "reporter_phone",
    "reporter_email",
    "status",
    "first_response_at",
    "resolved_at",
    "closed_at",
    "satisfaction",
    "duplicate_of",
    "media_urls",
    "incident_id",
)
#: Columns holding ISO 8601 times with an offset.
TIME_COLUMNS: Final[tuple[str, ...]] = ("created_at", "first_response_at", "resolved_at", "closed_at")
#: Columns that may never be empty.
REQUIRED_COLUMNS: Final[tuple[str, ...]] = (
    "public_id", "created_at", "category", "channel", "lat", "lon", "location_source", "status",
)
ENCODING: Final = "utf-8"
MEDIA_SEPARATOR: Final = "|"
#: Vietnam has kept UTC+7 all year since 1975: no daylight saving to worry about.
UTC_OFFSET: Final = "+07:00"
