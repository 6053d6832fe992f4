"""What a bulk import reports back: rows imported, already present, rejected and why.

Every record of the file is accounted for exactly once: ``imported + already_present +
rejected == rows``. A rejection names the record (``row``: the N-th record after the header,
or the N-th feature of a GeoJSON file), a stable ``reason`` code from :data:`REASONS` and a
``detail`` sentence quoting the offending value.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

UNREADABLE = "unreadable"
BAD_TEXT = "bad_text"
ADDRESS_ONLY = "address_only"
MISSING_FIELD = "missing_field"
BAD_TIME = "bad_time"
BAD_COORDINATES = "bad_coordinates"
BAD_VALUE = "bad_value"
UNKNOWN_CATEGORY = "unknown_category"
DESCRIPTION_TOO_LONG = "description_too_long"
BAD_DUPLICATE_LINK = "bad_duplicate_link"
REPEATED_PUBLIC_ID = "repeated_public_id"
NO_GENERATION = "no_generation"
OUTSIDE_SERVICE_AREA = "outside_service_area"
DUPLICATE_OF_UNKNOWN = "duplicate_of_unknown"
UNROUTABLE = "unroutable"
NO_DEADLINE = "no_deadline"

#: Every reason a row can be rejected for, in the order the checks run.
REASONS: dict[str, str] = {
    UNREADABLE: "the record could not be read as a row of the import format",
    BAD_TEXT: "a field holds a NUL character or bytes that are not UTF-8",
    ADDRESS_ONLY: "no lat/lon, only an address: not imported, never routed from the address",
    MISSING_FIELD: "a required field is empty",
    BAD_TIME: "a time is not ISO 8601 with a UTC offset",
    BAD_COORDINATES: "lat/lon are not numbers within range",
    BAD_VALUE: "channel, location_source, status, satisfaction or media_urls is not allowed",
    UNKNOWN_CATEGORY: "the category is not in the category table",
    DESCRIPTION_TOO_LONG: "the description is longer than 4,000 characters",
    BAD_DUPLICATE_LINK: "duplicate_of is set without status 'duplicate', or the other way round",
    REPEATED_PUBLIC_ID: "an earlier record of the file has the same public_id",
    NO_GENERATION: "no published boundary generation is valid on the report's date",
    OUTSIDE_SERVICE_AREA: "the point is farther than the snapping tolerance from every commune",
    DUPLICATE_OF_UNKNOWN: "duplicate_of names no report stored or imported (or one rejected)",
    UNROUTABLE: "no agency can take the report (agencies not loaded for its commune)",
    NO_DEADLINE: "the working-day calendar does not cover the report's deadline",
}


@dataclass(frozen=True, order=True)
class Rejection:
    """One record that was not imported."""

    row: int
    reason: str
    detail: str


@dataclass(frozen=True)
class ImportSummary:
    """The outcome of one file's import, with the seconds each step took."""

    source: str
    batch: str
    rows: int
    imported: int
    already_present: int
    rejections: tuple[Rejection, ...]
    events: int = 0
    contacts: int = 0
    steps: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def rejected(self) -> int:
        return len(self.rejections)

    @property
    def by_reason(self) -> dict[str, int]:
        """Rejections counted by reason, in the order of :data:`REASONS`."""
        counts = Counter(r.reason for r in self.rejections)
        return {reason: counts[reason] for reason in REASONS if counts[reason]}

    @property
    def seconds(self) -> float:
        return sum(self.steps.values())

    def describe(self, *, max_rejections: int = 20) -> str:
        """A few lines for a person: the counts, then the first rejected rows."""
        lines = [f"{self.source} (batch {self.batch!r}): {self.rows:,} rows, "
                 f"{self.imported:,} imported, {self.already_present:,} already present, "
                 f"{self.rejected:,} rejected; {self.events:,} events and {self.contacts:,} "
                 f"contacts written in {self.seconds:.1f} s",
                 *self.notes]
        lines += [f"  {reason}: {count:,} ({REASONS[reason]})"
                  for reason, count in self.by_reason.items()]
        lines += [f"  row {r.row}: {r.reason}: {r.detail}"
                  for r in self.rejections[:max_rejections]]
        if self.rejected > max_rejections:
            lines.append(f"  ... and {self.rejected - max_rejections:,} more rejected rows")
        return "\n".join(lines)
