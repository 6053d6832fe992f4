"""Index-sensitive predicates on commune pieces, each written so a GiST index serves it (see the
EXPLAIN test in tests/test_snapping.py); rewriting them can silently turn index scans into seq scans."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    FromClause,
    and_,
    func,
)
from sqlalchemy.sql.elements import ColumnElement

from gis_service.spatial.grid import (
    COMMUNE,
)


def piece_covers(part: FromClause, generation_id: ColumnElement[Any], point: ColumnElement[Any]
                 ) -> ColumnElement[bool]:
    """Commune pieces of the generation covering ``point`` (ix_admin_unit_part_commune).

    ST_Covers (not ST_Contains) so a point on a boundary is covered by both sides; its index
    support adds ``geom && point`` to the partial (generation_id, geom) GiST scan, whose
    predicate ``level = 'commune'`` the condition on level matches.
    """
    return and_(
        part.c.generation_id == generation_id,
        part.c.level == COMMUNE,
        func.ST_Covers(part.c.geom, point),
    )


def piece_in_box(part: FromClause, generation_id: ColumnElement[Any], box: ColumnElement[Any]
                 ) -> ColumnElement[bool]:
    """Commune pieces of the generation whose bounding box meets ``box`` (ix_admin_unit_part_commune)."""
    return and_(
        part.c.generation_id == generation_id,
        part.c.level == COMMUNE,
        part.c.geom.op("&&")(box),
    )


def piece_near(part: FromClause, generation_id: ColumnElement[Any], point: ColumnElement[Any],
               radius_deg: ColumnElement[Any]) -> ColumnElement[bool]:
    """Commune pieces within ``radius_deg`` degrees of ``point`` (ix_admin_unit_part_commune).

    A planar prefilter only: the radius is widened (see :func:`prefilter_radius_deg`) so every
    piece within the tolerance in metres passes; metres are then measured on ``geog``.
    """
    return and_(
        part.c.generation_id == generation_id,
        part.c.level == COMMUNE,
        func.ST_DWithin(part.c.geom, point, radius_deg),
    )


