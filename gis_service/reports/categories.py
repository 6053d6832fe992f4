"""Report categories and their deadlines, declared in ``boundaries/reports/categories.toml``.

Loading makes the ``category`` table exactly the file: new codes are inserted, changed ones
updated, identical ones left untouched (loading twice writes nothing), and codes no longer in
the file deleted, unless reports use them, which is an error naming the code: a report's
category must keep meaning what it meant when the resident chose it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Boolean, Connection, delete, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import insert

from gis_service import tomlcheck
from gis_service.db.schema import category, report
from gis_service.errors import DataError

DeadlineUnit = Literal["working_days", "hours"]
DEADLINE_UNITS: tuple[DeadlineUnit, ...] = ("working_days", "hours")
CATEGORIES_FILE = "categories.toml"
_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_CATEGORY_KEYS = {"code", "name", "name_vi", "group", "deadline", "urgent", "description"}
# In the order of Category's fields.
_COLUMNS = (
    category.c.code, category.c.name, category.c.name_vi, category.c.category_group,
    category.c.deadline_amount, category.c.deadline_unit, category.c.urgent,
    category.c.description,
)


@dataclass(frozen=True)
class Category:
    """One report category, as the file declares it and the ``category`` table stores it."""

    code: str
    name: str
    name_vi: str
    group: str
    deadline_amount: int
    deadline_unit: DeadlineUnit
    urgent: bool
    description: str


@dataclass(frozen=True)
class CategoryLoad:
    """What a load did."""

    source: str
    categories: int
    inserted: int
    updated: int
    deleted: int

    @property
    def unchanged(self) -> int:
        return self.categories - self.inserted - self.updated

    def describe(self) -> str:
        return (f"categories from {self.source}: {self.categories} in the file, "
                f"{self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged, "
                f"{self.deleted} deleted")


def read_categories(path: Path) -> list[Category]:
    """Parse and check the category file; a mistake raises DataError naming the entry.

    >>> [c.code for c in read_categories(Path("boundaries/reports/categories.toml"))][:2]
    ['urban_order', 'sanitation']
    """
    document = tomlcheck.read_toml(path)
    where = str(path)
    tomlcheck.no_unknown_keys(document, {"deadlines", "category"}, where)
    deadlines = _deadlines(tomlcheck.as_table(document.get("deadlines", {}), f"{where} [deadlines]"),
                           f"{where} [deadlines]")
    entries = tomlcheck.tables(document, "category", where)
    if not entries:
        raise DataError(f"{where}: no [[category]] entries")
    categories = [_category(entry, deadlines, f"{where} [[category]] {n}")
                  for n, entry in enumerate(entries, start=1)]
    _check_unique(categories, where)
    return categories


def load_categories(conn: Connection, path: Path) -> CategoryLoad:
    """Make the ``category`` table exactly the file's categories; never commits.

    >>> with engine.begin() as conn:  # doctest: +SKIP
    ...     load_categories(conn, Path("boundaries/reports/categories.toml")).describe()
    'categories from ...: 14 in the file, 14 inserted, 0 updated, 0 unchanged, 0 deleted'
    """
    categories = read_categories(path)
    inserted, updated = _upsert(conn, categories)
    deleted = _delete_absent(conn, [c.code for c in categories], str(path))
    return CategoryLoad(str(path), len(categories), inserted, updated, deleted)


def list_categories(conn: Connection) -> list[Category]:
    """The categories in the database, by code."""
    rows = conn.execute(select(*_COLUMNS).order_by(category.c.code))
    return [Category(*row) for row in rows]


def _deadline(value: object, where: str) -> tuple[int, DeadlineUnit]:
    table = tomlcheck.as_table(value, where)
    tomlcheck.no_unknown_keys(table, {"amount", "unit"}, where)
    amount = tomlcheck.integer(table, "amount", where)
    unit = tomlcheck.string(table, "unit", where)
    if amount <= 0:
        raise DataError(f"{where}: 'amount' must be positive, not {amount}")
    if unit not in DEADLINE_UNITS:
        raise DataError(f"{where}: 'unit' must be one of {', '.join(DEADLINE_UNITS)}, not {unit!r}")
    return amount, unit


def _deadlines(table: Mapping[str, Any], where: str) -> dict[str, tuple[int, DeadlineUnit]]:
    return {name: _deadline(value, f"{where} {name}") for name, value in table.items()}


def _category(entry: Mapping[str, Any], deadlines: Mapping[str, tuple[int, DeadlineUnit]],
              where: str) -> Category:
    tomlcheck.no_unknown_keys(entry, _CATEGORY_KEYS, where)
    code = tomlcheck.string(entry, "code", where)
    where = f"{where} ({code!r})"
    if not _CODE.fullmatch(code):
        raise DataError(f"{where}: a code is lower case a-z, 0-9 and _, starting with a letter")
    raw = entry.get("deadline")
    if isinstance(raw, str):
        if raw not in deadlines:
            known = ", ".join(sorted(deadlines)) or "none"
            raise DataError(f"{where}: unknown deadline {raw!r} (the [deadlines] table has {known})")
        amount, unit = deadlines[raw]
    else:
        amount, unit = _deadline(raw, f"{where} deadline")
    return Category(
        code=code,
        name=tomlcheck.string(entry, "name", where),
        name_vi=tomlcheck.string(entry, "name_vi", where),
        group=tomlcheck.string(entry, "group", where),
        deadline_amount=amount,
        deadline_unit=unit,
        urgent=tomlcheck.boolean(entry, "urgent", where),
        description=str(entry.get("description", "")),
    )


def _check_unique(categories: Sequence[Category], where: str) -> None:
    seen: set[str] = set()
    for item in categories:
        if item.code in seen:
            raise DataError(f"{where}: category {item.code!r} is declared twice")
        seen.add(item.code)


_UPDATABLE = ("name", "name_vi", "category_group", "deadline_amount", "deadline_unit", "urgent",
              "description")


def _upsert(conn: Connection, categories: Sequence[Category]) -> tuple[int, int]:
    names = [c.key for c in _COLUMNS]
    stmt = insert(category).values([dict(zip(names, astuple(c), strict=True)) for c in categories])
    stmt = stmt.on_conflict_do_update(
        index_elements=[category.c.code],
        set_={name: stmt.excluded[name] for name in _UPDATABLE},
        # Unchanged rows are not rewritten, so a re-load is a no-op.
        where=or_(*(category.c[name].is_distinct_from(stmt.excluded[name]) for name in _UPDATABLE)),
    )
    # xmax is 0 on a freshly inserted row and set on one the upsert updated.
    written = conn.execute(stmt.returning(literal_column("xmax = 0", Boolean))).scalars().all()
    inserted = sum(1 for was_insert in written if was_insert)
    return inserted, len(written) - inserted


def _delete_absent(conn: Connection, codes: Sequence[str], source: str) -> int:
    absent = category.c.code.not_in(codes)
    used = conn.execute(
        select(report.c.category, func.count())
        .where(report.c.category.in_(select(category.c.code).where(absent)))
        .group_by(report.c.category)
        .order_by(report.c.category)
    ).first()
    if used is not None:
        code, count = used
        raise DataError(f"category {code!r} is no longer in {source}, but {count} reports use it: "
                        "keep it in the file (its name and deadline may change)",
                        field="category")
    return conn.execute(delete(category).where(absent)).rowcount
