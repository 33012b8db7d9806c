"""The check afterwards: a case-follow-up survey's answer goes onto the case's timeline, and an
answer matching the trigger's reopen condition (``csat <= 2``) reopens the case.

The invitation made by a ``case_closed`` trigger carries its case. The worker reads new answers
to such invitations behind a cursor (``worker_cursors``) that it moves in the same transaction,
locked on PostgreSQL, so every answer is handled once even with two workers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from patronage.cases import records, sla
from patronage.cases.config import DEFAULT, DeskConfig
from patronage.cases.desk import reopen_on
from patronage.cases.inputs import now_utc
from patronage.cases.rules import answers_of, describe, matches
from patronage.storage import write_transaction
from patronage.storage.schema import customers, invitations, responses, survey_triggers
from patronage.storage.schema_cases import worker_cursors

CURSOR = "case_followups"


def _cursor(conn) -> int:
    query = select(worker_cursors.c.position).where(worker_cursors.c.name == CURSOR)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    position = conn.execute(query).scalar()
    if position is None:
        conn.execute(insert(worker_cursors).values(name=CURSOR, position=0))
        return 0
    return int(position)


def check_followups(engine: Engine, *, now: datetime | None = None, batch: int = 500,
                    config: DeskConfig = DEFAULT) -> int:
    """Handle new follow-up answers; returns how many cases they reopened."""
    now = now or now_utc()
    reopened = 0
    r, i, t = responses.c, invitations.c, survey_triggers.c
    with write_transaction(engine) as conn:
        start = _cursor(conn)
        rows = conn.execute(
            select(r.id, i.case_id, r.survey_id)
            .join(invitations, i.id == r.invitation_id)
            .where(r.id > start, i.case_id.is_not(None)).order_by(r.id).limit(batch)).all()
        if not rows:
            return 0
        numbers, texts = answers_of(conn, [row.id for row in rows])
        cal = sla.calendar(conn, config)
        for row in rows:
            condition = conn.execute(
                select(t.reopen_condition).where(t.survey_id == row.survey_id,
                                                 t.event == "case_closed",
                                                 t.reopen_condition.is_not(None))
                .order_by(t.id).limit(1)).scalar()
            answers = numbers.get(row.id, {})
            case = records.load_for_update(conn, row.case_id)
            records.append_event(conn, case["id"], "survey_answer", at=now,
                                 changes={"response_id": row.id, "answers": answers})
            customer = dict(conn.execute(select(customers.c.size)
                                         .where(customers.c.id == case["customer_id"]))
                            .mappings().one())
            if (condition and case["status"] in ("resolved", "closed")
                    and matches(condition, answers, texts.get(row.id, {}), customer)):
                reopen_on(conn, case, cal, now, None, describe(condition),
                          changes={"response_id": row.id})
                reopened += 1
        conn.execute(update(worker_cursors).where(worker_cursors.c.name == CURSOR)
                     .values(position=max(row.id for row in rows)))
    return reopened


__all__ = ["check_followups"]
