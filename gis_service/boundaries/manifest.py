"""Boundary manifests: one small TOML file per generation saying what to load and how.

``boundaries/<code>.toml`` names the generation, its layers (file, level, field mapping,
provenance) or a ``[derive]`` builder that computes the layers from other generations. Files
resolve against ``settings.data_root``. The format is documented in ``boundaries/README.md``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from gis_service import tomlcheck
from gis_service.boundaries.crosswalk import build_crosswalk
from gis_service.boundaries.features import Provenance
from gis_service.boundaries.generations import by_code, ensure_generation, set_status
from gis_service.boundaries.load import LoadSummary, load_units
from gis_service.boundaries.sources import FieldMapping, PopulationTable, read_units
from gis_service.boundaries.validate import ValidationReport, validate
from gis_service.config import Settings
from gis_service.db.schema import GENERATION_STATUSES, LEVELS
from gis_service.errors import DataError, NotFound

_DERIVE_MODULE = "gis_service.boundaries.derive"
_GENERATION_KEYS = {
    "code", "description", "valid_from", "valid_to", "status", "after", "crosswalk_from",
}
_LAYER_KEYS = {"level", "file", "source", "licence", "crs", "layer_name", "fields", "population",
               "approximate"}
_FIELD_KEYS = {"code", "name", "type", "parent", "population", "population_year"}
_POPULATION_KEYS = {"file", "code", "value", "year"}
_TOP_KEYS = {"generation", "layer", "derive", "after"}


@dataclass(frozen=True)
class GenerationSpec:
    """The ``[generation]`` table."""

    code: str
    description: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    status: str


@dataclass(frozen=True)
class LayerSpec:
    """One ``[[layer]]``: a file loaded as one level. Paths are relative to the data root."""

    level: str
    file: Path
    provenance: Provenance
    fields: FieldMapping
    crs: str | None = None
    layer_name: str | None = None
    population: PopulationTable | None = None
    approximate: bool = False


@dataclass(frozen=True)
class Manifest:
    """One generation's manifest, as read from ``path``."""

    path: Path
    generation: GenerationSpec
    layers: tuple[LayerSpec, ...] = ()
    derive: Mapping[str, object] | None = None
    after: tuple[str, ...] = ()
    #: Generations to build a commune crosswalk with once this one is loaded
    #: (``crosswalk_from`` in the [generation] table).
    crosswalk_from: tuple[str, ...] = ()

    def files(self) -> list[Path]:
        """Every data file the layers name (relative to the data root)."""
        files = [layer.file for layer in self.layers]
        files += [layer.population.path for layer in self.layers if layer.population]
        return files


@dataclass(frozen=True)
class ManifestResult:
    """What loading one manifest did: its loads, the builder's report, the final validation."""

    code: str
    status: str
    manifest: Path
    loads: tuple[LoadSummary, ...]
    validation: ValidationReport
    builder_report: Mapping[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "generation": self.code,
            "status": self.status,
            "manifest": str(self.manifest),
            "loads": [load.counts() for load in self.loads],
            "builder_report": dict(self.builder_report),
            "validation": self.validation.to_dict(),
        }

    def render(self) -> str:
        lines = [f"generation {self.code} ({self.status}) from {self.manifest.name}"]
        lines += [f"  {load.describe()}" for load in self.loads]
        lines += [f"  builder report: {key} = {value}" for key, value in self.builder_report.items()]
        lines.append(self.validation.render())
        return "\n".join(lines)


def read_manifest(path: Path) -> Manifest:
    """Parse and check one manifest; any mistake raises DataError naming the file and key.

    >>> read_manifest(Path("boundaries/2019.toml")).generation.code  # doctest: +SKIP
    '2019'
    """
    document = tomlcheck.read_toml(path)
    where = str(path)
    tomlcheck.no_unknown_keys(document, _TOP_KEYS, where)
    generation = _generation(tomlcheck.table(document, "generation", where), f"{where} [generation]")
    layers = tuple(
        _layer(raw, f"{where} [[layer]] {n}")
        for n, raw in enumerate(tomlcheck.tables(document, "layer", where), start=1)
    )
    derive = document.get("derive")
    if derive is not None:
        derive = tomlcheck.as_table(derive, f"{where} [derive]")
        tomlcheck.string(derive, "builder", f"{where} [derive]")
    if not layers and derive is None:
        raise DataError(f"{where}: a manifest needs [[layer]] tables or a [derive] table")
    after = _after(document, where)
    crosswalk_from = (document.get("generation") or {}).get("crosswalk_from", [])
    if not isinstance(crosswalk_from, list) or not all(isinstance(c, str) for c in crosswalk_from):
        raise DataError(f"{where}: 'crosswalk_from' must be a list of generation codes")
    return Manifest(path, generation, layers, derive, after, tuple(crosswalk_from))


