"""The notebooks and the CLI call the library through ``gis_service.api`` (issue 18): none of
them imports from an internal module a function or type the public module offers, nor reaches
one through an internal package (``analysis.hotspots``). Read from the sources, not run."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from gis_service import api

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CLI = sorted((ROOT / "gis_service" / "cli").glob("*.py"))
PUBLIC = set(api.__all__)


def _notebook_code(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")


def _internal_uses(source: str) -> list[str]:
    """``from gis_service.x import f`` or ``x.f`` (``x`` a gis_service package) where the public
    module offers ``f``."""
    tree = ast.parse(source)
    found, packages = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gis_service"):
            if node.module == "gis_service":
                packages |= {alias.asname or alias.name for alias in node.names
                             if alias.name != "api"}
            elif node.module != "gis_service.api":
                found += [f"from {node.module} import {alias.name}" for alias in node.names
                          if alias.name in PUBLIC]
    found += [f"{node.value.id}.{node.attr}" for node in ast.walk(tree)
              if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id in packages and node.attr in PUBLIC]
    return found


def test_the_check_sees_an_internal_import() -> None:
    source = ("from gis_service import analysis\nfrom gis_service.maps import hotspot_map\n"
              "analysis.coverage(conn)\nfrom gis_service.api import hotspots\n")
    assert _internal_uses(source) == ["from gis_service.maps import hotspot_map",
                                      "analysis.coverage"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebooks_call_the_public_api(path: Path) -> None:
    source = _notebook_code(path)
    assert "from gis_service import api" in source
    assert _internal_uses(source) == []


@pytest.mark.parametrize("path", CLI, ids=lambda path: path.stem)
def test_the_cli_calls_the_public_api(path: Path) -> None:
    assert _internal_uses(path.read_text(encoding="utf-8")) == []
