"""A small thread-safe LRU cache for what an analysis rebuilds only when the boundaries change
(the study area's cells, their polygons, spatial weights)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


class LruCache(Generic[Key, Value]):
    """At most ``size`` values, least recently used dropped first.

    >>> cache: LruCache[str, int] = LruCache(1)
    >>> cache.get_or_make("a", lambda: 1), cache.get_or_make("a", lambda: 2)
    (1, 1)
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[Key, Value] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key) -> Value | None:
        """The cached value (marked as used), or None."""
        with self._lock:
            if key not in self._values:
                return None
            self._values.move_to_end(key)
            return self._values[key]

    def get_or_make(self, key: Key, make: Callable[[], Value]) -> Value:
        """The cached value, or ``make()`` stored. Two threads missing at once may both make it
        (the values are equal); holding the lock while making would serialise every request."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = make()
        with self._lock:
            self._values[key] = value
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
