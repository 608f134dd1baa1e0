"""What a platform keeps between calls: a bounded map, least recently used dropped first, whose entries may
expire at a given moment (a reader's grant ending, by the platform's clock). The gateway's prepared reads and
the read decisions of the one decision point are kept this way, each keyed on everything its value depends on
(the store's metadata version among them), so an entry is never stale, only unused."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, Generic, TypeVar

from threshold.runtime import Clock, system_clock

V = TypeVar("V")


class Kept(Generic[V]):
    """At most `limit` values; `get` forgets one whose moment has come (`until`, compared with `clock`: the
    platform's, by which the grants' ends are judged)."""

    def __init__(self, limit: int, clock: Clock = system_clock) -> None:
        self.limit = limit
        self.clock = clock
        self._entries: OrderedDict[Hashable, tuple[V, datetime | None]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[1] is not None and self.clock() >= entry[1]:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        """The kept value of `key`, or `make()`'s, kept (made outside the lock: two callers may both make it,
        and the value is the same)."""
        found = self.get(key)
        if found is None:
            found = make()
            self.put(key, found)
        return found

    def put(self, key: Hashable, value: V, until: datetime | None = None) -> None:
        with self._lock:
            self._entries[key] = (value, until)
            self._entries.move_to_end(key)
            while len(self._entries) > self.limit:
                self._entries.popitem(last=False)


def kept_on(owner: Any, name: str, make: Callable[[], Kept[V]]) -> Kept[V]:
    """The `Kept` that `owner` (a platform) holds under `name`, made on first use."""
    kept = getattr(owner, name, None)
    if kept is None:
        kept = make()
        setattr(owner, name, kept)
    return kept  # type: ignore[no-any-return]
