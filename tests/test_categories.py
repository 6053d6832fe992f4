"""Report categories: the file, loading it idempotently, and what may not be removed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, select

from gis_service.config import Settings
from gis_service.db.schema import category
from gis_service.errors import DataError
from gis_service.reports.categories import (
    CATEGORIES_FILE,
    Category,
    list_categories,
    load_categories,
    read_categories,
)
from gis_service.reports.configfile import config_path
from tests.factories import add_report

# The matters residents report in Huế's PAHT system, as issue 4 lists them.
REQUIRED = {"urban_order", "sanitation", "roads", "street_lights", "drainage", "trees",
            "construction", "noise", "water_supply", "electricity", "public_health",
            "traffic_safety", "heritage", "other"}

SMALL = """
[deadlines]
ordinary = { amount = 10, unit = "working_days" }

[[category]]
code = "sanitation"
name = "Rubbish"
name_vi = "Rác thải"
group = "environment"
deadline = "ordinary"

[[category]]
code = "public_health"
name = "Epidemic risk"
name_vi = "Nguy cơ dịch bệnh"
group = "public_safety"
deadline = { amount = 24, unit = "hours" }
urgent = true
"""


@pytest.fixture
def real_file(settings: Settings) -> Path:
    return config_path(settings, CATEGORIES_FILE)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "categories.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_file_has_every_category_with_the_default_deadlines(real_file: Path) -> None:
    categories = {c.code: c for c in read_categories(real_file)}
    assert set(categories) == REQUIRED
    assert (categories["sanitation"].deadline_amount, categories["sanitation"].deadline_unit) == (
        10, "working_days")
    assert (categories["roads"].deadline_amount, categories["roads"].deadline_unit) == (
        30, "working_days")
    for urgent in ("public_health", "traffic_safety"):
        assert (categories[urgent].deadline_amount, categories[urgent].deadline_unit) == (24, "hours")
        assert categories[urgent].urgent
    assert not categories["noise"].urgent
    assert all(c.name and c.name_vi and c.group for c in categories.values())


def test_load_makes_the_table_the_file_and_a_reload_writes_nothing(
    conn: Connection, real_file: Path
) -> None:
    load_categories(conn, real_file)
    assert list_categories(conn) == sorted(read_categories(real_file), key=lambda c: c.code)
    again = load_categories(conn, real_file)
    assert (again.inserted, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 14)


def test_changes_are_updated_and_removed_unused_codes_deleted(
    conn: Connection, tmp_path: Path, real_file: Path
) -> None:
    load_categories(conn, real_file)
    result = load_categories(conn, write(tmp_path, SMALL.replace("Rubbish", "Rubbish and bins")))
    assert (result.inserted, result.updated, result.deleted) == (0, 2, 12)
    assert list_categories(conn) == [
        Category("public_health", "Epidemic risk", "Nguy cơ dịch bệnh", "public_safety", 24,
                 "hours", True, ""),
        Category("sanitation", "Rubbish and bins", "Rác thải", "environment", 10, "working_days",
                 False, ""),
    ]


def test_removing_a_category_that_reports_use_is_an_error_naming_it(
    conn: Connection, tmp_path: Path, real_file: Path
) -> None:
    load_categories(conn, real_file)
    add_report(conn, category_code="noise")
    with pytest.raises(DataError, match=r"category 'noise' is no longer in .*1 reports use it"):
        load_categories(conn, write(tmp_path, SMALL))
    # The failed load changed nothing.
    assert len(conn.execute(select(category.c.code)).all()) == 14


@pytest.mark.parametrize(("change", "message"), [
    (('deadline = "ordinary"', 'deadline = "weekly"'), r"\[\[category\]\] 1 \('sanitation'\): "
                                                       "unknown deadline 'weekly'"),
    (('unit = "hours"', 'unit = "days"'), r"'unit' must be one of working_days, hours"),
    (("amount = 24", "amount = 0"), r"'amount' must be positive"),
    (('code = "public_health"', 'code = "sanitation"'), r"category 'sanitation' is declared twice"),
    (('code = "sanitation"', 'code = "Sanitation!"'), r"a code is lower case"),
    (("urgent = true", 'urgent = "yes"'), r"\('public_health'\): 'urgent' must be true or false"),
    (('group = "environment"', 'colour = "green"'), r"unknown key 'colour'"),
    (('name_vi = "Rác thải"', ""), r"'name_vi' must be a non-empty string"),
])
def test_bad_files_are_refused_naming_the_entry(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in SMALL
    with pytest.raises(DataError, match=message):
        read_categories(write(tmp_path, SMALL.replace(old, new, 1)))


def test_an_unreadable_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read"):
        read_categories(write(tmp_path, "[[category]\ncode ="))
    with pytest.raises(DataError, match="cannot read"):
        read_categories(tmp_path / "missing.toml")
