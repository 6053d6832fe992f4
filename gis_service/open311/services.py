"""Services: our report categories, as GET services and GET services/{code} describe them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from gis_service.errors import NotFound
from gis_service.reports.categories import Category, list_categories

#: We store a request while the client waits, so POST answers with its id, never a token.
SERVICE_TYPE = "realtime"


@dataclass(frozen=True)
class Service:
    """One entry of the service list, fields in the specification's order."""

    service_code: str
    service_name: str
    description: str
    #: No service has attributes to fill in, so clients never need its definition.
    metadata: bool
    type: str
    keywords: str
    group: str


@dataclass(frozen=True)
class ServiceDefinition:
    """A service's extra form fields: none for any of ours (``metadata`` is false)."""

    service_code: str
    attributes: tuple[dict[str, object], ...] = ()


def deadline_text(amount: int, unit: str) -> str:
    """A category's deadline in words.

    >>> deadline_text(10, "working_days"), deadline_text(1, "hours")
    ('10 working days', '1 hour')
    """
    noun = "working day" if unit == "working_days" else "hour"
    return f"{amount} {noun}{'' if amount == 1 else 's'}"


def service_notice(item: Category) -> str:
    """What happens to a request of this category: its deadline, as residents are told it."""
    extra = " (weekends and public holidays excluded)" if item.deadline_unit == "working_days" else ""
    return f"Handled within {deadline_text(item.deadline_amount, item.deadline_unit)}{extra}."


def _keywords(item: Category) -> str:
    # The Vietnamese name (itself a comma list of synonyms) is how residents search for it.
    words = [part.strip() for part in item.name_vi.split(",")] + [item.group, item.code]
    return ", ".join(dict.fromkeys(word for word in words if word))


def service_from_category(item: Category) -> Service:
    """The Open311 service of one category (English names; the Vietnamese in ``keywords``).

    >>> from gis_service.reports.categories import Category
    >>> service_from_category(Category("roads", "Potholes", "Ổ gà, hư hỏng đường", "infrastructure",
    ...                                30, "working_days", False, "Potholes.")).keywords
    'Ổ gà, hư hỏng đường, infrastructure, roads'
    """
    description = " ".join(part for part in (item.description, service_notice(item)) if part)
    return Service(service_code=item.code, service_name=item.name, description=description,
                   metadata=False, type=SERVICE_TYPE, keywords=_keywords(item), group=item.group)


def categories_by_code(conn: Connection) -> dict[str, Category]:
    return {item.code: item for item in list_categories(conn)}


def find_category(conn: Connection, code: str) -> Category:
    """The category behind ``service_code``; :class:`NotFound` (404) names it otherwise."""
    found = categories_by_code(conn).get(code)
    if found is None:
        raise NotFound(f"no service with service_code {code[:80]!r}", field="service_code")
    return found


def list_services(conn: Connection) -> list[Service]:
    """GET services: every category, by code."""
    return [service_from_category(item) for item in list_categories(conn)]


def service_definition(conn: Connection, code: str) -> ServiceDefinition:
    """GET services/{code}: the code and its (empty) attribute list; 404 for an unknown code."""
    return ServiceDefinition(find_category(conn, code).code)
