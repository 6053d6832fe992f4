"""Where the declarative report configuration files (TOML) live; read with :mod:`gis_service.tomlcheck`.

Both ``categories.toml`` and ``agencies.toml`` live in ``boundaries/reports/`` (a sub-folder,
because every ``*.toml`` directly in ``boundaries/`` is read as a boundary manifest).
"""

from __future__ import annotations

from pathlib import Path

from gis_service.config import Settings

CONFIG_SUBDIR = "reports"


def config_path(settings: Settings, name: str) -> Path:
    """Where a report configuration file is: ``<boundaries_dir>/reports/<name>``, unless the
    service area's manifests have their own (``boundaries/national/reports/agencies.toml``: the
    country's committees; the categories are the same everywhere).

    >>> config_path(Settings(), "categories.toml").name
    'categories.toml'
    """
    own = settings.area_manifests_dir / CONFIG_SUBDIR / name
    return own if own.exists() else settings.boundaries_dir / CONFIG_SUBDIR / name
