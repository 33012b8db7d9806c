"""Bulk writes shared by the importer and the demo company."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Table, insert

_CHUNK = 5000


def insert_rows(conn: Connection, table: Table, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert ``rows`` into ``table`` in chunks on an open (write) connection.

    Returns the number of rows inserted. The caller owns the transaction.
    """
    count = 0
    chunk: list[Mapping[str, Any]] = []
    statement = insert(table)
    for row in rows:
        chunk.append(row)
        if len(chunk) >= _CHUNK:
            conn.execute(statement, chunk)
            count += len(chunk)
            chunk = []
    if chunk:
        conn.execute(statement, chunk)
        count += len(chunk)
    return count


__all__ = ["insert_rows"]
