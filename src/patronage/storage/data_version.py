"""A cheap token that changes whenever committed data changes: the key of caches of results
computed from the panel (the analysis and loyalty pages).

Counting rows and taking the largest id misses UPDATEs, and the panel is updated in place: a
cleaning run rewrites ``responses.quality_flags``, raking rewrites ``responses.weight``, imports
upsert customers, transactions and responses (replacing a response's answers, whose reinserted
rows may even reuse the deleted rowids on SQLite), surveys change status. So each backend uses
what the database itself knows about commits:

* **SQLite**: ``PRAGMA data_version``, read on a connection of its own that never writes. SQLite
  changes the value whenever another connection, of this process or of any other, commits a
  change to the database file, and only then. It covers every table and every statement, bulk
  loads included, and costs microseconds. It is coarse: a write the pages do not read (a login
  storing its session, a saved draft, the outbox) also changes it, which costs a recomputation,
  never a stale page.
* **PostgreSQL**: per table, ``count(*)`` and the sum of the rows' ``xmin`` (the id of the
  transaction that wrote each row version). An INSERT or UPDATE gives the rows it touches the id
  of its transaction, larger than that of every committed row version; a DELETE lowers the count.
  Whenever a table's content differs with the same count, rows were replaced by newer versions and
  the sum is larger, so the pair changes on every committed change to the table. Scanning the
  panel takes about 0.1 s on the demo company, so the scan runs only when
  ``pg_current_snapshot()`` differs from the last scan's: an unchanged snapshot proves that no
  transaction committed anywhere on the server since. Other tables (sessions, drafts, outbox,
  users) do not change the token.

Not covered: a database file replaced or restored under a running server (SQLite keeps the old
file open; restart the server after restoring a backup), and on PostgreSQL, after transaction
ids wrap around (every 2**32 transactions), the exceedingly unlikely case of changes whose
``xmin`` sums cancel exactly.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Hashable, Sequence

from sqlalchemy import BigInteger, Engine, Text, cast, event, func, literal_column, select, text

from patronage.storage.schema import metadata

#: The tables the analysis and loyalty pages read (directly or through the ``read_*`` functions).
PANEL_TABLES = ("customers", "transactions", "touchpoints", "competitors", "surveys", "waves",
                "invitations", "responses", "answers", "cases", "category_labels",
                "comment_themes")


class DataVersion:
    """Call it for a token that changes whenever committed data in ``tables`` changes.

    One instance per engine (it keeps state: on SQLite a connection of its own, opened at the
    first call; on PostgreSQL the last snapshot and scan). Thread-safe. Returns None when no
    token can be had (an in-memory SQLite database): callers must then not cache.

    Read the token *before* computing what it keys: a change committed in between then makes
    the next token differ, so a result is never kept under a token older than its data.
    """

    def __init__(self, engine: Engine, tables: Sequence[str] = PANEL_TABLES):
        unknown = [name for name in tables if name not in metadata.tables]
        if unknown:
            raise ValueError(f"unknown tables for the data version: {', '.join(unknown)}")
        self.engine = engine
        self.tables = tuple(tables)
        self._lock = threading.Lock()
        self._watcher = None
        self._watcher_pid = None
        self._generation = 0
        self._snapshot: str | None = None
        self._scan: tuple | None = None
        event.listen(engine, "engine_disposed", self._on_dispose)

    def __call__(self) -> Hashable | None:
        with self._lock:
            if self.engine.dialect.name == "sqlite":
                return self._sqlite_token()
            return self._scanned_token()

    def close(self) -> None:
        """Close the SQLite watching connection (it reopens if called again)."""
        with self._lock:
            self._close_watcher()

    # SQLite ----------------------------------------------------------------------------------

    def _sqlite_token(self) -> Hashable | None:
        if self.engine.url.database in (None, "", ":memory:"):
            return None
        if self._watcher is not None and self._watcher_pid != os.getpid():
            # A connection carried across fork() must not be used; the child opens its own.
            self._watcher = None
        if self._watcher is None:
            self._watcher = self._open_watcher()
            self._watcher_pid = os.getpid()
            self._generation += 1
        try:
            value = self._watcher.execute("PRAGMA data_version").fetchone()[0]
        except self.engine.dialect.loaded_dbapi.Error:
            self._close_watcher()
            return None
        # data_version values are per connection: the generation tells connections apart.
        return ("sqlite", self._generation, value)

    def _open_watcher(self):
        dialect = self.engine.dialect
        cargs, cparams = dialect.create_connect_args(self.engine.url)
        cparams = {**cparams, "check_same_thread": False, "timeout": 5.0}
        conn = dialect.loaded_dbapi.connect(*cargs, **cparams)
        conn.isolation_level = None  # autocommit: never holds a read transaction open
        conn.execute("PRAGMA query_only=1")
        return conn

    def _close_watcher(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None and self._watcher_pid == os.getpid():
            watcher.close()

    def _on_dispose(self, _engine) -> None:
        self.close()

    # PostgreSQL ------------------------------------------------------------------------------

    def _scanned_token(self) -> Hashable:
        with self.engine.connect() as conn:
            snapshot = conn.execute(text("SELECT pg_current_snapshot()::text")).scalar_one()
            if snapshot != self._snapshot or self._scan is None:
                # The snapshot is read before the scan: a commit in between can only make the
                # scan newer than the snapshot, and the next call scans again.
                self._scan = tuple(conn.execute(_scan_query(self.tables)).one())
                self._snapshot = snapshot
        return ("postgresql", *self._scan)


def _scan_query(tables: Sequence[str]):
    columns = []
    for name in tables:
        table = metadata.tables[name]
        xmin = cast(cast(literal_column("xmin"), Text), BigInteger)
        columns.append(select(func.count()).select_from(table).scalar_subquery())
        columns.append(select(func.coalesce(func.sum(xmin), 0)).select_from(table)
                       .scalar_subquery())
    return select(*columns)


__all__ = ["PANEL_TABLES", "DataVersion"]
