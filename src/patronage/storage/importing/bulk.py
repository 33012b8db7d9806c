"""Fast bulk upserts through the raw DBAPI connection of an open write transaction.

SQLite: ``executemany`` of ``INSERT ... ON CONFLICT(key) DO UPDATE SET ... WHERE <something
changed>`` with values already in the text forms SQLAlchemy stores (``YYYY-MM-DD HH:MM:SS.ffffff``
for timestamps, ``YYYY-MM-DD`` for dates, 0/1 for booleans, JSON text), so that rows written here
read back exactly like rows written through SQLAlchemy. New rows are first tried as plain
``INSERT`` inside a savepoint (cheaper; the usual monthly file only adds rows).

PostgreSQL: ``COPY`` (psycopg 3) into a temporary table, then one ``INSERT ... SELECT ... ON
CONFLICT (key) DO UPDATE ... WHERE (...) IS DISTINCT FROM (...)``; into an empty table, and for
plain inserts, ``COPY`` goes straight into the table. The COPY data is in PostgreSQL's binary
format, built for a whole chunk at once with numpy (:mod:`.pgcopy`): the server then skips
parsing timestamps and numbers, which was most of its work. Column types come from the database
(``pg_attribute``); a column whose type or values the binary encoder does not cover exactly (say
a ``timestamptz`` column, or a float with more decimals than its ``numeric`` scale) sends the
whole load in the text format instead, so that both paths store the same values.

In both, the WHERE clause skips rows whose values are all unchanged, so the number of rows the
statement touched is inserted + updated, and inserted is the growth of the table.

Bulk loads (at least 100,000 rows and at least as many rows as the table holds) drop the table's
secondary indexes, and on PostgreSQL its foreign keys, and recreate them after the rows are in,
inside the same transaction: building an index by sorting and checking a foreign key with one
join are several times faster than row-by-row maintenance and per-row trigger checks. Every
customer reference was checked before writing, and re-adding the foreign key checks them again.
A PostgreSQL bulk load into an empty table also drops the primary key and unique constraints that
no foreign key points at and adds them back afterwards (which checks every row again): in a
measured 1M-row COPY that took 1.5 s instead of 2.4 s with both kept.
Readers of that table wait until the import commits (PostgreSQL takes an exclusive lock).

A table partitioned by month (PostgreSQL's ``transactions``, :mod:`patronage.storage.partitions`)
gets the partitions of the rows' months before they are written; it has no unique index on the
key, so its upsert is an ``UPDATE ... FROM`` the temporary table and an ``INSERT ... WHERE NOT
EXISTS``, and its bulk loads keep the primary key.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd
from sqlalchemy import Connection, PrimaryKeyConstraint, UniqueConstraint
from sqlalchemy.schema import AddConstraint, DropConstraint

from patronage.storage.importing.pgcopy import (
    SIGNATURE,
    TRAILER,
    binary_chunk,
    binary_plan,
    json_text,
)
from patronage.storage.partitions import ensure_for_frame, is_partitioned
from patronage.storage.schema import metadata

try:  # numpy >= 2: a faster number-to-text conversion
    from numpy.dtypes import StringDType as _TextDType
except ImportError:  # pragma: no cover - numpy 1.26
    _TextDType = str

_CHUNK = 50_000
_BULK_CACHE_KIB = -262_144  # negative: KiB, so 256 MiB
_REBUILD_MIN_ROWS = 100_000
_NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def _timestamps_text(values: pd.Series, sep: str = " ") -> np.ndarray:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` strings (SQLAlchemy's SQLite format); None for NaT."""
    array = values.to_numpy(dtype="datetime64[us]")
    text = np.datetime_as_string(array, unit="us").astype("U26")
    if len(text):
        text.view(np.uint32).reshape(len(text), 26)[:, 10] = ord(sep)
    out = text.astype(object)
    out[np.isnat(array)] = None
    return out


def _sqlite_values(column: pd.Series, kind: str) -> list:
    """A column as the Python values the sqlite3 driver binds."""
    if kind == "datetime":
        return _timestamps_text(column).tolist()
    if kind == "date":
        return [None if v is None or v != v else v.isoformat() for v in column.tolist()]
    if kind == "bool":
        if column.dtype == bool:
            return column.to_numpy().astype(np.int64).tolist()
        return [None if v is None or v != v else int(bool(v)) for v in column.tolist()]
    if kind == "json":
        return json_text(column)
    if kind == "float":
        array = column.to_numpy(dtype="float64")
        out = array.astype(object)
        out[np.isnan(array)] = None
        return out.tolist()
    if kind in ("int", "optint"):
        return [None if v is None or v != v else int(v) for v in column.tolist()]
    values = column.to_numpy(dtype=object, copy=True)
    values[pd.isna(values)] = None
    return values.tolist()


