"""Service recovery: what was done to put things right (apology, repair, replacement, refund,
compensation, goodwill points) and what it cost. A refund or compensation above the company's
limit waits for a manager's (admin's) approval; only approved remedies count as cost."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func, insert, select, update

from patronage.cases import records
from patronage.cases.config import DEFAULT, DeskConfig
from patronage.cases.inputs import clean_text, now_utc, one_of
from patronage.members.adjustments import compensate
from patronage.messages import N_, UserError
from patronage.storage import write_transaction
from patronage.storage.schema import cases
from patronage.storage.schema_cases import REMEDY_KINDS, case_remedies

PAID = ("refund", "compensation")
#: What the columns hold (a 14-digit amount with 2 decimals, a 32-bit count of points).
MAX_AMOUNT = 999_999_999_999.0
MAX_POINTS = 2_000_000_000


def add_remedy(engine: Engine, number, kind: str, *, amount: float = 0.0, points: int = 0,
               note: str | None = None, by: int | None = None, now: datetime | None = None,
               config: DeskConfig = DEFAULT) -> tuple[int, str]:
    """Record a remedy; returns ``(remedy id, status)`` — ``pending`` when it needs approval."""
    one_of(kind, REMEDY_KINDS, "remedy")
    try:
        amount, points = float(amount or 0), int(points or 0)
    except (TypeError, ValueError):
        raise UserError(N_("The amount and the points must be numbers.")) from None
    if amount < 0 or points < 0 or amount != amount:
        raise UserError(N_("The amount and the points cannot be negative."))
    if amount > MAX_AMOUNT or points > MAX_POINTS:
        raise UserError(N_("The amount can be at most {amount} yuan and the points at most "
                           "{points}."), amount=f"{MAX_AMOUNT:,.0f}", points=f"{MAX_POINTS:,d}")
    text = clean_text(note, "body")
    now = now or now_utc()
    status = "pending" if kind in PAID and amount > config.approval_above else "approved"
    with write_transaction(engine) as conn:
        case = records.load_for_update(conn, number)
        remedy_id = int(conn.execute(insert(case_remedies).values(
            case_id=case["id"], kind=kind, amount=amount, points=points, note=text,
            status=status, requested_by=by, decided_by=None if status == "pending" else by,
            created_at=now, decided_at=None if status == "pending" else now))
            .inserted_primary_key[0])
        if status == "approved":  # a member's points, in the approving transaction
            compensate(conn, case["customer_id"], case_id=case["id"], remedy_id=remedy_id,
                       points=points, by=by, note=text, now=now)
        records.append_event(conn, case["id"], "remedy", at=now, user_id=by, body=text,
                             changes={"remedy_id": remedy_id, "kind": kind, "amount": amount,
                                      "points": points, "status": status})
    return remedy_id, status


def decide(engine: Engine, remedy_id: int, approve: bool, *, by: int,
           note: str | None = None, now: datetime | None = None) -> str:
    """Approve or reject a pending remedy (a manager's decision, on the case's timeline)."""
    now = now or now_utc()
    status = "approved" if approve else "rejected"
    with write_transaction(engine) as conn:
        row = conn.execute(select(case_remedies).where(case_remedies.c.id == remedy_id)) \
            .mappings().first()
        if row is None or row["status"] != "pending":
            raise UserError(N_("There is no remedy {remedy} waiting for approval."),
                            remedy=remedy_id)
        if row["requested_by"] == by:
            raise UserError(N_("Someone else must approve a remedy you asked for."))
        conn.execute(update(case_remedies).where(case_remedies.c.id == remedy_id)
                     .values(status=status, decided_by=by, decided_at=now))
        if approve:  # a member's points, in the approving transaction
            customer = conn.execute(select(cases.c.customer_id)
                                    .where(cases.c.id == row["case_id"])).scalar()
            compensate(conn, customer, case_id=row["case_id"], remedy_id=remedy_id,
                       points=row["points"], by=by, note=row["note"], now=now)
        records.append_event(conn, row["case_id"], "approval", at=now, user_id=by,
                             body=clean_text(note, "body"),
                             changes={"remedy_id": remedy_id, "status": status})
    return status


def recovery_cost(engine: Engine) -> dict[int, float]:
    """Approved remedy amounts per customer (panel key), for the customer's value."""
    r = case_remedies.c
    with engine.connect() as conn:
        rows = conn.execute(select(cases.c.customer_id, func.sum(r.amount))
                            .join(cases, cases.c.id == r.case_id)
                            .where(r.status == "approved").group_by(cases.c.customer_id)).all()
    return {int(pk): float(total or 0) for pk, total in rows}


__all__ = ["PAID", "add_remedy", "decide", "recovery_cost"]
