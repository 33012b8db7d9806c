"""Pages computed in the background (analysis, loyalty): the answer while one is being prepared,
and the warmer that prepares the default pages in every language before anyone asks.

A visit never waits for a computation (seconds on a real panel): it gets the page if it is ready
at the current data version, the previous version's page with a note that it is being updated,
or a short page saying it is being prepared. The last two reload themselves (an HTML refresh, no
script needed). See :meth:`patronage.reporting.page_cache.PageCache.prepared`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

from fastapi import Request
from fastapi.responses import HTMLResponse

from patronage.messages import N_
from patronage.web.deps import render

log = logging.getLogger(__name__)

#: Seconds before a page that is being updated reloads itself (it shows the previous figures
#: and charts meanwhile, so not more often).
RELOAD_SECONDS = 3
#: Seconds before the note that a page is being prepared reloads itself: it shows nothing to
#: lose, and a filtered view of a million responses is often ready within one or two seconds.
PREPARING_RELOAD_SECONDS = 1
#: After a change of the data, the warmer prepares again only the pages visited this recently
#: (during fieldwork the data change all the time: pages nobody looks at are not recomputed).
RECENT_VISIT_SECONDS = 15 * 60
UPDATING = N_("New data arrived: these figures are being updated. The page reloads by itself "
              "when they are ready.")
PREPARING = N_("This page is being prepared from the latest data. It reloads by itself in a few "
               "seconds.")


class Job(NamedTuple):
    """A page for :meth:`PageCache.prepared`: key, computation and sharing group."""

    page: str
    params: Hashable
    compute: Callable[[], Any]
    group: Hashable


def prepared(request: Request, job: Job, wait: float | None = None) -> tuple[Any, bool] | None:
    """The page's value and whether it is current, or None while it is first prepared; the
    visit waits up to ``wait`` seconds for it (default: the ``page_wait_seconds`` setting)."""
    if wait is None:
        wait = request.app.state.settings.page_wait_seconds
    return request.app.state.page_cache.prepared(job.page, job.params, job.compute,
                                                 group=job.group, wait=wait)


def preparing(request: Request, page_title: str) -> HTMLResponse:
    """The answer while a page is first prepared: 202, a note, a reload after a few seconds."""
    response = render(request, "preparing.html", 202, page_title=page_title, message=PREPARING,
                      refresh_after=PREPARING_RELOAD_SECONDS)
    response.headers["Retry-After"] = str(PREPARING_RELOAD_SECONDS)
    return response


def freshness(current: bool) -> dict:
    """Template variables for a page shown from an older data version while it is updated."""
    return {} if current else {"notice": UPDATING, "refresh_after": RELOAD_SECONDS}


class PageWarmer:
    """Prepares ``jobs(True)`` at start-up and ``jobs(False)`` whenever the data version changed
    since, checking every ``interval`` seconds, on a daemon thread; ``before`` runs once first."""

    def __init__(self, version: Callable[[], Hashable | None],
                 jobs: Callable[[bool], list[Job]],
                 prepare: Callable[[Job], Any], *, interval: float = 5.0,
                 before: Callable[[], Any] | None = None):
        self._version = version
        self._jobs = jobs
        self._prepare = prepare
        self.interval = interval
        self._before = before
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0

    def start(self) -> PageWarmer:
        self._thread = threading.Thread(target=self._run, name="patronage-warmer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        if self._before is not None:
            self._guarded(self._before)
        last = object()
        while not self._stop.is_set():
            version = self._guarded(self._version)
            if version is not None and version != last:
                last = version
                self.rounds += 1
                first = self.rounds == 1
                for job in self._guarded(lambda first=first: self._jobs(first)) or []:
                    self._guarded(lambda job=job: self._prepare(job))
            self._stop.wait(self.interval)

    @staticmethod
    def _guarded(call: Callable[[], Any]) -> Any:
        """``call()``; a failure is logged and the warmer goes on (a visit shows the error)."""
        try:
            return call()
        except Exception:  # noqa: BLE001
            log.exception("preparing pages in the background failed")
            return None


__all__ = ["PREPARING_RELOAD_SECONDS", "RECENT_VISIT_SECONDS", "Job", "PageWarmer", "freshness", "prepared", "preparing"]
