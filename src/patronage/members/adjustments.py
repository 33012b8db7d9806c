"""Points given or taken by hand, and points given as a case's compensation.

An adjustment always says who made it and why: the staff member and the reason are written on
the transfer itself (the ledger's audit), with the programme's ``adjustment`` account on the
other side. A negative adjustment cannot take more than the member can spend.

A case remedy with points, once approved (at once, or by a manager), gives them to the customer
if they are an active member: kind ``compensation``, source ``remedy:<remedy id>`` (once), with
the case on the transfer, in the transaction that approves the remedy.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime

import pandas as pd
from sqlalchemy import Connection, Engine, select

from patronage.cases.inputs import user_id_of
from patronage.members.enrolment import member_of_card
from patronage.members.ledger import Movement, NotEnoughPoints, balance, give, statement, take
from patronage.members.expiry import member_points
from patronage.members.programme import (
    company_day,
    company_today,
    expiry_date,
    load_policy,
    load_tiers,
)
from patronage.messages import N_, UserError
from patronage.storage import write_transaction
from patronage.storage.schema_members import members

MAX_POINTS = 2_000_000_000


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _given(conn: Connection, movement: Movement) -> Movement:
    """The movement with its earning and expiry days (points given now count as earned now,
    on the company's day)."""
    earned = company_day(movement.occurred_at)
    return replace(movement, earned_on=earned,
                   expires_on=expiry_date(load_policy(conn), earned))


def adjust(engine: Engine, card: str, points, reason: str, *, by: str | int | None = None,
           now: datetime | None = None) -> dict:
    """Give (positive ``points``) or take (negative) points by hand, with the reason and who
    made it on the transfer; returns ``{"transfer", "points", "balance"}``."""
    try:
        points = int(str(points).strip())
    except (TypeError, ValueError):
        points = 0
    if not points or abs(points) > MAX_POINTS:
        raise UserError(N_("Give the points to add (e.g. 200) or to take (e.g. -200), a whole "
                           "number other than 0."))
    reason = str(reason or "").strip()
    if not reason or len(reason) > 500 or "\x00" in reason:
        raise UserError(N_("Say why the points are adjusted (up to 500 characters)."))
    now = now or _now()
    with write_transaction(engine) as conn:
        member_id = member_of_card(conn, card)
        actor = user_id_of(conn, by)
        movement = Movement(kind="adjust", points=abs(points),
                            source_key=f"adjust:{uuid.uuid4().hex}", occurred_at=now,
                            actor_id=actor, reason=reason)
        if points > 0:
            transfer = give(conn, member_id, _given(conn, movement), source="adjustment")
        else:
            take(conn, member_id, movement, to="adjustment")
            transfer = None
        left = balance(conn, member_id)
    return {"transfer": transfer, "points": points, "balance": left["points"]}


def adjust_customer(engine: Engine, customer_pk: int, points, reason: str, *,
                    by: str | int | None = None, now: datetime | None = None) -> dict:
    """:func:`adjust` for the member who is the customer ``customer_pk`` (on their profile)."""
    with engine.connect() as conn:
        card = conn.execute(select(members.c.card_no)
                            .where(members.c.customer_id == customer_pk)).scalar()
    if card is None:
        raise UserError(N_("This customer is not a member of the programme."))
    return adjust(engine, card, points, reason, by=by, now=now)


def compensate(conn: Connection, customer_id: int | None, *, case_id: int, remedy_id: int,
               points: int, by: int | None = None, note: str | None = None,
               now: datetime | None = None) -> int | None:
    """Give an approved remedy's points to the customer on the write connection ``conn`` when
    they are an active member; returns the transfer id (None: not a member, no points, or
    given already)."""
    if not points or customer_id is None:
        return None
    member_id = conn.execute(select(members.c.id).where(members.c.customer_id == customer_id,
                                                        members.c.status == "active")).scalar()
    if member_id is None:
        return None
    movement = Movement(kind="compensation", points=int(points), source_key=f"remedy:{remedy_id}",
                        occurred_at=now or _now(), case_id=case_id, actor_id=by, reason=note)
    return give(conn, int(member_id), _given(conn, movement))


def statement_of_card(engine: Engine, card: str) -> pd.DataFrame:
    """The ledger lines of the member with card ``card`` (see
    :func:`patronage.members.ledger.statement`)."""
    with engine.connect() as conn:
        return statement(conn, member_of_card(conn, card))


def member_summary(engine: Engine, card: str, language: str = "en",
                   today: date | None = None, *, timezone: str | None = None) -> dict:
    """A member's card, status, tier, points and what expires next (the API's answer):
    ``{"card", "status", "joined_on", "tier", "tier_name", "points", "pending", "due",
    "expiring": {"on", "points"} | None}`` with days as ISO text; ``today`` is by default the
    company's day (in ``timezone``, default the setting's)."""
    today = today or company_today(timezone=timezone)
    with engine.connect() as conn:
        member_id = member_of_card(conn, card)
        row = conn.execute(select(members.c.card_no, members.c.status, members.c.joined_on,
                                  members.c.tier_code).where(members.c.id == member_id)).one()
        tiers = {t.code: t for t in load_tiers(conn, active_only=False)}
        points = member_points(conn, member_id, today)
    tier = tiers.get(row.tier_code)
    expiring = points["expiring"]
    return {"card": row.card_no, "status": row.status, "joined_on": row.joined_on.isoformat(),
            "tier": row.tier_code, "tier_name": tier.name(language) if tier else None,
            "points": points["points"], "pending": points["pending"], "due": points["due"],
            "expiring": None if expiring is None else {"on": expiring["on"].isoformat(),
                                                       "points": expiring["points"]}}


__all__ = ["NotEnoughPoints", "adjust", "adjust_customer", "compensate", "member_summary", "statement_of_card"]
