"""The house figures of ../shared/STYLE.md, kept by a test: small functions, thin views, small
modules in the spatial package (issue 18). Lines are counted from after the docstring."""

from __future__ import annotations

import ast
import statistics
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gis_service"


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    first = node.body[0]
    documented = (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                  and isinstance(first.value.value, str) and len(node.body) > 1)
    start = node.body[1].lineno if documented else first.lineno
    return (node.end_lineno or start) - start + 1


def _functions() -> list[tuple[Path, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((path, node))
    return found


def _is_view(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute)
               and d.func.attr == "route" for d in node.decorator_list)


def test_functions_are_small() -> None:
    lengths = sorted(_body_lines(node) for _, node in _functions())
    assert len(lengths) > 500
    assert statistics.median(lengths) <= 10
    assert lengths[int(0.9 * len(lengths))] <= 35


def test_views_are_thin_adapters() -> None:
    long_views = [f"{path.relative_to(PACKAGE)}:{node.name} ({_body_lines(node)} lines)"
                  for path, node in _functions() if _is_view(node) and _body_lines(node) > 25]
    assert long_views == []


def test_spatial_modules_are_under_400_lines() -> None:
    long_modules = [path.name for path in (PACKAGE / "spatial").glob("*.py")
                    if len(path.read_text().splitlines()) > 400]
    assert long_modules == []
