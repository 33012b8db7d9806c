"""The page cache's background workers: two threads, the page a browser waits for first, and
still one computation per page and data version (and per shared result). Orders and counts are
checked, never times."""

from __future__ import annotations

import threading

import pytest

from patronage.reporting.page_cache import PageCache
from patronage.reporting.page_jobs import VISITED, WAITED, WARMING, JobQueue
from patronage.reporting.shared import shared


def _blocked(queue_or_cache, workers: int):
    """Occupy every worker until the returned event is set; returns (release, all started)."""
    release, started = threading.Event(), threading.Barrier(workers + 1)

    def hold():
        started.wait(30)
        assert release.wait(30)

    return release, started, hold


def test_the_queue_runs_the_most_urgent_job_first_and_a_hurried_one_before_it():
    queue = JobQueue(workers=1)
    release, started, hold = _blocked(queue, 1)
    order = []
    try:
        queue.submit("hold", hold, VISITED)
        started.wait(30)  # the worker is busy: what follows waits in the queue
        queue.submit("warm", lambda: order.append("warm"), WARMING)
        for name in ("a", "b", "c", "d"):
            queue.submit(name, lambda name=name: order.append(name), VISITED)
        assert queue.hurry("c", WAITED)  # a browser waits for c
        assert queue.hurry("d", WAITED)  # then for d: the latest asked for goes first
        assert not queue.hurry("hold", WAITED)  # already running
        assert queue.hurry("warm", WARMING)  # not more urgent: stays where it is
        assert queue.queued() == 5
        release.set()
        assert queue.idle(30)
        assert order == ["d", "c", "a", "b", "warm"]
    finally:
        release.set()
        queue.close()


def test_closing_drops_the_queued_jobs_and_tells_them():
    queue = JobQueue(workers=1)
    release, started, hold = _blocked(queue, 1)
    dropped, ran = [], []
    queue.submit("hold", hold, VISITED)
    started.wait(30)
    queue.submit("later", lambda: ran.append(1), VISITED, dropped=lambda: dropped.append(1))
    release.set()
    queue.close()
    assert ran == [] or dropped == []  # run or dropped, never both
    assert len(ran) + len(dropped) == 1
    with pytest.raises(ValueError):
        JobQueue(workers=0)


def test_two_pages_are_computed_at_the_same_time():
    cache = PageCache(lambda: "v1", workers=2)
    both = threading.Barrier(2)

    def page(name):
        def compute():
            both.wait(30)  # each waits for the other: only two threads get past
            return name
        return compute

    try:
        assert cache.prepared("a", (), page("a")) is None
        assert cache.prepared("b", (), page("b")) is None
        assert cache.idle(60)
        assert cache.prepared("a", (), page("a")) == ("a", True)
        assert cache.prepared("b", (), page("b")) == ("b", True)
        assert not both.broken
    finally:
        cache.close()


def test_the_section_a_browser_asks_for_jumps_the_queue():
    """The sections of a page are queued in page order; the one a browser then asks for (an
    urgent visit) is computed before those queued earlier, the warmer's work comes last (one
    worker, so that the order is the queue's)."""
    cache = PageCache(lambda: "v1", workers=1)
    release, started, hold = _blocked(cache, 1)
    order = []

    def section(key):
        def compute():
            order.append(key)
            return key
        return compute

    try:
        cache.prepared("hold", (1,), hold)
        started.wait(30)  # the worker is busy
        cache.prepared("warm", (), section("warm"), visit=False)
        for key in ("s1", "s2", "s3", "s4"):
            assert cache.prepared(f"analysis:{key}", (), section(key)) is None
        assert cache.prepared("analysis:s3", (), section("s3"), urgent=True) is None
        release.set()
        assert cache.idle(60)
        assert order == ["s3", "s1", "s2", "s4", "warm"]  # each once
    finally:
        release.set()
        cache.close()


def test_a_result_two_pages_share_is_computed_once_when_they_run_together():
    cache = PageCache(lambda: "v1", workers=2)
    reads, inside = [], threading.Event()

    @shared
    def read(survey):
        reads.append(survey)
        inside.set()
        threading.Event().wait(0.3)  # the other page asks meanwhile (or after: once either way)
        return [1, 2, 3]

    try:
        for key in ("s1", "s2"):
            cache.prepared(f"analysis:{key}", (), lambda: sum(read("relationship")),
                           group="analysis")
        assert cache.idle(60)
        assert cache.prepared("analysis:s1", (), lambda: None)[0] == 6
        assert cache.prepared("analysis:s2", (), lambda: None)[0] == 6
        assert reads == ["relationship"]
    finally:
        cache.close()


def test_jobs_queued_under_two_versions_compute_the_page_once_at_the_newest():
    """A page asked for under version 1, then again under version 2 before either job started:
    both jobs start at version 2 on the two threads, and the page is computed once."""
    version = ["v1"]
    cache = PageCache(lambda: version[0], workers=2)
    release, started, hold = _blocked(cache, 2)
    calls = []

    def compute():
        calls.append(version[0])
        threading.Event().wait(0.3)
        return "page"

    try:
        cache.prepared("hold", (1,), hold)
        cache.prepared("hold", (2,), hold)
        started.wait(30)
        assert cache.prepared("loyalty", ("en",), compute) is None
        version[0] = "v2"
        assert cache.prepared("loyalty", ("en",), compute) is None
        release.set()
        assert cache.idle(60)
        assert calls == ["v2"]
        assert cache.prepared("loyalty", ("en",), compute) == ("page", True)
    finally:
        release.set()
        cache.close()
