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
        self._making: dict[Key, threading.Lock] = {}

    def _found(self, key: Key) -> tuple[bool, Value | None]:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return True, self._values[key]
        return False, None

    def get_or_make(self, key: Key, make: Callable[[], Value]) -> Value:
        """The cached value, or ``make()`` stored. Threads missing the same key at once wait
        for the first one's value (a map page's tiles all ask for one analysis frame at the
        same moment: each making it would multiply a cold page's work by the threads);
        different keys are made side by side."""
        found, value = self._found(key)
        if found:
            return value  # type: ignore[return-value]  # found: a stored Value (may be None)
        with self._lock:
            making = self._making.setdefault(key, threading.Lock())
        with making:
            found, value = self._found(key)
            if found:
                return value  # type: ignore[return-value]  # as above
            try:
                made = make()
                with self._lock:
                    self._values[key] = made
                    while len(self._values) > self.size:
                        self._values.popitem(last=False)
            finally:
                with self._lock:
                    self._making.pop(key, None)
        return made

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
