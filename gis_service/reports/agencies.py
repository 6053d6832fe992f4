"""Loading agencies and their jurisdiction rules from ``boundaries/reports/agencies.toml``.

Agencies come from two places: the ones the file lists (the city committee, departments,
utilities) and the People's Committees the file *generates*, one per unit of a level of the
boundary generation being loaded (the active one unless told otherwise), so the 40 wards of
2025 or the 152 communes and 9 districts of 2019 are never typed out. A generated committee
with ``supervisor = "parent"`` answers to the agency of its unit's parent: the district
committee in 2019, the city committee in 2025.

Jurisdiction rules get their area in SQL: a unit's polygon, a polygon from the file, or a line
buffered by ``buffer_m`` metres on the geography type (PostGIS buffers geography in a metric
projection chosen for the shape, a UTM zone here), never in degrees.

The load runs in a savepoint of the caller's transaction and checks every reference (agency,
category, unit) before writing, so a :class:`DataError` names the rule and leaves the tables
as they were. Loading the same file twice writes nothing. Agencies no longer in the file are
deleted unless reports, events or API keys refer to them (then they are kept and listed as
retained, without rules); rules no longer in the file are deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import (
    Boolean,
    Connection,
    Integer,
    LargeBinary,
    Text,
    bindparam,
    delete,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    update,
    values,
)
from sqlalchemy import column as sql_column
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.sql.elements import ColumnElement

from gis_service.boundaries import generations
from gis_service.boundaries.generations import Generation
from gis_service.db.schema import (
    admin_unit,
    agency,
    api_key,
    category,
    jurisdiction_rule,
    report,
    report_event,
)
from gis_service.errors import DataError
from gis_service.notify.channels import store_channels
from gis_service.reports.agency_config import (
    CODE_PATTERN,
    PARENT,
    AgencyConfig,
    AgencySpec,
    CommitteeSpec,
    RuleSpec,
    UnitSelector,
    read_agency_config,
)
from gis_service.unit_ref import UnitRef

_SRID = 4326
# Longest supervisor chain accepted: city > district > commune is three.
MAX_SUPERVISOR_DEPTH = 8


@dataclass(frozen=True)
class AgencyRow:
    """An agency as it should be in the table (``supervisor`` by code)."""

    code: str
    name: str
    kind: str
    unit_id: int | None
    email: str | None
    supervisor: str | None


@dataclass(frozen=True)
class AgencyLoad:
    """What a load did."""

    source: str
    generation: str
    agencies: int
    agencies_inserted: int
    agencies_updated: int
    agencies_deleted: int
    retained: tuple[str, ...]
    rules: int
    rules_inserted: int
    rules_updated: int
    rules_deleted: int
    skipped_rules: tuple[str, ...]
    #: Notification channels inserted, changed or deleted.
    channels_written: int = 0

    def describe(self) -> str:
        lines = [
            f"agencies from {self.source} for generation {self.generation}: {self.agencies} "
            f"agencies ({self.agencies_inserted} inserted, {self.agencies_updated} updated, "
            f"{self.agencies_deleted} deleted), {self.rules} rules ({self.rules_inserted} "
            f"inserted, {self.rules_updated} updated, {self.rules_deleted} deleted)"
        ]
        if self.retained:
            lines.append(f"  kept {len(self.retained)} agencies no longer in the file, as reports "
                         f"refer to them: {', '.join(self.retained[:10])}"
                         + (" ..." if len(self.retained) > 10 else ""))
        if self.skipped_rules:
            lines.append(f"  skipped rules for other generations: {', '.join(self.skipped_rules)}")
        if self.channels_written:
            lines.append(f"  notification channels: {self.channels_written} written")
        return "\n".join(lines)


def load_agencies(conn: Connection, path: Path, *, generation_code: str | None = None) -> AgencyLoad:
    """Make ``agency`` and ``jurisdiction_rule`` what the file says for a generation.

    Committees and unit rules are built from ``generation_code``'s units, by default the active
    generation's. Load the categories first: rules naming unknown categories are refused.

    >>> with engine.begin() as conn:  # doctest: +SKIP
    ...     print(load_agencies(conn, Path("boundaries/reports/agencies.toml")).describe())
    agencies from boundaries/reports/agencies.toml for generation 2025: 52 agencies ...
    """
    config = read_agency_config(path)
    with conn.begin_nested():
        generation = (generations.by_code(conn, generation_code) if generation_code
                      else generations.active(conn))
        units = _units(conn, generation.id)
        wanted = _wanted_agencies(config, generation, units)
        rules = [r for r in config.rules if r.generation in (None, generation.code)]
        skipped = tuple(r.code for r in config.rules if r not in rules)
        _check_rules(conn, rules, {a.code for a in wanted})
        unit_ids = {r.code: _find_unit(units, r.unit, r.where, generation).id
                    for r in rules if r.unit is not None}
        inserted, touched = _upsert_agencies(conn, wanted)
        ids = _agency_ids(conn, [a.code for a in wanted])
        touched |= _set_supervisors(conn, wanted, ids)
        channels = store_channels(conn, {a.code: a.channels for a in config.agencies}, ids)
        rules_deleted = _delete_absent_rules(conn, [r.code for r in rules])
        rules_inserted, rules_updated = _upsert_rules(conn, rules, ids, unit_ids)
        deleted, retained = _delete_absent_agencies(conn, [a.code for a in wanted])
    return AgencyLoad(
        config.source, generation.code, len(wanted), inserted, len(touched) - inserted,
        deleted, retained, len(rules), rules_inserted, rules_updated, rules_deleted, skipped,
        channels_written=channels,
    )


# --- agencies ------------------------------------------------------------------------------


def _units(conn: Connection, generation_id: int) -> list[UnitRef]:
    rows = conn.execute(
        select(admin_unit.c.id, admin_unit.c.code, admin_unit.c.name, admin_unit.c.unit_type,
               admin_unit.c.level, admin_unit.c.parent_id)
        .where(admin_unit.c.generation_id == generation_id)
        .order_by(admin_unit.c.level, admin_unit.c.code)
    )
    return [UnitRef(row.id, row.code, row.name, row.unit_type, row.level, parent_id=row.parent_id)
            for row in rows]


def _find_unit(units: Sequence[UnitRef], ref: UnitSelector | None, where: str,
               generation: Generation) -> UnitRef:
    assert ref is not None  # callers pass only entries that name a unit
    found = [u for u in units
             if (ref.code is None or u.code == ref.code) and (ref.level is None or u.level == ref.level)]
    if len(found) == 1:
        return found[0]
    if found:
        raise DataError(f"{where}: more than one unit {ref.describe()} in generation "
                        f"{generation.code}: give unit_level or unit to choose one")
    raise DataError(f"{where}: no unit {ref.describe()} in generation {generation.code} (a rule "
                    "meant for one generation can say so with a 'generation' key)")


def _wanted_agencies(config: AgencyConfig, generation: Generation, units: Sequence[UnitRef]
                     ) -> list[AgencyRow]:
    wanted = [_listed(spec, generation, units) for spec in config.agencies]
    for spec in config.committees:
        # In file order, so communes can find the district committees made just before.
        wanted += _generated(spec, generation, units, wanted)
    seen: dict[str, str] = {}
    for row, where in _with_origin(wanted, config):
        if row.code in seen:
            raise DataError(f"{where}: agency code {row.code!r} is also made by {seen[row.code]}")
        seen[row.code] = where
    _check_supervisors(wanted, config.source)
    return wanted


def _with_origin(rows: Sequence[AgencyRow], config: AgencyConfig) -> Iterable[tuple[AgencyRow, str]]:
    origin = {spec.code: spec.where for spec in config.agencies}
    for row in rows:
        yield row, origin.get(row.code, f"{config.source} [[committees]] ({row.kind})")


def _listed(spec: AgencySpec, generation: Generation, units: Sequence[UnitRef]) -> AgencyRow:
    unit_id = None if spec.unit is None else _find_unit(units, spec.unit, spec.where, generation).id
    return AgencyRow(spec.code, spec.name, spec.kind, unit_id, spec.email, spec.supervisor)


def _generated(spec: CommitteeSpec, generation: Generation, units: Sequence[UnitRef],
               made: Sequence[AgencyRow]) -> list[AgencyRow]:
    """One committee per unit of the spec's level; ``parent`` supervisors resolved by unit
    among the agencies ``made`` so far and these."""
    level_units = [u for u in units if u.level == spec.level]
    by_unit: dict[int | None, str] = {r.unit_id: r.code for r in made if r.unit_id is not None}
    rows = {u.id: AgencyRow(spec.render(spec.code, generation.code, u.code, u.name),
                            spec.render(spec.name, generation.code, u.code, u.name),
                            spec.kind, u.id, None, None) for u in level_units}
    by_unit |= {unit_id: row.code for unit_id, row in rows.items()}
    return [_with_supervisor(spec, u, rows[u.id], by_unit) for u in level_units]


def _with_supervisor(spec: CommitteeSpec, unit: UnitRef, row: AgencyRow, by_unit: Mapping[int | None, str]
                     ) -> AgencyRow:
    if not CODE_PATTERN.fullmatch(row.code) or "{" in row.code:
        raise DataError(f"{spec.where}: the code template gives {row.code!r}, not a valid code")
    if spec.supervisor != PARENT:
        return AgencyRow(row.code, row.name, row.kind, row.unit_id, row.email, spec.supervisor)
    supervisor = by_unit.get(unit.parent_id)
    if supervisor is None:
        raise DataError(
            f"{spec.where}: {unit.level} {unit.code} ({unit.name}) has no agency for its parent "
            "unit to supervise its committee: bind an [[agency]] to that unit, or add a "
            "[[committees]] entry for the level above (entries are applied in file order)"
        )
    return AgencyRow(row.code, row.name, row.kind, row.unit_id, row.email, supervisor)


def _check_supervisors(rows: Sequence[AgencyRow], source: str) -> None:
    """Every supervisor exists, and following supervisors never loops."""
    supervisor_of = {row.code: row.supervisor for row in rows}
    for row in rows:
        if row.supervisor is not None and row.supervisor not in supervisor_of:
            raise DataError(f"{source}: agency {row.code!r} names an unknown supervisor "
                            f"{row.supervisor!r}")
        chain, current = [row.code], row.supervisor
        while current is not None:
            if current in chain or len(chain) > MAX_SUPERVISOR_DEPTH:
                raise DataError(f"{source}: supervisors of {row.code!r} loop or run too deep: "
                                + " > ".join([*chain, current]))
            chain.append(current)
            current = supervisor_of[current]


_AGENCY_UPDATABLE = ("name", "kind", "unit_id", "email")


def _upsert_agencies(conn: Connection, rows: Sequence[AgencyRow]) -> tuple[int, set[str]]:
    """Insert new agencies and update changed ones (supervisors come after, by id)."""
    stmt = insert(agency).values([
        {"code": r.code, "name": r.name, "kind": r.kind, "unit_id": r.unit_id, "email": r.email}
        for r in rows
    ])
    stmt = stmt.on_conflict_do_update(
        index_elements=[agency.c.code],
        set_={name: stmt.excluded[name] for name in _AGENCY_UPDATABLE},
        where=or_(*(agency.c[n].is_distinct_from(stmt.excluded[n]) for n in _AGENCY_UPDATABLE)),
    )
    written = conn.execute(
        stmt.returning(agency.c.code, literal_column("xmax = 0", Boolean))
    ).all()
    return sum(1 for _, was_insert in written if was_insert), {code for code, _ in written}


def _agency_ids(conn: Connection, codes: Sequence[str]) -> dict[str, int]:
    rows = conn.execute(select(agency.c.code, agency.c.id).where(agency.c.code.in_(codes)))
    return {code: agency_id for code, agency_id in rows}


def _set_supervisors(conn: Connection, rows: Sequence[AgencyRow], ids: Mapping[str, int]) -> set[str]:
    wanted = values(sql_column("code", Text), sql_column("supervisor_id", Integer), name="wanted").data(
        [(r.code, None if r.supervisor is None else ids[r.supervisor]) for r in rows]
    )
    changed = conn.execute(
        update(agency)
        .where(agency.c.code == wanted.c.code,
               agency.c.supervisor_id.is_distinct_from(wanted.c.supervisor_id))
        .values(supervisor_id=wanted.c.supervisor_id)
        .returning(agency.c.code)
    ).scalars()
    return set(changed)


def _delete_absent_agencies(conn: Connection, codes: Sequence[str]) -> tuple[int, tuple[str, ...]]:
    """Delete agencies the file no longer makes, unless something still refers to them."""
    absent = agency.c.code.not_in(codes)
    referenced = or_(
        exists().where(report.c.agency_id == agency.c.id),
        exists().where(report_event.c.agency_id == agency.c.id),
        # Deleting would cascade to the agency's API keys: revoke them deliberately instead.
        exists().where(api_key.c.agency_id == agency.c.id),
    )
    deleted = conn.execute(delete(agency).where(absent, ~referenced).returning(agency.c.id)).all()
    retained = conn.execute(select(agency.c.code).where(absent).order_by(agency.c.code)).scalars()
    return len(deleted), tuple(retained)


# --- rules ---------------------------------------------------------------------------------


def _check_rules(conn: Connection, rules: Sequence[RuleSpec], agencies: set[str]) -> None:
    known = set(conn.execute(select(category.c.code)).scalars())
    for rule in rules:
        if rule.agency not in agencies:
            raise DataError(f"{rule.where}: unknown agency {rule.agency!r}")
        unknown = sorted(set(rule.categories or ()) - known)
        if unknown:
            raise DataError(f"{rule.where}: unknown category {unknown[0]!r} (load the categories "
                            "first; known: " + ", ".join(sorted(known)) + ")")


def _delete_absent_rules(conn: Connection, codes: Sequence[str]) -> int:
    # Reports routed by a deleted rule keep their agency; their routing_rule_id becomes NULL
    # (the 'routed' event still says why).
    stmt = delete(jurisdiction_rule).where(jurisdiction_rule.c.code.not_in(codes))
    return len(conn.execute(stmt.returning(jurisdiction_rule.c.id)).all())


def _rule_area(rule: RuleSpec, unit_id: int | None) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """SQL for the rule's area (MULTIPOLYGON) and for what was drawn (NULL for a unit)."""
    if rule.area_kind == "unit":
        unit_geom = select(admin_unit.c.geom).where(admin_unit.c.id == unit_id).scalar_subquery()
        return func.ST_Multi(unit_geom), null()
    assert rule.shape is not None  # the parser gives every polygon and line rule a shape
    drawn = func.ST_GeomFromWKB(bindparam(None, shapely.to_wkb(rule.shape), LargeBinary), _SRID)
    if rule.area_kind == "polygon":
        return func.ST_Multi(drawn), drawn
    # Metres, not degrees: buffered on the geography type (a UTM projection inside PostGIS).
    buffered = func.geometry(func.ST_Buffer(func.geography(drawn), rule.buffer_m))
    return func.ST_Multi(func.ST_CollectionExtract(buffered, 3)), drawn


