"""Care tasks: a call, visit or message due for one customer, made by a rule, an occasion, a
campaign or an agent.

:func:`create_task` is the one way a task is made. A task with a ``source_key`` (what made it:
``"rule:3:transaction:991"``) is made at most once: the key is unique in the database, so two
workers racing on the same event make one task between them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, insert
from sqlalchemy.exc import IntegrityError

from patronage.storage.schema_care import TASK_TYPES, care_tasks


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def create_task(conn: Connection, *, customer_id: int, subject: str, due_at: datetime,
                type: str = "call", script: str | None = None, team_id: int | None = None,
                assignee_id: int | None = None, source_key: str | None = None,
                rule_id: int | None = None, campaign_id: int | None = None,
                gift: str | None = None, gift_cost: float | None = None,
                created_by: int | None = None, now: datetime | None = None) -> int | None:
    """Add an open task on the write connection ``conn``; returns its id, or None when a task
    with this ``source_key`` exists already."""
    if type not in TASK_TYPES:
        raise ValueError(f"task type must be one of {list(TASK_TYPES)}; got {type!r}")
    values = dict(customer_id=customer_id, rule_id=rule_id, source_key=source_key, type=type,
                  subject=(subject or "")[:300], script=script, due_at=due_at, team_id=team_id,
                  assignee_id=assignee_id, status="open", attempts=0, campaign_id=campaign_id,
                  gift=gift, gift_cost=gift_cost, created_by=created_by,
                  created_at=now or _now())
    if source_key is None:
        return conn.execute(insert(care_tasks).values(**values)).inserted_primary_key[0]
    savepoint = conn.begin_nested()
    try:
        task_id = conn.execute(insert(care_tasks).values(**values)).inserted_primary_key[0]
    except IntegrityError:  # made already, by this worker earlier or by another one now
        savepoint.rollback()
        return None
    savepoint.commit()
    return task_id


__all__ = ["create_task"]
