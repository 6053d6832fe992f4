"""Reading declarative TOML files (boundary manifests, the report configuration) with errors
that name the file and the entry: every mistake is a :class:`DataError`, never a KeyError.

``where`` is the place to name in the message, e.g. ``boundaries/2019.toml [[layer]] 1``.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gis_service.errors import DataError


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc


def no_unknown_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise DataError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")


def as_table(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise DataError(f"{where}: expected a table, not {type(value).__name__}")
    return value


def tables(document: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    """The array of tables ``[[key]]`` (empty when absent)."""
    value = document.get(key, [])
    if not isinstance(value, list):
        raise DataError(f"{where}: '{key}' must be an array of tables ([[{key}]])")
    return [as_table(item, f"{where} [[{key}]] {n}") for n, item in enumerate(value, start=1)]


def string(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    """A string; empty (or blank) only when absent and ``default`` is given."""
    value = table.get(key, default)
    if not isinstance(value, str) or (not value.strip() and default is None):
        raise DataError(f"{where}: '{key}' must be a non-empty string")
    return value


def optional_string(table: Mapping[str, Any], key: str, where: str) -> str | None:
    return None if table.get(key) is None else string(table, key, where)


def table(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    """The required table ``[key]``."""
    if key not in parent:
        raise DataError(f"{where}: missing [{key}]")
    return as_table(parent[key], f"{where} [{key}]")


def boolean(table: Mapping[str, Any], key: str, where: str, default: bool = False) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise DataError(f"{where}: '{key}' must be true or false")
    return value


def integer(table: Mapping[str, Any], key: str, where: str, default: int | None = None) -> int:
    value = table.get(key, default)
    # bool is an int in Python; `priority = true` is a mistake, not 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise DataError(f"{where}: '{key}' must be an integer")
    return value


def string_list(table: Mapping[str, Any], key: str, where: str) -> list[str] | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise DataError(f"{where}: '{key}' must be a list of strings")
    return list(value)


def optional_integer(table: Mapping[str, Any], key: str, where: str) -> int | None:
    return None if table.get(key) is None else integer(table, key, where)


def date(table: Mapping[str, Any], key: str, where: str) -> dt.date | None:
    """A TOML date or a YYYY-MM-DD string; None when absent."""
    value = table.get(key)
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise DataError(f"{where}: '{key}' must be a date (YYYY-MM-DD)")