def read_manifests(directory: Path) -> list[Manifest]:
    """Every ``*.toml`` manifest in ``directory``, in loading order (dependencies first)."""
    manifests = [read_manifest(path) for path in sorted(directory.glob("*.toml"))]
    codes = [m.generation.code for m in manifests]
    duplicated = {code for code in codes if codes.count(code) > 1}
    if duplicated:
        raise DataError(f"{directory}: more than one manifest for generation "
                        f"{sorted(duplicated)[0]!r}")
    return _dependency_order(manifests)


FALLBACK_DIR = "fallback"


def manifests_dir(settings: Settings) -> Path:
    """Where the manifests to load are: the official ones when the data root is present,
    otherwise the gazetteer-only approximate stand-ins in ``boundaries/fallback``."""
    if settings.has_data_root:
        return settings.boundaries_dir
    return settings.boundaries_dir / FALLBACK_DIR


def load_manifest(
    conn: Connection, settings: Settings, code: str | None = None
) -> list[ManifestResult]:
    """Load every manifest in ``settings.boundaries_dir`` (or only generation ``code``).

    Runs in the caller's transaction: a DataError anywhere leaves nothing once it rolls back.

    >>> with engine.begin() as conn:  # doctest: +SKIP
    ...     [result.code for result in load_manifest(conn, settings)]
    ['2019', '2025']
    """
    manifests = read_manifests(settings.boundaries_dir)
    if code is not None:
        manifests = [m for m in manifests if m.generation.code == code]
        if not manifests:
            raise DataError(f"no manifest for generation {code!r} in {settings.boundaries_dir}")
    loading = {m.generation.code for m in manifests}
    return [load_one(conn, manifest, settings.data_root, loading) for manifest in manifests]


def load_one(
    conn: Connection, manifest: Manifest, data_root: Path, loading: set[str] | None = None
) -> ManifestResult:
    """Load one manifest's generation: ensure it, load or derive its layers, set its status."""
    _check_ready(conn, manifest, data_root, loading or set())
    spec = manifest.generation
    ensure_generation(conn, spec.code, description=spec.description,
                      valid_from=spec.valid_from, valid_to=spec.valid_to)
    if manifest.derive is not None:
        loads, builder_report = _load_derived(conn, manifest, data_root)
    else:
        loads, builder_report = _load_layers(conn, manifest, data_root), {}
    crosswalks = {old: build_crosswalk(conn, old, spec.code) for old in manifest.crosswalk_from}
    if crosswalks:
        builder_report = {**builder_report, "crosswalk_rows": crosswalks}
    set_status(conn, spec.code, spec.status)
    report = loads[-1].report if loads else validate(conn, spec.code)
    return ManifestResult(spec.code, spec.status, manifest.path, tuple(loads), report,
                          builder_report)


def _check_ready(conn: Connection, manifest: Manifest, data_root: Path, loading: set[str]) -> None:
    """Every file is in the data root and every dependency is loaded or about to be."""
    for relative in manifest.files():
        if not (data_root / relative).exists():
            raise DataError(f"{manifest.path}: file {relative} is not in the data root {data_root}")
    for dependency in manifest.after:
        if dependency in loading:
            continue
        try:
            by_code(conn, dependency)
        except NotFound:
            raise DataError(f"{manifest.path}: generation {dependency!r} must be loaded first "
                            "(it is listed in 'after')") from None


def _load_layers(conn: Connection, manifest: Manifest, data_root: Path) -> list[LoadSummary]:
    loads = []
    # Top-down, so parents exist when their children are loaded.
    for layer in sorted(manifest.layers, key=lambda spec: LEVELS.index(spec.level)):
        population = layer.population
        if population is not None:
            population = PopulationTable(data_root / population.path, population.code,
                                         population.value, population.year)
        source = read_units(data_root / layer.file, layer.fields, source_crs=layer.crs,
                            layer=layer.layer_name, population=population,
                            approximate=layer.approximate)
        loads.append(load_units(
            conn, manifest.generation.code, layer.level, source.features, layer.provenance,
            source_file=str(layer.file), source_sha256=source.sha256, repaired=source.repaired,
        ))
    return loads


def _load_derived(
    conn: Connection, manifest: Manifest, data_root: Path
) -> tuple[list[LoadSummary], Mapping[str, object]]:
    spec = manifest.derive or {}
    name = str(spec["builder"])
    derived = _builder(name, manifest.path)(conn, spec, data_root)
    digest = hashlib.sha256(manifest.path.read_bytes()).hexdigest()
    loads = [
        load_units(conn, manifest.generation.code, level, features, provenance,
                   source_file=f"{manifest.path.name} [derive: {name}]", source_sha256=digest)
        for level, provenance, features in derived.layers
    ]
    return loads, dict(derived.report)


