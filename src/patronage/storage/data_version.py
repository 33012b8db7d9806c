"""A cheap token that changes whenever committed data changes: the key of caches of results
computed from the panel (the analysis and loyalty pages).

Counting rows and taking the largest id misses UPDATEs, and the panel is updated in place: a
cleaning run rewrites ``responses.quality_flags``, raking rewrites ``responses.weight``, imports
upsert customers, transactions and responses (replacing a response's answers, whose reinserted
rows may even reuse the deleted rowids on SQLite), surveys change status. So each backend uses
what the database itself knows about commits:

* **SQLite**: ``PRAGMA data_version``, read on a connection of its own (one per engine and
  process, the *watcher*). SQLite changes the value whenever another connection, of this
  process or of any other, commits a change to the database file, and only then. It covers
  every table and every statement, bulk loads included, and costs microseconds. The value does
  not change for what the watcher itself commits: so the writes no cached page reads and that
  come often (a login storing its session and the user's last login, a logout) are made on the
  watcher, through :func:`quiet_transaction`, and change no token. SQLite itself refuses the
  watcher any other write (an authorizer allows it the ``sessions`` table and
  ``users.last_login_at`` only), so a quiet write can never hide a change of the panel. Other
  writes the pages do not read (a saved draft, the outbox, another process's logins) still
  change the token, which costs a recomputation, never a stale page.
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
import sqlite3
import threading
import weakref
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import (BigInteger, Connection, Engine, Text, cast, create_engine, event, func,
                        literal_column, select, text)
from sqlalchemy.pool import StaticPool

from patronage.storage.engine import _write_lock, write_transaction
from patronage.storage.schema import metadata

#: The tables the analysis and loyalty pages read (directly or through the ``read_*`` functions).
PANEL_TABLES = ("customers", "transactions", "touchpoints", "competitors", "surveys", "waves",
                "invitations", "responses", "answers", "cases", "category_labels",
                "comment_themes")


#: What a quiet transaction may write (see :func:`quiet_transaction`): the table, and the
#: columns an UPDATE may set (None: any column, and INSERT and DELETE too).
QUIET_WRITES = {"sessions": None, "users": frozenset({"last_login_at"})}


class DataVersion:
    """Call it for a token that changes whenever committed data in ``tables`` changes.

    One instance per engine and set of tables (on PostgreSQL it keeps the last snapshot and
    scan; on SQLite the engine's watcher connection is opened at the first call). Thread-safe.
    Returns None when no token can be had (an in-memory SQLite database): callers must then not
    cache.

    Read the token *before* computing what it keys: a change committed in between then makes
    the next token differ, so a result is never kept under a token older than its data.
    """

    def __init__(self, engine: Engine, tables: Sequence[str] = PANEL_TABLES):
        unknown = [name for name in tables if name not in metadata.tables]
        if unknown:
            raise ValueError(f"unknown tables for the data version: {', '.join(unknown)}")
        quiet = sorted(set(tables) & set(QUIET_WRITES))
        if quiet:
            raise ValueError(f"quiet tables cannot key a data version: {', '.join(quiet)}")
        self.engine = engine
        self.tables = tuple(tables)
        self._lock = threading.Lock()
        self._snapshot: str | None = None
        self._scan: tuple | None = None

    def __call__(self) -> Hashable | None:
        if self.engine.dialect.name == "sqlite":
            watcher = _watcher(self.engine)
            return watcher.token() if watcher is not None else None
        with self._lock:
            return self._scanned_token()

    def close(self) -> None:
        """Close the SQLite watching connection (it reopens if called again)."""
        watcher = _watcher(self.engine) if self.engine.dialect.name == "sqlite" else None
        if watcher is not None:
            watcher.close()

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


@contextmanager
def quiet_transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction for what no cached page reads (:data:`QUIET_WRITES`: sessions and
    the last login), which leaves every :class:`DataVersion` token of this process unchanged.

    On an SQLite file it runs on the engine's watcher connection, whose own commits do not move
    ``PRAGMA data_version``; any other write is refused by SQLite ("not authorized"). Elsewhere
    it is :func:`~patronage.storage.engine.write_transaction` (PostgreSQL's tokens cover their
    tables only, and an in-memory database is never cached).
    """
    watcher = _watcher(engine) if engine.dialect.name == "sqlite" else None
    if watcher is None:
        with write_transaction(engine) as conn:
            yield conn
        return
    with _write_lock(engine), watcher.lock:
        with watcher.quiet_engine().connect() as conn, conn.begin():
            yield conn


class _Watcher:
    """The connection of one SQLite engine (per process) that reads ``PRAGMA data_version`` and
    makes the quiet writes; opened on first use, reopened after an error or a fork."""

    def __init__(self, engine: Engine):
        # The engine's URL and dialect, not the engine: the engine keys a weak dictionary.
        self.url, self.dialect = engine.url, engine.dialect
        self.lock = threading.RLock()
        self._conn = None
        self._pid = None
        self._quiet: Engine | None = None
        self._generation = 0

    def token(self) -> Hashable | None:
        with self.lock:
            try:
                value = self._connection().execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error:
                self.close()
                return None
            # data_version values are per connection: the generation tells connections apart.
            return ("sqlite", self._generation, value)

    def quiet_engine(self) -> Engine:
        """An engine whose one connection is the watcher (call under :attr:`lock`)."""
        conn = self._connection()
        if self._quiet is None:
            self._quiet = create_engine(self.url, poolclass=StaticPool,
                                        creator=lambda: conn)

            @event.listens_for(self._quiet, "begin")
            def _immediate(connection):
                connection.exec_driver_sql("BEGIN IMMEDIATE")
        return self._quiet

    def _connection(self):
        if self._conn is not None and self._pid != os.getpid():
            # A connection carried across fork() must not be used; the child opens its own.
            self._conn, self._quiet = None, None
        if self._conn is None:
            self._conn = self._open()
            self._pid = os.getpid()
            self._generation += 1
        return self._conn

    def _open(self):
        dialect = self.dialect
        cargs, cparams = dialect.create_connect_args(self.url)
        cparams = {**cparams, "check_same_thread": False, "timeout": 5.0}
        conn = dialect.loaded_dbapi.connect(*cargs, **cparams)
        conn.isolation_level = None  # autocommit: never holds a read transaction open
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=FULL")
        conn.set_authorizer(_quiet_writes_only)
        return conn

    def close(self) -> None:
        with self.lock:
            conn, quiet, self._conn, self._quiet = self._conn, self._quiet, None, None
            if quiet is not None:
                quiet.dispose(close=False)
            if conn is not None and self._pid == os.getpid():
                conn.close()


#: What the watcher may do besides the writes of :data:`QUIET_WRITES`: read, and manage its
#: transactions and settings.
_HARMLESS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_TRANSACTION,
             sqlite3.SQLITE_SAVEPOINT, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_PRAGMA,
             sqlite3.SQLITE_RECURSIVE}


