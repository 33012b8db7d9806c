"""Lists of cases for work queues, the command line and the API: filter by status, owner, team,
service-level state; every row names its customer and its case number."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, and_, func, or_, select

from patronage.cases.inputs import now_utc
from patronage.cases.records import case_number
from patronage.messages import N_, UserError
from patronage.storage.schema import CASE_STATUSES, OPEN_CASE_STATUSES, cases, customers, users
from patronage.storage.schema_cases import team_members, teams

COLUMNS = ["number", "status", "severity", "category", "subject", "customer_id", "customer",
           "owner", "team", "opened_at", "first_response_due_at", "resolution_due_at",
           "breached", "customer_pk"]


def list_cases(engine: Engine, *, status: str | None = "open", owner_id: int | None = None,
               team_ids: list[int] | None = None, customer_pk: int | None = None,
               breached: bool = False, due_within_hours: float | None = None,
               unassigned: bool = False, now: datetime | None = None,
               limit: int | None = 500, visible_to: int | None = None,
               severity: str | None = None, category: str | None = None,
               search: str | None = None) -> pd.DataFrame:
    """Cases matching every given filter, most urgent first. ``status``: ``open`` (any status
    that still needs work), ``all``, or one status. ``visible_to`` keeps the cases of that
    staff member's teams and their own; ``search`` looks in the customer's name and id."""
    now = now or now_utc()
    c = cases.c
    query = (select(c.id, c.status, c.severity, c.category, c.subject,
                    customers.c.external_id.label("customer_id"),
                    customers.c.name.label("customer"), users.c.email.label("owner"),
                    teams.c.name.label("team"), c.opened_at, c.first_response_due_at,
                    c.resolution_due_at, c.first_responded_at, c.customer_id.label("customer_pk"))
             .join(customers, customers.c.id == c.customer_id)
             .outerjoin(users, users.c.id == c.owner_id)
             .outerjoin(teams, teams.c.id == c.team_id))
    if status == "open":
        query = query.where(c.status.in_(OPEN_CASE_STATUSES))
    elif status not in (None, "all"):
        if status not in CASE_STATUSES:
            raise UserError(N_("Unknown status {status!r}; use open, all or one of {known}."),
                            status=str(status)[:20], known=", ".join(CASE_STATUSES))
        query = query.where(c.status == status)
    if owner_id is not None:
        query = query.where(c.owner_id == owner_id)
    if team_ids is not None:
        query = query.where(or_(c.team_id.in_(team_ids or [-1]), c.owner_id == owner_id)
                            if owner_id is not None else c.team_id.in_(team_ids or [-1]))
    if customer_pk is not None:
        query = query.where(c.customer_id == customer_pk)
    if unassigned:
        query = query.where(c.owner_id.is_(None))
    if visible_to is not None:
        mine = select(team_members.c.team_id).where(team_members.c.user_id == visible_to)
        query = query.where(or_(c.team_id.in_(mine), c.owner_id == visible_to))
    if severity:
        query = query.where(c.severity == severity)
    if category:
        query = query.where(c.category == category)
    if search and search.strip():
        words = search.strip().lower()[:100]
        query = query.where(or_(func.lower(customers.c.name).contains(words, autoescape=True),
                                func.lower(customers.c.external_id).contains(words,
                                                                             autoescape=True)))
    running = c.status.in_(("new", "assigned", "in_progress"))
    late = or_(c.resolution_due_at < now,
               and_(c.first_responded_at.is_(None), c.first_response_due_at < now))
    if breached:
        query = query.where(running, late)
    if due_within_hours is not None:
        query = query.where(running, c.resolution_due_at >= now,
                            c.resolution_due_at < now + timedelta(hours=due_within_hours))
    query = query.order_by(c.resolution_due_at.is_(None), c.resolution_due_at, c.id)
    if limit:
        query = query.limit(limit)
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).mappings().all())
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame["number"] = frame["id"].map(case_number)
    is_running = frame["status"].isin(["new", "assigned", "in_progress"])
    first_late = frame["first_responded_at"].isna() & (frame["first_response_due_at"] < now)
    frame["breached"] = is_running & ((frame["resolution_due_at"] < now) | first_late)
    return frame[COLUMNS].reset_index(drop=True)


def list_cases_by_name(engine: Engine, *, owner: str | None = None, team: str | None = None,
                       customer: str | None = None, **filters) -> pd.DataFrame:
    """:func:`list_cases` with the owner, team and customer named as people name them."""
    from patronage.cases.inputs import customer_pk, team_id_of, user_id_of

    with engine.connect() as conn:
        owner_id = user_id_of(conn, owner) if owner else None
        team_ids = [team_id_of(conn, team)] if team else None
        pk = customer_pk(conn, customer) if customer else None
    return list_cases(engine, owner_id=owner_id, team_ids=team_ids, customer_pk=pk, **filters)


def case_text(detail: dict) -> str:
    """A case and its timeline as plain text (for the command line)."""
    head = [f"{detail['number']}  {detail['status']}  {detail['severity']}  {detail['subject']}",
            f"opened {detail['opened_at']:%Y-%m-%d %H:%M}"
            + (f", first response due {detail['first_response_due_at']:%Y-%m-%d %H:%M}"
               if detail["first_response_due_at"] else "")
            + (f", resolution due {detail['resolution_due_at']:%Y-%m-%d %H:%M}"
               if detail["resolution_due_at"] else "")]
    lines = [f"  {e['at']:%Y-%m-%d %H:%M}  {e['kind']:<12} {e['visibility']:<8} "
             f"{(e['body'] or '').replace(chr(10), ' ')[:100]}" for e in detail["events"]]
    return "\n".join(head + lines)


__all__ = ["COLUMNS", "case_text", "list_cases", "list_cases_by_name"]
