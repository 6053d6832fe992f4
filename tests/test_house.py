"""The house rules of issue 18 that a reading of the sources can keep: Huế's time zone and the
shared constants are defined once, and h3 is called with coordinates only in
``gis_service/cells.py`` (the one place its (lat, lng) order appears). Code only: docstring
examples are strings to the parser and are not counted."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gis_service"
#: h3 functions that take or give coordinates.
COORDINATE_CALLS = {"latlng_to_cell", "cell_to_latlng", "cell_to_boundary", "geo_to_h3shape",
                    "h3shape_to_cells", "h3shape_to_cells_experimental", "polygon_to_cells",
                    "polygon_to_cells_experimental", "geo_to_cells"}
#: Names that once meant two things or were defined twice (issue 18).
ONCE = {"HUE", "TZ", "TIMEZONE", "RESOLUTIONS", "H3_RESOLUTIONS", "MATCHES"}


def _modules() -> list[tuple[str, ast.Module]]:
    return [(str(path.relative_to(PACKAGE)), ast.parse(path.read_text(encoding="utf-8")))
            for path in sorted(PACKAGE.rglob("*.py"))]


def test_the_time_zone_is_named_once() -> None:
    found = [name for name, tree in _modules() for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and node.value == "Asia/Ho_Chi_Minh"]
    assert found == ["reports/calendar.py"]


def test_shared_constants_are_defined_once() -> None:
    defined = Counter(target.id for _, tree in _modules() for node in tree.body
                      if isinstance(node, ast.Assign) for target in node.targets
                      if isinstance(target, ast.Name) and target.id in ONCE)
    assert {name: count for name, count in defined.items() if count > 1} == {}
    assert defined["HUE"] == 1, "HUE is the province code (gazetteer), nothing else"


def test_h3_meets_coordinates_only_in_the_cells_module() -> None:
    found = sorted({name for name, tree in _modules() for node in ast.walk(tree)
                    if isinstance(node, ast.Attribute) and node.attr in COORDINATE_CALLS})
    assert found == ["cells.py"]


#: What the HTTP and CLI layers may take from SQLAlchemy: types and errors, never statements.
ADAPTER_IMPORTS = {"Connection", "Engine", "create_engine", "DBAPIError", "OperationalError",
                   "TimeoutError"}


def test_no_sql_in_the_views_or_the_cli() -> None:
    found = [f"{name}: {alias.name}" for name, tree in _modules()
             if name.startswith(("web/", "cli/")) for node in ast.walk(tree)
             if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy")
             for alias in node.names if alias.name not in ADAPTER_IMPORTS]
    assert found == []


def test_dead_code_stays_gone() -> None:
    defined = {node.name for _, tree in _modules() for node in ast.walk(tree)
               if isinstance(node, ast.FunctionDef)}
    assert not defined & {"wait_until_accepting", "events_of"}


def test_intake_and_import_build_the_report_row_alike() -> None:
    """One row builder (``reports/row.py``): the ~30 columns are named there, not twice."""
    users = sorted(name for name, tree in _modules() for node in ast.walk(tree)
                   if isinstance(node, ast.ImportFrom) and node.module == "gis_service.reports.row")
    assert users == ["reports/importing/sql.py", "reports/intake.py"]