def _copy_column(column: pd.Series, kind: str) -> list[str]:
    """A column in PostgreSQL's COPY text format: ``\\N`` for NULL, escapes in text."""
    if kind == "datetime":
        out = _timestamps_text(column)
    elif kind in ("float", "int", "optint"):
        array = column.to_numpy(dtype="float64")
        missing = np.isnan(array)
        if kind != "float":
            array = np.where(missing, 0, array).astype(np.int64)
        out = array.astype(_TextDType()).tolist()  # numpy's own formatter: shortest repr
        for position in np.flatnonzero(missing):
            out[position] = _NULL
        return out
    elif kind == "bool" and column.dtype == bool:
        out = np.where(column.to_numpy(), "t", "f").astype(object)
    elif kind == "bool":
        out = np.array([None if v is None or v != v else ("t" if v else "f")
                        for v in column.tolist()], dtype=object)
    else:
        if kind == "date":
            values = [None if v is None or v != v else v.isoformat() for v in column.tolist()]
        elif kind == "json":
            values = json_text(column)
        else:
            values = column.to_numpy(dtype=object, copy=True)
            values[pd.isna(values)] = None
            values = values.tolist()
        present = [v for v in values if v is not None]
        joined = "".join(present)
        if any(ch in joined for ch in "\\\t\n\r"):
            values = [None if v is None else v.translate(_ESCAPES) for v in values]
        out = np.array(values, dtype=object)
    out[pd.isna(out)] = _NULL
    return out.tolist()


def _copy_text(frame: pd.DataFrame, kinds: dict[str, str]) -> str:
    columns = [_copy_column(frame[c], kinds.get(c, "text")) for c in frame.columns]
    return "\n".join(map("\t".join, zip(*columns))) + "\n"


def _changed_sqlite(table: str, columns: Sequence[str]) -> str:
    return " OR ".join(f'"{table}"."{c}" IS NOT excluded."{c}"' for c in columns)


def _changed_pg(table: str, columns: Sequence[str], kinds: dict[str, str]) -> str:
    def expr(prefix: str, column: str) -> str:
        cast = "::jsonb" if kinds.get(column) == "json" else ""
        return f'{prefix}."{column}"{cast}'
    left = ", ".join(expr(f'"{table}"', c) for c in columns)
    right = ", ".join(expr("excluded", c) for c in columns)
    return f"ROW({left}) IS DISTINCT FROM ROW({right})"


def _set_clause(compare: Sequence[str], touch: Sequence[str]) -> str:
    return ", ".join(f'"{c}" = excluded."{c}"' for c in (*compare, *touch))


def count_rows(conn: Connection, table: str) -> int:
    return int(conn.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar_one())


@contextmanager
def _bulk_mode(conn: Connection, table: str, rows: int, stored: int):
    """Large-write settings: SQLite gets a 256 MiB page cache (the default 2 MiB makes index
    updates thrash); a bulk load drops and rebuilds secondary indexes and (PostgreSQL) foreign
    keys, and into an empty PostgreSQL table the unreferenced keys, as explained in the module
    docstring."""
    sqlite = _is_sqlite(conn)
    previous = None
    if sqlite:
        dbapi = conn.connection.driver_connection
        previous = dbapi.execute("PRAGMA cache_size").fetchone()[0]
        dbapi.execute(f"PRAGMA cache_size={_BULK_CACHE_KIB}")
    indexes, foreign_keys, keys = [], [], []
    if rows >= _REBUILD_MIN_ROWS and rows >= stored:
        indexes = [index for index in metadata.tables[table].indexes if not index.unique]
        if not sqlite:
            foreign_keys = list(metadata.tables[table].foreign_key_constraints)
            # A partitioned table's keys differ from the schema module's (see .partitions).
            keys = _unreferenced_keys(table) if stored == 0 \
                and not is_partitioned(conn, table) else []
    try:
        for constraint in (*foreign_keys, *keys):
            conn.execute(DropConstraint(constraint))
        for index in indexes:
            index.drop(conn)
        yield
        for constraint in keys:
            conn.execute(AddConstraint(constraint))
        for index in indexes:
            index.create(conn)
        for constraint in foreign_keys:
            conn.execute(AddConstraint(constraint))
    finally:
        if previous is not None:
            conn.connection.driver_connection.execute(f"PRAGMA cache_size={int(previous)}")


def _unreferenced_keys(table: str) -> list:
    """The primary key and unique constraints of ``table`` that no foreign key points at."""
    referenced = {fk.column for other in metadata.tables.values() for fk in other.foreign_keys}
    return [c for c in metadata.tables[table].constraints
            if isinstance(c, (PrimaryKeyConstraint, UniqueConstraint))
            and not any(column in referenced for column in c.columns)]


