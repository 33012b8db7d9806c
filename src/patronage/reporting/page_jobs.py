"""The background workers of the page cache: a few threads taking jobs by priority.

Jobs wait in one queue ordered by priority, then by arrival. A job asked for again with a more
urgent priority (a browser now waiting for that section) moves ahead of the others still
queued; a job already started is not touched. :data:`WAITED` is for a visitor waiting for that
very job, :data:`VISITED` for what a visit asked for without waiting (the other sections of its
page, computed in page order), :data:`WARMING` for the warmer's work before anyone asks.

Each key is in the queue at most once (the page cache submits a key only when no computation of
it is under way), so a job runs once however often it is asked for.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)

WAITED, VISITED, WARMING = 0, 1, 2


class JobQueue:
    """``workers`` daemon threads (started on the first job) running queued callables, the
    lowest ``(priority, arrival)`` first."""

    def __init__(self, workers: int = 2, name: str = "patronage-pages"):
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self._name = name
        self._cond = threading.Condition()
        self._heap: list[tuple[int, int, Hashable]] = []
        self._jobs: dict[Hashable, tuple[int, int, Callable[[], None], Callable[[], None]]] = {}
        self._arrivals = itertools.count()
        self._threads: list[threading.Thread] = []
        self._running = 0
        self._closed = False

    def submit(self, key: Hashable, run: Callable[[], None], priority: int,
               dropped: Callable[[], None] = lambda: None) -> None:
        """Queue ``run`` under ``key`` (not already queued); ``dropped`` is called instead when
        the queue is closed before the job starts."""
        with self._cond:
            if self._closed:
                dropped()
                return
            arrival = next(self._arrivals)
            self._jobs[key] = (priority, arrival, run, dropped)
            heapq.heappush(self._heap, (priority, arrival, key))
            if len(self._threads) < self.workers and self._running + len(self._jobs) > len(
                    self._threads):
                thread = threading.Thread(target=self._work, daemon=True,
                                          name=f"{self._name}-{len(self._threads) + 1}")
                self._threads.append(thread)
                thread.start()
            self._cond.notify()

    def hurry(self, key: Hashable, priority: int) -> bool:
        """Move the queued job ``key`` to ``priority`` when that is more urgent, ahead of the
        jobs already there (the latest asked for goes first: the one a browser waits for now);
        False when the job is not queued (started, done or unknown)."""
        with self._cond:
            job = self._jobs.get(key)
            if job is None:
                return False
            if priority < job[0] or (priority == WAITED and job[0] == WAITED):
                arrival = -next(self._arrivals)  # ahead of those queued at this priority
                self._jobs[key] = (priority, arrival, job[2], job[3])
                heapq.heappush(self._heap, (priority, arrival, key))  # the old one is skipped
            return True

    def queued(self) -> int:
        with self._cond:
            return len(self._jobs)

    def idle(self, timeout: float | None = None) -> bool:
        """Wait until no job is queued or running; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._jobs and not self._running, timeout)

    def _next(self) -> Callable[[], None] | None:
        """The most urgent job (under the condition), None when closed."""
        while not self._closed:
            while self._heap:
                priority, arrival, key = heapq.heappop(self._heap)
                job = self._jobs.get(key)
                if job is not None and job[:2] == (priority, arrival):
                    del self._jobs[key]
                    self._running += 1
                    return job[2]
            self._cond.wait()
        return None

    def _work(self) -> None:
        while True:
            with self._cond:
                run = self._next()
            if run is None:
                return
            try:
                run()
            except Exception:  # noqa: BLE001  (the job reports its own failures)
                log.exception("a background page job failed")
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()

    def close(self) -> None:
        """Stop after the jobs under way; the queued ones are dropped (their ``dropped``
        called)."""
        with self._cond:
            self._closed = True
            dropped = [job[3] for job in self._jobs.values()]
            self._jobs.clear()
            self._heap.clear()
            threads = list(self._threads)
            self._cond.notify_all()
        for call in dropped:
            call()
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join()


__all__ = ["VISITED", "WAITED", "WARMING", "JobQueue"]
