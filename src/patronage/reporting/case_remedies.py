"""What the case desk shows of service recovery: a case's remedies with their status and cost,
the remedies waiting for a manager's approval across cases, and one customer's cost of recovery.

Labels are English messages marked with :func:`N_`; the pages translate them.
"""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from patronage.cases.records import case_number
from patronage.reporting.case_desk import (
    REMEDY_LABELS,
    REMEDY_STATUS_LABELS,
    local_time,
)
from patronage.storage.schema import cases, customers, users
from patronage.storage.schema_cases import REMEDY_KINDS, case_remedies


def _people(conn) -> dict[int, str]:
    return {r.id: r.display_name or r.email
            for r in conn.execute(select(users.c.id, users.c.email, users.c.display_name))}


def case_remedies_of(engine: Engine, case_id: int, *, timezone: str | None) -> dict:
    """A case's remedies, newest first, and the approved cost (¥) and points."""
    r = case_remedies.c
    with engine.connect() as conn:
        rows = conn.execute(select(case_remedies).where(r.case_id == case_id)
                            .order_by(r.created_at.desc(), r.id.desc())).mappings().all()
        people = _people(conn)
    shown = [{**row, "requested": people.get(row["requested_by"]),
              "decided": people.get(row["decided_by"]),
              "created_local": local_time(row["created_at"], timezone),
              "decided_local": local_time(row["decided_at"], timezone)
              if row["decided_at"] else None} for row in rows]
    approved = [row for row in rows if row["status"] == "approved"]
    return {"remedies": shown, "remedy_cost": sum(float(x["amount"] or 0) for x in approved),
            "remedy_points": sum(int(x["points"] or 0) for x in approved),
            "remedy_kinds": REMEDY_KINDS}


def pending_remedies(engine: Engine, *, timezone: str | None) -> list[dict]:
    """Remedies waiting for approval across cases, oldest first, with case and customer."""
    r = case_remedies.c
    query = (select(r.id, r.case_id, r.kind, r.amount, r.points, r.note, r.requested_by,
                    r.created_at, cases.c.subject, customers.c.id.label("customer_pk"),
                    customers.c.name.label("customer"))
             .join(cases, cases.c.id == r.case_id)
             .join(customers, customers.c.id == cases.c.customer_id)
             .where(r.status == "pending").order_by(r.created_at, r.id))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
        people = _people(conn)
    return [{**row, "number": case_number(row["case_id"]),
             "requested": people.get(row["requested_by"]),
             "created_local": local_time(row["created_at"], timezone)} for row in rows]


def pending_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(case_remedies)
                                .where(case_remedies.c.status == "pending")).scalar() or 0)


def remedy_case(engine: Engine, remedy_id: int) -> int | None:
    """The case a remedy belongs to (None when there is no such remedy)."""
    with engine.connect() as conn:
        return conn.execute(select(case_remedies.c.case_id)
                            .where(case_remedies.c.id == remedy_id)).scalar()


def customer_recovery_cost(engine: Engine, customer_pk: int) -> dict:
    """One customer's approved remedies: their number and amount (¥)."""
    r = case_remedies.c
    with engine.connect() as conn:
        total, count = conn.execute(
            select(func.coalesce(func.sum(r.amount), 0), func.count())
            .join(cases, cases.c.id == r.case_id)
            .where(r.status == "approved", cases.c.customer_id == customer_pk)).one()
    return {"recovery_cost": float(total or 0), "remedies": int(count)}


__all__ = ["REMEDY_LABELS", "REMEDY_STATUS_LABELS", "case_remedies_of", "customer_recovery_cost",
           "pending_count", "pending_remedies", "remedy_case"]
