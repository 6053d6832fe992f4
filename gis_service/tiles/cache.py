"""Tiles kept in memory, keyed by layer, tile and the version of the data they were made from.

A key holds the data version, so a write never serves a stale tile: the next request reads the
new version and misses. Old versions' tiles are evicted as the cache fills (least recently used
first, by bytes).
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

#: 64 MiB: some 10,000 tiles of central Huế at every zoom, in each of two encodings.
DEFAULT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Tile:
    """A tile's bytes, gzipped too, and their strong ETags (a hash of each encoding's bytes)."""

    raw: bytes
    gzipped: bytes
    etag: str
    gzip_etag: str

    @classmethod
    def of(cls, raw: bytes) -> Tile:
        digest = hashlib.sha256(raw).hexdigest()[:32]
        # mtime=0: the same tile always gzips to the same bytes.
        return cls(raw, gzip.compress(raw, compresslevel=6, mtime=0), f'"{digest}"',
                   f'"{digest}-gzip"')

    @property
    def size(self) -> int:
        return len(self.raw) + len(self.gzipped)


Key = tuple[str, int, int, int, str]


class TileCache:
    def __init__(self, max_bytes: int = DEFAULT_BYTES) -> None:
        self.max_bytes = max_bytes
        self._tiles: OrderedDict[Key, Tile] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Key) -> Tile | None:
        with self._lock:
            found = self._tiles.get(key)
            if found is not None:
                self._tiles.move_to_end(key)
            return found

    def put(self, key: Key, tile: Tile) -> None:
        with self._lock:
            old = self._tiles.pop(key, None)
            self._bytes -= old.size if old else 0
            self._tiles[key] = tile
            self._bytes += tile.size
            while self._bytes > self.max_bytes and len(self._tiles) > 1:
                _key, evicted = self._tiles.popitem(last=False)
                self._bytes -= evicted.size

    def clear(self) -> None:
        with self._lock:
            self._tiles.clear()
            self._bytes = 0