_RULE_UPDATABLE = ("agency_id", "categories", "area_kind", "unit_id", "buffer_m", "geom",
                   "source_geom", "priority", "description", "approximate")


def _upsert_rules(conn: Connection, rules: Sequence[RuleSpec], ids: Mapping[str, int],
                  unit_ids: Mapping[str, int]) -> tuple[int, int]:
    if not rules:
        return 0, 0
    rows = []
    for rule in rules:
        geom, source_geom = _rule_area(rule, unit_ids.get(rule.code))
        rows.append({
            "code": rule.code, "agency_id": ids[rule.agency],
            "categories": None if rule.categories is None else list(rule.categories),
            "area_kind": rule.area_kind, "unit_id": unit_ids.get(rule.code),
            "buffer_m": rule.buffer_m, "geom": geom, "source_geom": source_geom,
            "priority": rule.priority, "description": rule.description,
            "approximate": rule.approximate,
        })
    stmt = insert(jurisdiction_rule).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[jurisdiction_rule.c.code],
        set_={name: stmt.excluded[name] for name in _RULE_UPDATABLE},
        # geometry's = compares every coordinate, so an unchanged area is not rewritten.
        where=or_(*(jurisdiction_rule.c[n].is_distinct_from(stmt.excluded[n])
                    for n in _RULE_UPDATABLE)),
    )
    written = conn.execute(stmt.returning(literal_column("xmax = 0", Boolean))).scalars().all()
    inserted = sum(1 for was_insert in written if was_insert)
    return inserted, len(written) - inserted
