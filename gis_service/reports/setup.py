"""Loading the whole report configuration at once: categories, agencies and rules, calendar.

What ``gis-service reports load-config`` runs, and what a test or the demo can call directly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, exists, extract, func, select

from gis_service.config import Settings
from gis_service.db.schema import agency, category, generation, report
from gis_service.reports.agencies import AgencyLoad, load_agencies
from gis_service.reports.agency_config import AGENCIES_FILE
from gis_service.reports.calendar import TIMEZONE, CalendarFill, ensure_calendar
from gis_service.reports.categories import CATEGORIES_FILE, CategoryLoad, load_categories
from gis_service.reports.configfile import config_path

#: Years after the current one the calendar covers, for deadlines of reports made late in it.
YEARS_AHEAD = 2


@dataclass(frozen=True)
class ConfigLoad:
    categories: CategoryLoad
    agencies: AgencyLoad
    calendar: CalendarFill

    def describe(self) -> str:
        return "\n".join((self.categories.describe(), self.agencies.describe(),
                          self.calendar.describe()))


def calendar_years(conn: Connection, today: dt.date) -> tuple[int, int]:
    """The years deadlines need: from the earliest boundary generation or report (or this
    year) to :data:`YEARS_AHEAD` years ahead."""
    earliest = conn.execute(
        select(func.least(
            select(func.min(extract("year", generation.c.valid_from))).scalar_subquery(),
            select(func.min(extract("year", func.timezone(TIMEZONE, report.c.created_at))))
            .scalar_subquery(),
        ))
    ).scalar()
    first = today.year if earliest is None else min(int(earliest), today.year)
    return first, today.year + YEARS_AHEAD


def load_config(
    conn: Connection,
    settings: Settings,
    *,
    generation_code: str | None = None,
    years: tuple[int, int] | None = None,
    today: dt.date | None = None,
) -> ConfigLoad:
    """Load categories, then agencies and rules (for ``generation_code``, default the active
    generation), then the calendar for ``years`` (default :func:`calendar_years`); never
    commits, so the caller's transaction makes it all or nothing.

    >>> with engine.begin() as conn:  # doctest: +SKIP
    ...     print(load_config(conn, settings).describe())
    """
    categories = load_categories(conn, config_path(settings, CATEGORIES_FILE))
    agencies = load_agencies(conn, config_path(settings, AGENCIES_FILE),
                             generation_code=generation_code)
    first, last = years or calendar_years(conn, today or dt.date.today())
    return ConfigLoad(categories, agencies, ensure_calendar(conn, first, last))


def config_loaded(conn: Connection) -> bool:
    """Whether categories and agencies are in the database (``reports load-config`` has run)."""
    return bool(conn.execute(select(exists().select_from(category), exists().select_from(agency)))
                .one() == (True, True))