def upsert(conn: Connection, table: str, frame: pd.DataFrame, *, key: str,
           kinds: dict[str, str], compare: Sequence[str], touch: Sequence[str] = (),
           on_progress: Callable[[int], None] | None = None) -> tuple[int, int]:
    """Insert or update the rows of ``frame`` (columns named as in ``table``).

    ``compare`` columns are updated and decide whether a stored row changed; ``touch`` columns
    (e.g. ``updated_at``) are updated only together with a change. Columns of ``frame`` in
    neither list are written on insert only. Returns ``(inserted, updated)``.
    """
    if frame.empty:
        return 0, 0
    ensure_for_frame(conn, table, frame)  # PostgreSQL: each month's partition, made first
    before = count_rows(conn, table)
    with _bulk_mode(conn, table, len(frame), before):
        if _is_sqlite(conn):
            touched = _upsert_sqlite(conn, table, frame, key, kinds, compare, touch, on_progress,
                                     empty=before == 0)
        else:
            touched = _upsert_pg(conn, table, frame, key, kinds, compare, touch, on_progress,
                                 empty=before == 0)
    # An empty table cannot have had a row updated.
    inserted = touched if before == 0 else count_rows(conn, table) - before
    return inserted, touched - inserted


def _executemany(dbapi, sql: str, frame: pd.DataFrame, kinds, on_progress) -> None:
    columns = list(frame.columns)
    cursor = dbapi.cursor()
    try:
        for offset in range(0, len(frame), _CHUNK):
            part = frame.iloc[offset: offset + _CHUNK]
            cursor.executemany(sql, zip(*[_sqlite_values(part[c], kinds.get(c, "text"))
                                          for c in columns]))
            if on_progress is not None:
                on_progress(len(part))
    finally:
        cursor.close()


def _insert_sql(table: str, columns: Sequence[str], placeholder: str = "?") -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES ({", ".join(placeholder for _ in columns)})'


def _upsert_sqlite(conn, table, frame, key, kinds, compare, touch, on_progress, *,
                   empty: bool) -> int:
    plain = _insert_sql(table, frame.columns)
    sql = f'{plain} ON CONFLICT("{key}") '
    sql += (f"DO UPDATE SET {_set_clause(compare, touch)} WHERE {_changed_sqlite(table, compare)}"
            if compare else "DO NOTHING")
    dbapi = conn.connection.driver_connection
    start = dbapi.total_changes
    if empty:
        _executemany(dbapi, plain, frame, kinds, on_progress)
        return dbapi.total_changes - start
    # Optimistic: new rows only go in as plain INSERTs; the first existing key rolls that back
    # and the upsert does the work.
    dbapi.execute("SAVEPOINT patronage_import")
    try:
        _executemany(dbapi, plain, frame, kinds, on_progress)
    except sqlite3.IntegrityError:
        dbapi.execute("ROLLBACK TO patronage_import")
        start = dbapi.total_changes
        _executemany(dbapi, sql, frame, kinds, None)
    dbapi.execute("RELEASE patronage_import")
    return dbapi.total_changes - start


def _copy(conn, target: str, frame: pd.DataFrame, kinds, on_progress) -> None:
    names = ", ".join(f'"{c}"' for c in frame.columns)
    plan = binary_plan(conn, target, frame, kinds)
    cursor = conn.connection.driver_connection.cursor()
    try:
        # A queued writer sends each chunk from a background thread while the next one is
        # formatted, so formatting (Python) and ingesting (the server) overlap.
        from psycopg.copy import QueuedLibpqWriter

        writer = QueuedLibpqWriter(cursor)
        binary = " (FORMAT binary)" if plan is not None else ""
        with cursor.copy(f'COPY "{target}" ({names}) FROM STDIN{binary}', writer=writer) as copy:
            if plan is not None:
                copy.write(SIGNATURE)
            for offset in range(0, len(frame), _CHUNK):
                part = frame.iloc[offset: offset + _CHUNK]
                copy.write(_copy_text(part, kinds) if plan is None else
                           binary_chunk(part, plan).data)
                if on_progress is not None:
                    on_progress(len(part))
            if plan is not None:
                copy.write(TRAILER)
    finally:
        cursor.close()


