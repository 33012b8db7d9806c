"""Case rows and their timeline: numbers, look-ups under a write lock, appending events."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from patronage.messages import N_, UserError
from patronage.storage.schema import cases
from patronage.storage.schema_cases import case_events

_NUMBER = re.compile(r"^\s*(?:C|CS|#)?-?0*(\d{1,12})\s*$", re.IGNORECASE)


def case_number(case_id: int) -> str:
    """How a case is named to people: ``C000123``."""
    return f"C{int(case_id):06d}"


def case_id_of(number: str | int) -> int:
    """The id behind ``C000123``, ``#123`` or ``123``; UserError for anything else."""
    if isinstance(number, int):
        return number
    match = _NUMBER.match(str(number))
    if not match:
        raise UserError(N_("{number!r} is not a case number; case numbers look like C000123."),
                        number=str(number)[:40])
    return int(match.group(1))


def load_for_update(conn: Connection, number: str | int) -> dict[str, Any]:
    """The case row inside the caller's write transaction (row-locked on PostgreSQL)."""
    query = select(cases).where(cases.c.id == case_id_of(number))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise UserError(N_("There is no case {number}."), number=case_number(case_id_of(number)))
    return dict(row)


def append_event(conn: Connection, case_id: int, kind: str, *, at: datetime,
                 user_id: int | None = None, body: str | None = None,
                 visibility: str = "internal", changes: dict | None = None) -> int:
    """Add one event to the case's timeline (events are never changed afterwards)."""
    result = conn.execute(insert(case_events).values(
        case_id=case_id, at=at, user_id=user_id, kind=kind, visibility=visibility,
        body=body, changes=changes))
    return int(result.inserted_primary_key[0])


def save(conn: Connection, case_id: int, values: dict[str, Any], at: datetime) -> None:
    if values:
        conn.execute(update(cases).where(cases.c.id == case_id).values(**values, updated_at=at))


__all__ = ["append_event", "case_id_of", "case_number", "load_for_update", "save"]
