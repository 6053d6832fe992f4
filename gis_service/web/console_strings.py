"""The console's words, from the gettext catalogue: the page renders them into a JSON block
that its scripts read, so the scripts hold no dictionary of their own.

Placeholders in the scripts' strings are ``{name}`` (filled in by the script), not Python's
``%(name)s``: gettext leaves them alone and the catalogue check ignores them.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext

STATUS_LABELS = {
    "needs_location": lazy_gettext("Waiting for a location"),
    "received": lazy_gettext("Received"),
    "accepted": lazy_gettext("Accepted"),
    "assigned": lazy_gettext("Assigned"),
    "in_progress": lazy_gettext("In progress"),
    "resolved": lazy_gettext("Resolved"),
    "closed": lazy_gettext("Closed"),
    "reopened": lazy_gettext("Reopened"),
    "rejected": lazy_gettext("Rejected"),
    "duplicate": lazy_gettext("Duplicate"),
}

EVENT_LABELS = {
    "created": lazy_gettext("Received by the service"),
    "routed": lazy_gettext("Routed"),
    "status": lazy_gettext("Status changed"),
    "escalated": lazy_gettext("Escalated"),
    "rating": lazy_gettext("Rated by the reporter"),
    "duplicate": lazy_gettext("Marked as a duplicate"),
    "note": lazy_gettext("Note"),
    "public_text": lazy_gettext("Public text edited"),
    "placed": lazy_gettext("Placed on the map"),
    "overdue": lazy_gettext("Overdue"),
}

PRECISION_LABELS = {
    "point": lazy_gettext("exact point"),
    "commune": lazy_gettext("ward or commune"),
    "district": lazy_gettext("district only"),
    "province": lazy_gettext("city only"),
}

#: What a failed call means, by HTTP status, in the page's language (the problem's own
#: ``title`` and ``field`` are shown beside it).
ERROR_LABELS = {
    "400": lazy_gettext("The request was refused as written."),
    "401": lazy_gettext("The key is missing or not valid: sign in again."),
    "403": lazy_gettext("This key may not do this."),
    "404": lazy_gettext("Not found."),
    "409": lazy_gettext("Not allowed in the report's current state."),
    "422": lazy_gettext("The service cannot act on this."),
    "429": lazy_gettext("Too many requests: wait a minute and try again."),
    "other": lazy_gettext("The service failed; try again."),
    "network": lazy_gettext("The service cannot be reached."),
}

MESSAGES = {
    "signed_out": lazy_gettext("Not signed in: public data only."),
    "signed_in": lazy_gettext("Signed in with key {key}…"),
    "key_required": lazy_gettext("Sign in with a key first."),
    "loading": lazy_gettext("Loading…"),
    "no_reports": lazy_gettext("No report matches these filters."),
    "count_total": lazy_gettext("{count} reports match"),
    "count_overdue": lazy_gettext("{count} overdue"),
    "count_needs_location": lazy_gettext("{count} waiting for a location"),
    "no_due": lazy_gettext("no deadline yet"),
    "not_placed": lazy_gettext("not placed yet"),
    "due": lazy_gettext("Due"),
    "created": lazy_gettext("Created"),
    "description": lazy_gettext("What was reported"),
    "ward": lazy_gettext("Ward or commune"),
    "agency": lazy_gettext("Agency"),
    "no_answer": lazy_gettext("No public answer yet."),
    "routing_rule": lazy_gettext("Routed to {agency} by the rule {rule}."),
    "routing_default": lazy_gettext("Routed to {agency}."),
    "no_duplicates": lazy_gettext("No duplicates."),
    "duplicate_of": lazy_gettext("Duplicate of {id}."),
    "marked_duplicates": lazy_gettext("Marked as duplicates of this report:"),
    "candidates": lazy_gettext("Possible duplicates nearby:"),
    "metres": lazy_gettext("{distance} m"),
    "moved": lazy_gettext("Moved to: {status}."),
    "marked": lazy_gettext("Marked as a duplicate of {id}."),
    "placed": lazy_gettext("Placed: routed to {agency}."),
    "click_to_place": lazy_gettext("Click the map where the report is."),
    "no_candidates": lazy_gettext("No place found: click the map at the exact point."),
    "ambiguous": lazy_gettext("ambiguous"),
    "picked_candidate": lazy_gettext("Location: {place} ({precision})."),
    "picked_point": lazy_gettext("Location: the point clicked ({lat}, {lon})."),
    "location_required": lazy_gettext("Pick a candidate or click the map first."),
    "submitted": lazy_gettext("Report {id} stored: {status}, {agency}."),
    "field": lazy_gettext("Field: {field}"),
    "internal_note": lazy_gettext("Internal note"),
    "public_note": lazy_gettext("Public answer"),
    "team": lazy_gettext("Team"),
}


def _plain(labels: Mapping[str, object]) -> dict[str, str]:
    return {key: str(label) for key, label in labels.items()}


def status_labels() -> dict[str, str]:
    """Each status in the request's language."""
    return _plain(STATUS_LABELS)


def js_strings() -> dict[str, dict[str, str]]:
    """Every string the scripts show, in the request's language."""
    return {"messages": _plain(MESSAGES), "errors": _plain(ERROR_LABELS),
            "events": _plain(EVENT_LABELS), "precisions": _plain(PRECISION_LABELS)}
