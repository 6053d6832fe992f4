"""The one reference to an administrative unit that answers carry: snaps, geocoding, reports.

A unit is named by its row in ``admin_unit``; every answer that names one (a snap's commune, a
geocoding candidate's ward, a report's province) holds this type, and each API chooses which of
its fields to show. Fields an answer does not know are left at their defaults: a snap names its
generation once, beside its units; a report's units are read without their setting.

>>> ward = UnitRef(57, "19783", "Phường Phú Hội", "Phường", "commune", setting="urban")
>>> ward.name, ward.setting, ward.generation
('Phường Phú Hội', 'urban', None)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UnitRef:
    """An administrative unit: its id, official code, full name, type and level.

    ``setting`` (urban or rural) is known for communes; ``approximate`` marks a unit whose
    polygon is derived rather than official; ``generation`` is its boundary generation's code
    where the answer mixes generations; ``parent_id`` where a caller walks the hierarchy.
    """

    id: int
    code: str
    name: str
    unit_type: str
    level: str
    setting: str | None = None
    approximate: bool = False
    generation: str | None = None
    parent_id: int | None = None