def _with_serial_ids(conn, table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """For a bulk load, ``frame`` with the ``id`` values the table's serial default would give
    its rows, taken from the sequence in one step: the server then skips one ``nextval`` per
    row. The table is locked against other writers first (a bulk load holds an exclusive lock
    already), so that no one else draws from the sequence in between. Unchanged for smaller
    loads and when the table has no such column (or an identity column, or a step other than 1).
    """
    if len(frame) < _REBUILD_MIN_ROWS or "id" in frame.columns \
            or list(metadata.tables[table].primary_key.columns.keys()) != ["id"]:
        return frame
    sequence = conn.exec_driver_sql(
        "SELECT pg_get_serial_sequence(%(table)s, 'id') FROM pg_attribute WHERE attrelid = "
        "%(table)s::regclass AND attname = 'id' AND attidentity = ''",
        {"table": f'"{table}"'}).scalar()
    if sequence is None or conn.exec_driver_sql(
            "SELECT seqincrement FROM pg_sequence WHERE seqrelid = %(s)s::regclass",
            {"s": sequence}).scalar() != 1:
        return frame
    conn.exec_driver_sql(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE')
    first = conn.exec_driver_sql("SELECT nextval(%(s)s)", {"s": sequence}).scalar_one()
    conn.exec_driver_sql("SELECT setval(%(s)s, %(last)s)",
                         {"s": sequence, "last": first + len(frame) - 1})
    ids = pd.Series(np.arange(first, first + len(frame), dtype=np.int64), index=frame.index)
    return pd.concat([ids.rename("id"), frame], axis=1)


def _copy_into_temp(conn, table: str, frame: pd.DataFrame, kinds, on_progress) -> str:
    names = ", ".join(f'"{c}"' for c in frame.columns)
    temp = f"import_{uuid.uuid4().hex[:12]}"
    conn.exec_driver_sql(f'CREATE TEMP TABLE "{temp}" ON COMMIT DROP AS '
                         f'SELECT {names} FROM "{table}" WITH NO DATA')
    _copy(conn, temp, frame, kinds, on_progress)
    return temp


def _upsert_pg(conn, table, frame, key, kinds, compare, touch, on_progress, *,
               empty: bool) -> int:
    if empty:  # nothing to conflict with: COPY straight into the table
        _copy(conn, table, _with_serial_ids(conn, table, frame), {**kinds, "id": "int"},
              on_progress)
        return len(frame)
    temp = _copy_into_temp(conn, table, frame, kinds, on_progress)
    names = ", ".join(f'"{c}"' for c in frame.columns)
    if is_partitioned(conn, table):
        touched = _update_then_insert(conn, table, temp, names, key, kinds, compare, touch)
        conn.exec_driver_sql(f'DROP TABLE "{temp}"')
        return touched
    sql = (f'INSERT INTO "{table}" ({names}) SELECT {names} FROM "{temp}" '
           f'ON CONFLICT ("{key}") ')
    sql += (f"DO UPDATE SET {_set_clause(compare, touch)} WHERE "
            f"{_changed_pg(table, compare, kinds)}" if compare else "DO NOTHING")
    touched = conn.exec_driver_sql(sql).rowcount
    conn.exec_driver_sql(f'DROP TABLE "{temp}"')
    return touched


def _update_then_insert(conn, table, temp, names, key, kinds, compare, touch) -> int:
    """The upsert of a partitioned table, which has no unique index on ``key`` for ``ON
    CONFLICT`` to use: changed rows are updated, then the new ones inserted (the table's
    triggers check that ``key`` stays unique)."""
    touched = 0
    if compare:
        touched += conn.exec_driver_sql(
            f'UPDATE "{table}" SET {_set_clause(compare, touch)} FROM "{temp}" AS excluded '
            f'WHERE "{table}"."{key}" = excluded."{key}" AND '
            f"{_changed_pg(table, compare, kinds)}").rowcount
    return touched + conn.exec_driver_sql(
        f'INSERT INTO "{table}" ({names}) SELECT {names} FROM "{temp}" AS excluded '
        f'WHERE NOT EXISTS (SELECT FROM "{table}" WHERE "{table}"."{key}" = excluded."{key}")'
    ).rowcount


def insert(conn: Connection, table: str, frame: pd.DataFrame, *, kinds: dict[str, str]) -> int:
    """Plain bulk insert of ``frame``; returns the number of rows."""
    if frame.empty:
        return 0
    ensure_for_frame(conn, table, frame)
    with _bulk_mode(conn, table, len(frame), count_rows(conn, table)):
        if _is_sqlite(conn):
            _executemany(conn.connection.driver_connection, _insert_sql(table, frame.columns),
                         frame, kinds, None)
        else:
            _copy(conn, table, frame, kinds, None)
    return len(frame)


def existing_keys(conn: Connection, table: str, key: str, value: str = "id") -> dict:
    """``{key: value}`` for every row of ``table`` (e.g. customer external id -> id)."""
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(f'SELECT "{key}", "{value}" FROM "{table}"')
        return dict(cursor.fetchall())
    finally:
        cursor.close()


__all__ = ["count_rows", "existing_keys", "insert", "upsert"]
