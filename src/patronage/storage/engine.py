"""Engines and transactions.

SQLite is opened in WAL mode with foreign keys on, a busy timeout and ``synchronous=FULL`` (an
acknowledged write survives power loss). Writers start with ``BEGIN IMMEDIATE`` so that a
transaction never has to upgrade a read lock to a write lock, which ignores the busy timeout.
PostgreSQL is used as it is, through psycopg 3.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

_WRITE = "patronage_write"


def make_engine(url: str, *, busy_timeout_ms: int = 5000) -> Engine:
    """Create an engine for ``url`` with Patronage's connection settings.

    Nothing connects until the engine is first used.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True)


def create_private_file(path: str | os.PathLike) -> None:
    """Create ``path`` empty and readable by its owner only (0600), unless it exists.

    A database file holds customers' data: created by SQLite it would get the umask's mode,
    usually readable by every user of the machine. SQLite gives its ``-wal`` and ``-shm``
    files the database file's mode.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    database = engine.url.database
    if database not in (None, "", ":memory:") and not database.startswith("file:"):
        @event.listens_for(engine, "do_connect")
        def _private_file(*_args):  # before SQLite creates the file
            if os.path.isdir(os.path.dirname(os.path.abspath(database))):
                create_private_file(database)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - exercised by every test
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection):
        if conn.get_execution_options().get(_WRITE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


_WRITE_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def _write_lock(engine: Engine) -> threading.Lock:
    with _LOCKS_GUARD:
        lock = _WRITE_LOCKS.get(engine)
        if lock is None:
            lock = _WRITE_LOCKS[engine] = threading.Lock()
        return lock


@contextmanager
def write_transaction(engine: Engine, *, durable: bool = True) -> Iterator[Connection]:
    """A connection inside a write transaction: committed on success, rolled back on error.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE``, and writers of one process queue
    on a lock first: SQLite admits one writer at a time anyway, and waiting on a lock is
    prompt where SQLite's busy handler sleeps and retries (other processes still meet the busy
    timeout).

    ``durable=False``: this transaction commits without waiting for the disk to confirm its log
    (SQLite ``synchronous=NORMAL``, PostgreSQL ``SET LOCAL synchronous_commit = off``); a power
    cut may then lose it, never part of it, and never corrupts the database. Only for work that
    is done again when it is lost, such as a batch of a job whose cursor moves in the same
    transaction. SQLite takes the setting only outside a transaction, so it is set before
    ``BEGIN`` and put back after the commit.
    """
    sqlite = engine.dialect.name == "sqlite"
    lock = _write_lock(engine) if sqlite else nullcontext()
    with lock, engine.connect() as conn:
        dbapi = conn.connection.driver_connection if sqlite and not durable else None
        if dbapi is not None:
            dbapi.execute("PRAGMA synchronous=NORMAL")
        try:
            conn = conn.execution_options(**{_WRITE: True})
            with conn.begin():
                if not sqlite and not durable:
                    conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
                yield conn
        finally:
            if dbapi is not None:
                dbapi.execute("PRAGMA synchronous=FULL")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
