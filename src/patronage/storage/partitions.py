"""PostgreSQL: the transactions table is partitioned by month (migration 0019).

One partition per calendar month of ``occurred_at`` (``transactions_y2026m03`` holds March 2026)
and a DEFAULT partition (``transactions_default``) that takes every row no month partition is
there for, so that no insert ever fails for want of a partition. The summary query and every
date-bounded read then scan only the months they need, and a month's rows sit together on disk.

Partitions are made ahead: by the migration for the months the data covers, by every bulk write
(imports, the demo) for the months its rows fall in, before they are written, and by the worker's
monthly job for this month and the next :data:`AHEAD` ones. A month whose rows landed in the
DEFAULT partition (a plain ``INSERT``) is split out of it when its partition is made: its rows move
into a new table that is then attached as the month's partition, in one transaction.

A partitioned table's primary key and unique indexes must include the partition key, so on
PostgreSQL the key is ``(id, occurred_at)`` (``id`` still comes from its sequence alone) and the
uniqueness of ``external_id`` is checked by statement-level triggers (migration 0019) that look at
the written rows, as a set, against the table, under a transaction-level advisory lock so that two
writers cannot both pass. SQLite keeps its plain table, with ``UNIQUE (external_id)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime

import pandas as pd
from sqlalchemy import Connection, Engine

TABLE = "transactions"
DEFAULT = f"{TABLE}_default"
#: Months made ahead of the current one by the worker (and by the migration).
AHEAD = 3
#: Months outside these years stay in the DEFAULT partition (a mistyped year must not make
#: hundreds of partitions).
_YEARS = (1900, 2999)
_NAME = re.compile(rf"^{TABLE}_y(\d{{4}})m(\d{{2}})$")
#: On PostgreSQL, the schema objects the schema module does not describe: the partitions, and the
#: external id's plain index that stands in for ``UNIQUE (external_id)`` (see the docstring).
_NOT_IN_METADATA = {("index", "ix_transactions_external_id"),
                    ("unique_constraint", "uq_transactions_external_id")}


def partition_name(month: date) -> str:
    return f"{TABLE}_y{month.year:04d}m{month.month:02d}"


def month_of(value) -> date:
    stamp = pd.Timestamp(value)
    return date(stamp.year, stamp.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def is_partitioned(conn: Connection, table: str = TABLE) -> bool:
    """True when ``table`` is a partitioned PostgreSQL table (never on SQLite)."""
    if conn.dialect.name != "postgresql":
        return False
    return bool(conn.exec_driver_sql(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = "
        "to_regclass(%(t)s))", {"t": f'"{table}"'}).scalar())


def stored_months(conn: Connection) -> set[date]:
    """The months that have a partition of their own."""
    names = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(%(t)s)", {"t": f'"{TABLE}"'}).scalars()
    found = set()
    for name in names:
        match = _NAME.match(name)
        if match:
            found.add(date(int(match[1]), int(match[2]), 1))
    return found


def ensure_months(conn: Connection, months: Iterable) -> int:
    """Make the partitions of ``months`` (dates or timestamps; any day of the month) that are
    missing, in ``conn``'s transaction; returns how many were made. Nothing on SQLite."""
    wanted = {month_of(m) for m in months if m is not None and not pd.isna(m)}
    wanted = {m for m in wanted if _YEARS[0] <= m.year <= _YEARS[1]}
    if not wanted or not is_partitioned(conn):
        return 0
    missing = wanted - stored_months(conn)
    if not missing:
        return 0
    # One maker at a time (per schema); the winner's partitions are seen after the wait.
    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(current_schema() || %(k)s))",
                         {"k": f".{TABLE}.partitions"})
    missing -= stored_months(conn)
    for month in sorted(missing):
        _make(conn, month)
    return len(missing)


def ensure_for_frame(conn: Connection, table: str, frame: pd.DataFrame) -> int:
    """Before a bulk write into ``table``: the partitions of the months its rows fall in."""
    if table != TABLE or "occurred_at" not in frame.columns or conn.dialect.name != "postgresql":
        return 0
    stamps = pd.to_datetime(frame["occurred_at"], errors="coerce").dropna()
    if stamps.empty:
        return 0
    months = pd.unique(stamps.dt.year.to_numpy() * 100 + stamps.dt.month.to_numpy())
    return ensure_months(conn, [date(int(m) // 100, int(m) % 100, 1) for m in months])


def ensure_ahead(engine: Engine, *, now: datetime, ahead: int = AHEAD) -> int:
    """The worker's job: partitions for the month of ``now`` and the ``ahead`` next ones."""
    if engine.dialect.name != "postgresql":
        return 0
    months = [month_of(now)]
    for _ in range(ahead):
        months.append(next_month(months[-1]))
    with engine.begin() as conn:
        return ensure_months(conn, months)


def _make(conn: Connection, month: date) -> None:
    name, low, high = partition_name(month), month.isoformat(), next_month(month).isoformat()
    bounds = f"FOR VALUES FROM ('{low}') TO ('{high}')"
    in_range = f"occurred_at >= '{low}' AND occurred_at < '{high}'"
    landed = conn.exec_driver_sql(
        f'SELECT EXISTS (SELECT 1 FROM "{DEFAULT}" WHERE {in_range})').scalar()
    if not landed:
        conn.exec_driver_sql(f'CREATE TABLE "{name}" PARTITION OF "{TABLE}" {bounds}')
        return
    # Split the month out of the DEFAULT partition: PostgreSQL refuses a new partition while
    # DEFAULT holds rows of its range.
    columns = ", ".join(f'"{c}"' for c in conn.exec_driver_sql(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%(t)s) AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum", {"t": f'"{TABLE}"'}).scalars())
    conn.exec_driver_sql(f'CREATE TABLE "{name}" (LIKE "{TABLE}" INCLUDING DEFAULTS '
                         "INCLUDING CONSTRAINTS)")
    conn.exec_driver_sql(f'WITH moved AS (DELETE FROM "{DEFAULT}" WHERE {in_range} '
                         f'RETURNING {columns}) INSERT INTO "{name}" ({columns}) '
                         f"SELECT {columns} FROM moved")
    conn.exec_driver_sql(f'ALTER TABLE "{TABLE}" ATTACH PARTITION "{name}" {bounds}')


def comparable(dialect: str):
    """Alembic's ``include_object`` for comparing the database with the schema module: on
    PostgreSQL the partitions and the external id's stand-in index are left out."""
    def include(obj, name, type_, reflected, compare_to) -> bool:
        if dialect != "postgresql" or name is None:
            return True
        if type_ == "table":
            return not (name == DEFAULT or _NAME.match(name))
        return (type_, name) not in _NOT_IN_METADATA
    return include


__all__ = ["AHEAD", "DEFAULT", "TABLE", "comparable", "ensure_ahead", "ensure_for_frame",
           "ensure_months", "is_partitioned", "month_of", "next_month", "partition_name",
           "stored_months"]
