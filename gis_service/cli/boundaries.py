"""``gis-service boundaries``: load, check, publish and list boundary generations.

Each command runs in one transaction: on a bad file it prints which feature failed and why,
exits non-zero, and the database is left as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click
from sqlalchemy import Connection

from gis_service.boundaries.features import Provenance
from gis_service.boundaries.generations import (
    by_code,
    ensure_generation,
    list_generations,
    set_status,
    unit_counts,
)
from gis_service.boundaries.load import load_units
from gis_service.boundaries.manifest import load_manifest
from gis_service.boundaries.sources import FieldMapping, read_units
from gis_service.boundaries.validate import DEFAULT_MIN_AREA_M2, validate
from gis_service.cli.context import AppContext
from gis_service.db.schema import LEVELS
from gis_service.errors import NotFound


@click.group()
def boundaries() -> None:
    """Load, validate, activate and list boundary generations."""


@boundaries.command()
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option("--generation", "generation_code", required=True, help="Generation code, e.g. 2019.")
@click.option("--level", required=True, type=click.Choice(LEVELS))
@click.option("--code-field", default="code", show_default=True)
@click.option("--name-field", default="name", show_default=True)
@click.option("--type-field", default="type", show_default=True)
@click.option("--parent-field", default=None, help="Field holding the parent unit's code.")
@click.option("--population-field", default=None)
@click.option("--population-year", type=int, default=None)
@click.option("--crs", default=None, help="Source CRS when the file has none (EPSG:3405, PROJ).")
@click.option("--layer", "layer_name", default=None, help="Layer of a multi-layer file.")
@click.option("--source", default=None, help="Where the data comes from [default: file name].")
@click.option("--licence", default="not stated", show_default=True)
@click.option("--approximate", is_flag=True, help="Mark the units as approximate boundaries.")
@click.pass_obj
def load(
    app: AppContext, *, file: Path, generation_code: str, level: str, code_field: str,
    name_field: str, type_field: str, parent_field: str | None, population_field: str | None,
    population_year: int | None, crs: str | None, layer_name: str | None, source: str | None,
    licence: str, approximate: bool,
) -> None:
    """Load FILE as the units of one level of a generation (created as a draft if new)."""
    fields = FieldMapping(code_field, name_field, type_field, parent_field, population_field,
                          population_year)
    with app.transaction() as conn:
        layer = read_units(file, fields, source_crs=crs, layer=layer_name, approximate=approximate)
        _ensure_exists(conn, generation_code)
        summary = load_units(
            conn, generation_code, level, layer.features,
            Provenance(source or file.name, licence),
            source_file=str(file), source_sha256=layer.sha256, repaired=layer.repaired,
        )
    click.echo(summary.describe())
    if layer.repaired_codes:
        click.echo(f"repaired geometries: {', '.join(layer.repaired_codes)}")
    click.echo(summary.report.render())


def _ensure_exists(conn: Connection, code: str) -> None:
    try:
        by_code(conn, code)
    except NotFound:
        ensure_generation(conn, code)
        click.echo(f"created draft generation {code}")


@boundaries.command("load-manifest")
@click.option("--generation", "generation_code", default=None,
              help="Load only this generation's manifest.")
@click.pass_obj
def load_manifest_command(app: AppContext, generation_code: str | None) -> None:
    """Load the service area's boundary manifests from the data root: boundaries/*.toml (Huế),
    or boundaries/national/*.toml with GIS_SERVICE_AREA=national (all of Vietnam)."""
    with app.transaction() as conn:
        results = load_manifest(conn, app.settings, generation_code)
    for result in results:
        click.echo(result.render())


@boundaries.command("validate")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--min-area", type=float, default=DEFAULT_MIN_AREA_M2, show_default=True,
              help="Pieces smaller than this many m² are counted as slivers, not listed.")
@click.pass_obj
def validate_command(app: AppContext, code: str, as_json: bool, min_area: float) -> None:
    """Report gaps, overlaps, units outside their parent and orphans in generation CODE."""
    with app.transaction() as conn:
        report = validate(conn, code, min_area_m2=min_area)
    click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if as_json
               else report.render())


@boundaries.command()
@click.argument("code")
@click.pass_obj
def activate(app: AppContext, code: str) -> None:
    """Make generation CODE the active one (the one previously active is retired)."""
    with app.transaction() as conn:
        set_status(conn, code, "active")
    click.echo(f"generation {code} is active")


@boundaries.command("list")
@click.pass_obj
def list_command(app: AppContext) -> None:
    """List the generations with their status, validity and unit counts."""
    with app.transaction() as conn:
        generations = list_generations(conn)
        counts = _unit_counts(conn)
    for generation in generations:
        units = counts(generation.id)
        click.echo(f"{generation.code}\t{generation.status}\t{generation.valid_from or '-'} .. "
                   f"{generation.valid_to or '-'}\t{units}\t{generation.description[:60]}")


def _unit_counts(conn: Connection) -> Callable[[int], str]:
    counts = unit_counts(conn)

    def describe(generation_id: int) -> str:
        parts = [
            f"{count.units} {count.level}"
            + (f" ({count.approximate} approximate)" if count.approximate else "")
            for count in counts.get(generation_id, ())
        ]
        return ", ".join(parts) or "no units"

    return describe
