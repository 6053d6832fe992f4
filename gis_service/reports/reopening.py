"""A reopened report gets a new deadline: the category's rule, counted from the reopening.

Keeping the first deadline would make a report reopened after it passed overdue the moment it
reopens, and a resident's complaint would count against the agency before it could act.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, select

from gis_service.db.schema import category, report
from gis_service.reports.calendar import TZ, due_at

_UNITS_VI = {"working_days": "ngày làm việc", "hours": "giờ"}


@dataclass(frozen=True)
class NewDeadline:
    due_at: dt.datetime
    amount: int
    unit: str

    def public_note(self) -> str:
        """The sentence the reopening event publishes (Vietnamese first, then English)."""
        local = self.due_at.astimezone(TZ)
        return (f"Mở lại: hạn xử lý mới {local:%H:%M %d/%m/%Y} ({self.amount} "
                f"{_UNITS_VI.get(self.unit, self.unit)} kể từ khi mở lại). / Reopened: new "
                f"deadline {local.isoformat(timespec='minutes')}.")

    def internal_note(self) -> str:
        return (f"new deadline {self.due_at.astimezone(TZ).isoformat(timespec='minutes')}: "
                f"{self.amount} {self.unit} from the reopening")


def reopened_deadline(conn: Connection, report_id: int, at: dt.datetime) -> NewDeadline:
    """The deadline of ``report_id`` reopened at ``at``, by its category's rule.

    >>> reopened_deadline(conn, 42, dt.datetime(2025, 3, 3, 9, tzinfo=TZ)).due_at  # doctest: +SKIP
    datetime.datetime(2025, 3, 17, 17, 0, tzinfo=zoneinfo.ZoneInfo(key='Asia/Ho_Chi_Minh'))
    """
    amount, unit = conn.execute(
        select(category.c.deadline_amount, category.c.deadline_unit)
        .join_from(report, category, category.c.code == report.c.category)
        .where(report.c.id == report_id)).one()
    return NewDeadline(due_at(at, amount, unit), amount, unit)
