"""Computed page sections kept in memory, so that a repeat visit with unchanged data renders at
once instead of re-reading the panel and refitting the models.

An entry is keyed by the page and its parameters (the survey, the language: the sections carry
translated titles, labels and charts) and remembers the data version it was computed at (see
:class:`patronage.storage.data_version.DataVersion`); a visit under another version computes
again and replaces it. Each page keeps at most ``entries_per_page`` parameter sets, the least
recently used leaving first, so memory stays bounded whatever the parameters. Concurrent first
visits to one key compute once: the others wait for that result, while other keys go ahead.

The slow pages (analysis, loyalty: seconds on a real panel) use :meth:`PageCache.prepared`
instead, which never makes a visit wait: a page that is not ready at the current data version is
computed by a few background threads (see :mod:`patronage.reporting.page_jobs`: the page a
visitor waits for first, then what visits asked for, then the warmer's work), and the visit
gets the previous version's page (marked not current) or nothing (the caller shows that the page is being prepared). Pages of one ``group``
(the same page and options in the three languages) share one store of computed results per data
version (see :mod:`patronage.reporting.shared`), so the second and third languages only
translate and draw; what does not depend on the page or its filters (the survey's responses as
read) is kept in one store for every page at the data version, so a filtered view not seen
before narrows them in memory instead of reading the database again. The application warms the default pages this way at start-up, and after a
change of the data version those that were visited recently.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from patronage.reporting.page_jobs import VISITED, WAITED, WARMING, JobQueue
from patronage.reporting.shared import sharing

log = logging.getLogger(__name__)

#: Seconds before a page whose background computation failed is tried again.
RETRY_AFTER_FAILURE = 5.0


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

    def __init__(self, version: Callable[[], Hashable | None], *, entries_per_page: int = 8,
                 workers: int = 2):
        if entries_per_page < 1:
            raise ValueError("entries_per_page must be at least 1")
        self._version = version
        self.entries_per_page = entries_per_page
        self._lock = threading.Lock()
        self._pages: dict[str, OrderedDict] = {}
        self._flights: dict[tuple, _Flight] = {}
        self._stores: OrderedDict[Hashable, tuple[Hashable, dict]] = OrderedDict()
        self._every_page: tuple[Hashable, dict] | None = None
        self._failures: dict[tuple, tuple[Hashable, float, BaseException]] = {}
        self._visits: dict[tuple, float] = {}
        self._queue = JobQueue(workers)
        #: The background computations under way by page, parameters and the version they
        #: compute at (two jobs queued under different versions may start at the same one).
        self._running: dict[tuple, _Flight] = {}
        self._closed = False
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

    def prepared(self, page: str, params: Hashable, compute: Callable[[], Any], *,
                 group: Hashable = None, wait: float = 0.0, visit: bool = True,
                 urgent: bool = False) -> tuple[Any, bool] | None:
        """``(value, True)`` when the page is ready at the current data version.

        Otherwise its computation starts in the background (once, however many visits ask);
        when it ends within ``wait`` seconds its value is the answer, else ``(value, False)``
        with the previous version's value, or None when there is none yet. Pages with the same
        ``group`` share computed results within a data version. A computation that failed
        raises its error to the visits of the next few seconds, then is tried again. Without a
        data version the page is computed at once, in the caller. ``visit`` False: asked by
        the warmer, not by a visitor (see :meth:`visited_within`). A visit that waits for the
        page, or says it is ``urgent`` (a browser waiting for it), puts it first in the queue
        of background computations (ahead of one queued earlier); other visits before the
        warmer's work.
        """
        if visit:
            with self._lock:
                self._visits[(page, params)] = time.monotonic()
        version = self._version()
        if version is None:
            with self._lock:
                self.computed += 1
            return compute(), True
        key = (page, params, version)
        with self._lock:
            entry = self._pages.setdefault(page, OrderedDict()).get(params)
            if entry is not None and entry.version == version:
                self._pages[page].move_to_end(params)
                self.hits += 1
                return entry.value, True
            failed = self._failures.get((page, params))
            if failed is not None and failed[0] == version:
                if time.monotonic() - failed[1] < RETRY_AFTER_FAILURE:
                    raise failed[2]
            flight = self._flights.get(key)
            priority = WAITED if urgent or wait > 0 else VISITED if visit else WARMING
            if flight is None and not self._closed:
                flight = self._flights[key] = _Flight()
                group = group if group is not None else (page, params)
                self._queue.submit(
                    key, lambda: self._compute_in_background(key, flight, compute, group),
                    priority, dropped=lambda: self._dropped(key, flight))
            elif flight is not None:
                self._queue.hurry(key, priority)
        if wait > 0 and flight is not None and flight.done.wait(wait):
            if flight.ok:
                return flight.value, True  # computed from data at least as new as this visit's
            with self._lock:
                failed = self._failures.get((page, params))
            if failed is not None:
                raise failed[2]
        return (entry.value, False) if entry is not None else None

    def ready(self, page: str, params: Hashable) -> bool:
        """Whether the page's computation has ended and is kept at the current data version
        (``computed`` counts computations when they start, so it cannot tell)."""
        version = self._version()
        with self._lock:
            entry = self._pages.get(page, {}).get(params)
        return entry is not None and version is not None and entry.version == version

    def visited_within(self, page: str, params: Hashable, seconds: float) -> bool:
        """Whether a visitor asked for the page in the last ``seconds``."""
        with self._lock:
            last = self._visits.get((page, params))
        return last is not None and time.monotonic() - last <= seconds

    def _store(self, group: Hashable, version: Hashable) -> dict:
        """The shared results of ``group`` at ``version`` (a new store when the version moved)."""
        held = self._stores.get(group)
        if held is None or held[0] != version:
            held = self._stores[group] = (version, {})
        self._stores.move_to_end(group)
        while len(self._stores) > self.entries_per_page:
            self._stores.popitem(last=False)
        return held[1]

    def idle(self, timeout: float | None = None) -> bool:
        """Wait until no background computation is queued or under way; False on timeout."""
        return self._queue.idle(timeout)

    def _dropped(self, key: tuple, flight: _Flight) -> None:
        """A queued computation dropped at closing: its waiting visits go on without it."""
        with self._lock:
            self._flights.pop(key, None)
        flight.done.set()

    def _compute_in_background(self, key: tuple, flight: _Flight, compute: Callable[[], Any],
                               group: Hashable) -> None:
        """Compute under the data version of now (newer than the visit's when the data changed
        while the job waited, so constant changes cannot starve a page), unless a job before
        this one already did."""
        page, params, _ = key
        mine = None
        try:
            while True:
                version = self._version()
                with self._lock:
                    entry = self._pages.setdefault(page, OrderedDict()).get(params)
                    done = entry is not None and entry.version == version
                    other = self._running.get((page, params, version))
                    if not done and other is None:
                        mine = self._running[(page, params, version)] = flight
                        self.computed += 1
                        store = self._store(group, version)
                        if self._every_page is None or self._every_page[0] != version:
                            self._every_page = (version, {})
                        every_page = self._every_page[1]
                if done:
                    flight.value, flight.ok = entry.value, True
                    return
                if other is None:
                    break
                # A job queued under an older version is computing this page at the current
                # one on the other thread: its result is this job's (computed once).
                other.done.wait()
            with sharing(store, every_page):
                value = compute()
            flight.value, flight.ok = value, True
            with self._lock:
                self._keep(page, params, version, value)
                self._failures.pop((page, params), None)
        except Exception as exc:  # noqa: BLE001  (shown to the next visits, then retried)
            log.exception("computing the %s page failed", page)
            with self._lock:
                self._failures[(page, params)] = (key[2], time.monotonic(), exc)
        finally:
            with self._lock:
                self._flights.pop(key, None)
                if mine is not None:
                    self._running.pop((page, params, version), None)
            flight.done.set()

    def close(self) -> None:
        """Stop the background threads after the computations under way; queued ones are
        dropped."""
        with self._lock:
            self._closed = True
        self._queue.close()

    def _compute(self, key: tuple, flight: _Flight, compute: Callable[[], Any]) -> Any:
        page, params, version = key
        try:
            value = compute()
            flight.value, flight.ok = value, True
            with self._lock:
                self._keep(page, params, version, value)
            return value
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()

    def _keep(self, page: str, params: Hashable, version: Hashable, value: Any) -> None:
        """Store an entry (under the lock). Versions are not ordered: a slow computation under
        an older version may replace a newer entry, which the next visit (under the newer
        version) redoes."""
        entries = self._pages.setdefault(page, OrderedDict())
        entries[params] = _Entry(version, value)
        entries.move_to_end(params)
        while len(entries) > self.entries_per_page:
            entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry (computations under way finish normally)."""
        with self._lock:
            self._pages.clear()
            self._stores.clear()
            self._every_page = None
            self._failures.clear()

    def __len__(self) -> int:
        with self._lock:
            return sum(len(entries) for entries in self._pages.values())


__all__ = ["PageCache"]
