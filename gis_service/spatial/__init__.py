"""Spatial: which commune, district and province of a boundary generation a lon/lat lies in.

This is the one place that turns coordinates into administrative units. Rules:

- **inside**: the point is covered by a commune (boundary included). ``distance_m`` is 0.
- **a point on a shared edge, a shared vertex or in an overlap** of several communes gets the
  commune in which it lies *deepest*: the largest distance from the point to that commune's
  boundary, in metres on the geography type; ties (a point exactly on a shared edge or vertex is
  0 m deep in each) go to the lowest code. Depth is computed only for the rare points covered
  by more than one commune, so the common case costs one point-in-polygon test.
- **nearest**: a point in no commune (a gap, a lagoon, the sea) within ``tolerance_m`` of one
  gets the nearest commune, ``distance_m`` measured on the geography type (metres on the WGS84
  spheroid); ties go to the lowest code.
- **outside**: farther than ``tolerance_m`` from every commune: no units, not an error.
- District and province are the commune's parents (so the three always agree), never separate
  polygon lookups; in two-level generations (2025) the commune's parent is the province and
  ``district`` is None.

One SQLAlchemy Core query, :func:`~gis_service.spatial.query.snap_select`, implements these
rules over any selectable of ``(idx, lon, lat)``: :func:`snap_point` passes one row,
:func:`snap_points` a table filled with COPY, and bulk imports their staging table, so all three
give the same answers by construction. snap_point, called point by point by busy callers, first
tries its process's commune cores (cores.py): a point deep inside one commune then needs only a
read of the boundary revision (proof the cores still hold), a point surely in no commune only
the nearest rule.

The modules, one concern each: ``types`` (Snap, matches, the tolerance; units are
:class:`gis_service.unit_ref.UnitRef`), ``grid`` and
``predicates`` (the SQL pieces every query shares), ``query`` (snap_select), ``statements`` and
``single`` (one point, snap_point), ``bulk`` (many points, snap_points), ``cores`` (communes'
interiors in memory), ``units`` (units by id), ``proximity`` (the neighbouring commune near a
boundary) and ``reverse`` (what the reverse endpoints answer).
"""