def _quiet_writes_only(action, first, second, _database, _trigger):
    if action in _HARMLESS:
        return sqlite3.SQLITE_OK
    if action in (sqlite3.SQLITE_INSERT, sqlite3.SQLITE_DELETE):
        allowed = first in QUIET_WRITES and QUIET_WRITES[first] is None
    elif action == sqlite3.SQLITE_UPDATE:
        columns = QUIET_WRITES.get(first, frozenset())
        allowed = first in QUIET_WRITES and (columns is None or second in columns)
    else:
        allowed = False
    return sqlite3.SQLITE_OK if allowed else sqlite3.SQLITE_DENY


_WATCHERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_WATCHERS_GUARD = threading.Lock()


def _watcher(engine: Engine) -> _Watcher | None:
    """The watcher of an SQLite file engine; None for an in-memory database."""
    if engine.url.database in (None, "", ":memory:"):
        return None
    with _WATCHERS_GUARD:
        watcher = _WATCHERS.get(engine)
        if watcher is None:
            watcher = _WATCHERS[engine] = _Watcher(engine)
            event.listen(engine, "engine_disposed", lambda _engine: watcher.close())
    return watcher


def _scan_query(tables: Sequence[str]):
    columns = []
    for name in tables:
        table = metadata.tables[name]
        xmin = cast(cast(literal_column("xmin"), Text), BigInteger)
        columns.append(select(func.count()).select_from(table).scalar_subquery())
        columns.append(select(func.coalesce(func.sum(xmin), 0)).select_from(table)
                       .scalar_subquery())
    return select(*columns)


__all__ = ["PANEL_TABLES", "QUIET_WRITES", "DataVersion", "quiet_transaction"]
