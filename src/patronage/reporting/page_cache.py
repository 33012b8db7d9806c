"""Computed page sections kept in memory, so that a repeat visit with unchanged data renders at
once instead of re-reading the panel and refitting the models.

An entry is keyed by the page and its parameters (the survey, the language: the sections carry
translated titles, labels and charts) and remembers the data version it was computed at (see
:class:`patronage.storage.data_version.DataVersion`); a visit under another version computes
again and replaces it. Each page keeps at most ``entries_per_page`` parameter sets, the least
recently used leaving first, so memory stays bounded whatever the parameters. Concurrent first
visits to one key compute once: the others wait for that result, while other keys go ahead.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class _Entry:
    version: Hashable
    value: Any


class _Flight:
    """A computation under way, which later visitors to the same key wait for."""

    def __init__(self):
        self.done = threading.Event()
        self.ok = False
        self.value = None


class PageCache:
    """Results of ``compute`` per page, parameters and data version (thread-safe).

    ``version`` is called once per :meth:`get`, before computing; when it returns None the
    result is computed and not kept. ``computed`` counts computations, ``hits`` answers from
    memory.
    """

    def __init__(self, version: Callable[[], Hashable | None], *, entries_per_page: int = 8):
        if entries_per_page < 1:
            raise ValueError("entries_per_page must be at least 1")
        self._version = version
        self.entries_per_page = entries_per_page
        self._lock = threading.Lock()
        self._pages: dict[str, OrderedDict] = {}
        self._flights: dict[tuple, _Flight] = {}
        self.computed = 0
        self.hits = 0

    def get(self, page: str, params: Hashable, compute: Callable[[], Any]) -> Any:
        """The result of ``compute()`` for ``page`` with ``params`` at the current data version.

        The cached value is shared between visits: callers must not modify it.
        """
        version = self._version()
        if version is None:
            with self._lock:
                self.computed += 1
            return compute()
        key = (page, params, version)
        while True:
            with self._lock:
                entries = self._pages.setdefault(page, OrderedDict())
                entry = entries.get(params)
                if entry is not None and entry.version == version:
                    entries.move_to_end(params)
                    self.hits += 1
                    return entry.value
                flight = self._flights.get(key)
                leader = flight is None
                if leader:
                    flight = self._flights[key] = _Flight()
                    self.computed += 1
            if leader:
                return self._compute(key, flight, compute)
            flight.done.wait()
            if flight.ok:
                with self._lock:
                    self.hits += 1
                return flight.value
            # The computation failed: try again (this visit may now lead).

    def _compute(self, key: tuple, flight: _Flight, compute: Callable[[], Any]) -> Any:
        page, params, version = key
        try:
            value = compute()
            flight.value, flight.ok = value, True
            with self._lock:
                entries = self._pages.setdefault(page, OrderedDict())
                # Versions are not ordered: a slow computation under an older version may
                # replace a newer entry, which the next visit (under the newer version) redoes.
                entries[params] = _Entry(version, value)
                entries.move_to_end(params)
                while len(entries) > self.entries_per_page:
                    entries.popitem(last=False)
            return value
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()

    def clear(self) -> None:
        """Forget every entry (computations under way finish normally)."""
        with self._lock:
            self._pages.clear()

    def __len__(self) -> int:
        with self._lock:
            return sum(len(entries) for entries in self._pages.values())


__all__ = ["PageCache"]
