"""Group commit for survey submissions arriving over the web (issue 5).

Each submission on its own would cost a transaction, and on SQLite with ``synchronous=FULL`` a
sync of the log, plus a handful of statements. :class:`SubmissionIntake` instead hands checked
submissions to one writer thread, which stores everything that is waiting in one transaction
with a few statements for the whole batch, then answers every caller. A caller is answered only
after the commit, so an acknowledged response is on disk (the crash test kills the server under
load and counts them). This is the group commit of database logs (DeWitt et al. 1984,
"Implementation techniques for main memory database systems", SIGMOD; Gawlick & Kinkade 1985):
the cost of a commit is shared by all the transactions that arrive while the previous one is
being written, so batches grow with the load and stay at one under light load.

A batch that meets a replay (a unique submission id or invitation already stored) is rolled back
and stored one submission at a time, where the replay gets the original response. So is a batch
that fails for any other reason but an unavailable database (text the driver refuses, say,
though the checks keep it out): no submission ever fails because of another one in its batch.

Open links are looked up once and kept: the write checks again, inside its transaction, that
the survey is open, still has the same definition version and the same open link
(:func:`~patronage.surveys.submissions.store_submissions`); when it does not, the link is
forgotten and looked up afresh, so a closed survey answers 404 from the next submission on.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from patronage.storage.engine import write_transaction
from patronage.surveys.respond import prepare_payload
from patronage.surveys.submissions import (
    PreparedSubmission,
    SubmitResult,
    SurveyChanged,
    SurveyLink,
    resolve_link,
    store_one,
    store_submissions,
)

log = logging.getLogger("patronage.surveys.intake")


class SubmissionIntake:
    """A writer thread that stores submissions in batches, one transaction per batch.

    ``max_batch`` bounds a batch; the thread starts with the first submission and ends after
    ``idle_seconds`` without one (it starts again when needed), so an idle application holds
    no thread. :meth:`put` may be called from any thread; :meth:`submit_payload` from the event
    loop.
    """

    def __init__(self, engine: Engine, *, max_batch: int = 256, idle_seconds: float = 2.0,
                 max_links: int = 1024):
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1; got {max_batch}")
        self.engine = engine
        self.max_batch = max_batch
        self.idle_seconds = idle_seconds
        self.max_links = max_links
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._links: dict[str, SurveyLink] = {}
        self.batches = 0  # batches written, for tests and monitoring

    # ------------------------------------------------------------------ writer thread

    def put(self, prepared: PreparedSubmission) -> Future:
        """Queue ``prepared``; the future gives its :class:`SubmitResult` after the commit."""
        future: Future = Future()
        self._queue.put((prepared, future))
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="patronage-intake",
                                                daemon=True)
                self._thread.start()
        return future

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:  # put() starts a new thread unless this one goes on
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            batch, stop = [first], first is None
            while len(batch) < self.max_batch and not stop:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
                stop = batch[-1] is None
            batch = [item for item in batch if item is not None]
            if batch:
                self._write(batch)
            if stop:  # close(): everything queued before it is written
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return

    def _write(self, batch: list[tuple[PreparedSubmission, Future]]) -> None:
        # A caller that went away (its future cancelled) is still stored: the response was
        # complete, and its submission id makes a retry return it.
        live = [future.set_running_or_notify_cancel() for _, future in batch]
        prepared = [p for p, _ in batch]
        try:
            with write_transaction(self.engine) as conn:
                outcomes = store_submissions(conn, prepared)
        except OperationalError as exc:  # the database is unavailable: 503 for everyone
            log.warning("storing a batch of %d submissions failed: %s", len(batch), exc.orig)
            outcomes = [exc] * len(batch)
        except Exception:  # noqa: BLE001 - a replay or a bad one: each alone
            outcomes = [self._one(p) for p in prepared]
        self.batches += 1
        for (p, future), outcome, running in zip(batch, outcomes, live, strict=True):
            if not running:
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome if isinstance(outcome, SubmitResult)
                                  else p.stored_as(outcome))

    def _one(self, prepared: PreparedSubmission) -> SubmitResult | BaseException:
        try:
            return store_one(self.engine, prepared)
        except ValueError as exc:  # refused: the caller hears why
            return exc
        except Exception as exc:  # noqa: BLE001 - handed to the caller, the thread goes on
            log.exception("storing submission %r failed", prepared.submission_id)
            return exc

    def close(self, timeout: float = 30.0) -> None:
        """Store what is queued, then end the writer thread (at shutdown)."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    # ------------------------------------------------------------------ callers

    def _resolve(self, kind: str, token: str) -> SurveyLink | None:
        link = resolve_link(self.engine, kind, token)
        if kind == "o" and link is not None:
            if len(self._links) >= self.max_links:
                self._links.clear()
            self._links[token] = link
        return link

    async def submit_payload(self, kind: str, token: str,
                             payload: Mapping[str, Any]) -> SubmitResult | None:
        """Check and store a JSON submission on an invitation (``kind`` "s") or open link
        ("o"); None when the link is unknown or its survey takes no answers (404).

        Raises :class:`~patronage.surveys.respond.AnswerErrors` or ``ValueError`` for a bad
        submission, before anything is queued.
        """
        link = self._links.get(token) if kind == "o" else None
        if link is not None:
            try:
                prepared = prepare_payload(link, payload)
            except ValueError:
                pass  # checked again below on a fresh look-up: the definition may have changed
            else:
                try:
                    return await asyncio.wrap_future(self.put(prepared))
                except SurveyChanged:
                    self._links.pop(token, None)
        link = await asyncio.to_thread(self._resolve, kind, token)
        if link is None:
            return None
        return await asyncio.wrap_future(self.put(prepare_payload(link, payload)))


__all__ = ["SubmissionIntake"]