def _builder(name: str, path: Path) -> Callable[..., Any]:
    """The registered builder ``name``; its module is imported only when a manifest needs it."""
    try:
        module = importlib.import_module(_DERIVE_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != _DERIVE_MODULE:
            raise
        raise DataError(f"{path}: builder {name!r} needs {_DERIVE_MODULE}, which is not "
                        "installed") from exc
    builders: Mapping[str, Callable[..., Any]] = module.BUILDERS
    if name not in builders:
        raise DataError(f"{path}: unknown builder {name!r} (known: {', '.join(sorted(builders))})")
    return builders[name]


def _dependency_order(manifests: Sequence[Manifest]) -> list[Manifest]:
    """Dependencies first; otherwise file-based before derived, then by code."""
    pending = sorted(manifests, key=lambda m: (m.derive is not None, m.generation.code))
    codes = {m.generation.code for m in manifests}
    ordered: list[Manifest] = []
    done: set[str] = set()
    while pending:
        ready = next((m for m in pending if all(d in done or d not in codes for d in m.after)),
                     None)
        if ready is None:
            raise DataError("manifests depend on each other in a cycle: "
                            + ", ".join(str(m.path) for m in pending))
        ordered.append(ready)
        done.add(ready.generation.code)
        pending.remove(ready)
    return ordered


# --- parsing: each helper names the file and table in its error ---------------------------

def _generation(table: Mapping[str, Any], where: str) -> GenerationSpec:
    tomlcheck.no_unknown_keys(table, _GENERATION_KEYS, where)
    status = tomlcheck.string(table, "status", where, default="draft")
    if status not in GENERATION_STATUSES:
        raise DataError(f"{where}: status must be one of {', '.join(GENERATION_STATUSES)}, "
                        f"not {status!r}")
    return GenerationSpec(
        code=tomlcheck.string(table, "code", where),
        description=tomlcheck.string(table, "description", where, default=""),
        valid_from=tomlcheck.date(table, "valid_from", where),
        valid_to=tomlcheck.date(table, "valid_to", where),
        status=status,
    )


def _layer(table: Mapping[str, Any], where: str) -> LayerSpec:
    tomlcheck.no_unknown_keys(table, _LAYER_KEYS, where)
    level = tomlcheck.string(table, "level", where)
    if level not in LEVELS:
        raise DataError(f"{where}: level must be one of {', '.join(LEVELS)}, not {level!r}")
    approximate = table.get("approximate", False)
    if not isinstance(approximate, bool):
        raise DataError(f"{where}: approximate must be true or false")
    population = table.get("population")
    return LayerSpec(
        level=level,
        file=Path(tomlcheck.string(table, "file", where)),
        provenance=Provenance(tomlcheck.string(table, "source", where),
                              tomlcheck.string(table, "licence", where)),
        fields=_fields(tomlcheck.table(table, "fields", where), f"{where} fields"),
        crs=tomlcheck.optional_string(table, "crs", where),
        layer_name=tomlcheck.optional_string(table, "layer_name", where),
        population=None if population is None else _population(
            tomlcheck.as_table(population, f"{where} population"), f"{where} population"),
        approximate=approximate,
    )


def _fields(table: Mapping[str, Any], where: str) -> FieldMapping:
    tomlcheck.no_unknown_keys(table, _FIELD_KEYS, where)
    return FieldMapping(
        code=tomlcheck.string(table, "code", where),
        name=tomlcheck.string(table, "name", where),
        type=tomlcheck.string(table, "type", where),
        parent=tomlcheck.optional_string(table, "parent", where),
        population=tomlcheck.optional_string(table, "population", where),
        population_year=tomlcheck.optional_integer(table, "population_year", where),
    )


def _population(table: Mapping[str, Any], where: str) -> PopulationTable:
    tomlcheck.no_unknown_keys(table, _POPULATION_KEYS, where)
    return PopulationTable(
        path=Path(tomlcheck.string(table, "file", where)),
        code=tomlcheck.string(table, "code", where),
        value=tomlcheck.string(table, "value", where),
        year=tomlcheck.optional_integer(table, "year", where),
    )


def _after(document: Mapping[str, Any], where: str) -> tuple[str, ...]:
    """``after = [...]`` at the top, in [generation] or in [derive]: wherever it was written."""
    found: list[str] = []
    for holder in (document, document.get("generation") or {}, document.get("derive") or {}):
        value = holder.get("after", [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise DataError(f"{where}: 'after' must be a list of generation codes")
        found.extend(value)
    return tuple(dict.fromkeys(found))


