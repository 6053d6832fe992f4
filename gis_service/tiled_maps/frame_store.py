"""The map pages' analysis frames on disk, shared by the server's worker processes.

A cold map page asks one worker for the page (which makes the analysis frame) and, a moment
later, every worker for its tiles: each worker making the same frame again doubled a cold
page's time. The first worker to make a frame writes it here (a pickle of the drawn cells,
~1 MB at resolution 10); the others, and the workers of a restarted server while the data are
unchanged, read it in milliseconds. A frame's file name is a digest of its key (the filters
and the boundary and reports versions), so a data change is a new name and never a stale
frame; the oldest files beyond :data:`KEEP` are removed.

The files are this server's own (its state directory, ``GIS_STATE_DIR``), written atomically
(a temporary file renamed), so a reader never sees half a frame. Pickle is safe here because
nothing but the server writes that directory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from pathlib import Path

import geopandas as gpd

log = logging.getLogger(__name__)

#: Frames kept on disk (a few filters per data version; ~1 MB each at resolution 10).
KEEP = 32
#: Bump when the frame's columns change, so a new version never reads an old file.
FORMAT = 1


def _path(directory: Path, key: tuple[object, ...]) -> Path:
    digest = hashlib.blake2b(repr((FORMAT, key)).encode(), digest_size=16).hexdigest()
    return directory / f"{digest}.pickle"


def read_frame(directory: Path, key: tuple[object, ...]) -> gpd.GeoDataFrame | None:
    """The frame stored under ``key``, or None (absent or unreadable: it is made again)."""
    path = _path(directory, key)
    try:
        with path.open("rb") as handle:
            frame = pickle.load(handle)  # our own files (module docstring)
    except FileNotFoundError:
        return None
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        log.warning("unreadable map frame %s: made again", path, exc_info=True)
        return None
    return frame if isinstance(frame, gpd.GeoDataFrame) else None


def write_frame(directory: Path, key: tuple[object, ...], frame: gpd.GeoDataFrame) -> None:
    """Store ``frame`` under ``key`` (best effort: a failure is logged, the page goes on)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, suffix=".tmp", delete=False) as handle:
            pickle.dump(frame, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, _path(directory, key))
        _prune(directory)
    except OSError:
        log.warning("could not store a map frame in %s", directory, exc_info=True)


def _prune(directory: Path) -> None:
    files = sorted(directory.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[KEEP:]:
        old.unlink(missing_ok=True)
