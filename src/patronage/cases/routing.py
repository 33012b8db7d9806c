"""Who gets a new case: the key account's owner, else the first matching assignment rule (a
team, an owner or both), with round-robin among the team's active members."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, or_, select, update

from patronage.storage.schema import customers, users
from patronage.storage.schema_cases import assignment_rules, team_members, teams

KEY_ACCOUNT_SIZES = ("key account", "key_account", "大客户", "大客戶", "重点客户", "重點客戶")


def is_key_account(customer: dict) -> bool:
    return str(customer.get("size") or "").strip().lower() in KEY_ACCOUNT_SIZES


def route(conn: Connection, customer_id: int, category: str | None,
          now: datetime) -> tuple[int | None, int | None]:
    """``(team_id, owner_id)`` for a new case of ``customer_id`` about ``category``."""
    customer = dict(conn.execute(select(customers.c.region, customers.c.size,
                                        customers.c.account_owner_id)
                                 .where(customers.c.id == customer_id)).mappings().one())
    key = is_key_account(customer)
    if key and customer["account_owner_id"] and _active(conn, customer["account_owner_id"]):
        return _team_of(conn, customer["account_owner_id"]), customer["account_owner_id"]
    r = assignment_rules.c
    rule = conn.execute(
        select(r.team_id, r.owner_id).where(
            r.active,
            or_(r.category.is_(None), r.category == category),
            or_(r.region.is_(None), r.region == customer["region"]),
            or_(r.key_account.is_(None), r.key_account == key),
        ).order_by(r.position, r.id).limit(1)).first()
    if rule is None:
        return None, None
    team_id, owner_id = rule
    if owner_id is not None and _active(conn, owner_id):
        return team_id if team_id is not None else _team_of(conn, owner_id), owner_id
    return team_id, next_in_rotation(conn, team_id, now) if team_id is not None else None


def next_in_rotation(conn: Connection, team_id: int, now: datetime) -> int | None:
    """The team's active member assigned longest ago (never assigned first), now marked."""
    m = team_members.c
    row = conn.execute(
        select(m.user_id).join(users, users.c.id == m.user_id)
        .where(m.team_id == team_id, users.c.is_active)
        .order_by(m.last_assigned_at.is_not(None), m.last_assigned_at, m.user_id).limit(1)).first()
    if row is None:
        return None
    conn.execute(update(team_members).where(and_(m.team_id == team_id, m.user_id == row[0]))
                 .values(last_assigned_at=now))
    return int(row[0])


def _active(conn: Connection, user_id: int) -> bool:
    return bool(conn.execute(select(users.c.is_active).where(users.c.id == user_id)).scalar())


def _team_of(conn: Connection, user_id: int) -> int | None:
    return conn.execute(select(team_members.c.team_id).where(team_members.c.user_id == user_id)
                        .order_by(team_members.c.team_id).limit(1)).scalar()


def team_people(conn: Connection, team_id: int | None) -> dict[str, int | None]:
    """The team's lead and manager, for escalations."""
    if team_id is None:
        return {"team_lead": None, "manager": None}
    row = conn.execute(select(teams.c.lead_id, teams.c.manager_id)
                       .where(teams.c.id == team_id)).first()
    return {"team_lead": row[0] if row else None, "manager": row[1] if row else None}


__all__ = ["KEY_ACCOUNT_SIZES", "is_key_account", "next_in_rotation", "route", "team_people"]
