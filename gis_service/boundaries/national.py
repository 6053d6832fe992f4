"""The national service generation: all of Vietnam's 34 provinces and 3,321 wards of 2025.

The ``vn_national`` builder (``boundaries/national/2025.toml``) reads the same national files as
the reference generation (:mod:`gis_service.boundaries.reference`) but makes them a *service*
generation: reports are filed under it and snapped to its wards, and the provinces are the
wards' parents (``province_code``). A deployment serves it by choosing
``GIS_SERVICE_AREA=national`` (see :class:`gis_service.config.Settings`), whose manifests live in
``boundaries/national/``; there is no reference generation beside it, since nothing of Vietnam
lies outside it (a point off the coast or abroad is snapped by the plain nearest rule, within
the tolerance, or is outside).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gis_service.boundaries.derive import DerivedGeneration, Layer
from gis_service.boundaries.features import Provenance
from gis_service.boundaries.reference import read_reference_units
from gis_service.errors import DataError


def _text(spec: Mapping[str, object], key: str) -> str:
    value = spec.get(key, "")
    if not isinstance(value, str) or not value:
        raise DataError(f"[derive] needs a text value for {key!r}", field=key)
    return value


def build_vn_national(_conn: object, spec: Mapping[str, object], data_root: Path
                      ) -> DerivedGeneration:
    """Vietnam's provinces and wards as one service generation.

    ``spec`` keys: ``provinces`` and ``wards`` (files under ``data_root``), ``source`` and
    ``licence``. The tiling validation is skipped as for the reference generation: the source is
    a clean coverage (checked when it was simplified), and validating 3,321 wards pairwise would
    take minutes of a 2-core machine for nothing.
    """
    provenance = Provenance(_text(spec, "source"), _text(spec, "licence"))
    provinces = read_reference_units(data_root / _text(spec, "provinces"), with_parent=False)
    wards = read_reference_units(data_root / _text(spec, "wards"), with_parent=True)
    layers: list[Layer] = [("province", provenance, provinces), ("commune", provenance, wards)]
    return DerivedGeneration(layers, {"national": True, "levels": {
        level: len(features) for level, _p, features in layers}}, validate=False)
