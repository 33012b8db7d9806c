"""Service-level clocks: which policy covers a case, when its first response and resolution are
due in business time, pausing while the case waits for the customer, and reopening.

Policies match a case by severity and category (a NULL matches any); the most specific active
policy wins (category and severity, then category, then severity, then a catch-all). Due times
are computed with the :class:`~patronage.cases.calendar.BusinessCalendar` of the company's
working hours and days.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from patronage.cases.calendar import BusinessCalendar
from patronage.cases.config import DEFAULT, DeskConfig
from patronage.storage.schema_cases import business_days, sla_policies


def calendar(conn: Connection, config: DeskConfig = DEFAULT) -> BusinessCalendar:
    """The company's calendar: its working hours and time zone, with its own days from the
    database."""
    rows = conn.execute(select(business_days.c.day, business_days.c.is_workday)).all()
    return BusinessCalendar(config.hours, overrides={day: bool(work) for day, work in rows},
                            timezone=config.timezone)


def policy_for(conn: Connection, severity: str, category: str | None) -> dict[str, Any] | None:
    """The most specific active policy covering ``severity`` and ``category``, or None."""
    rows = conn.execute(select(sla_policies).where(sla_policies.c.active)).mappings().all()
    best, best_rank = None, -1
    for row in rows:
        if row["severity"] not in (None, severity) or row["category"] not in (None, category):
            continue
        rank = 2 * (row["category"] is not None) + (row["severity"] is not None)
        if rank > best_rank or (rank == best_rank and row["id"] < best["id"]):
            best, best_rank = dict(row), rank
    return best


def due_times(cal: BusinessCalendar, policy: dict | None, start: datetime) -> dict[str, Any]:
    """``first_response_due_at`` and ``resolution_due_at`` for a case starting at ``start``."""
    if policy is None:
        return {"sla_policy_id": None, "first_response_due_at": None, "resolution_due_at": None}
    minutes = timedelta(minutes=1)
    return {
        "sla_policy_id": policy["id"],
        "first_response_due_at": cal.add(start, policy["first_response_minutes"] * minutes),
        "resolution_due_at": cal.add(start, policy["resolution_minutes"] * minutes),
    }


def resumed(cal: BusinessCalendar, case: dict, now: datetime) -> dict[str, Any]:
    """The clocks of a case that stops waiting at ``now``: each open target keeps the business
    time it had left when the wait began."""
    since = case["waiting_since"]
    values: dict[str, Any] = {"waiting_since": None}
    if since is None:
        return values
    for column in ("first_response_due_at", "resolution_due_at"):
        due = case[column]
        if due is None or (column == "first_response_due_at" and case["first_responded_at"]):
            continue
        left = cal.between(since, due) if due > since else timedelta(0)
        values[column] = cal.add(now, left) if left > timedelta(0) else due
    return values


__all__ = ["calendar", "due_times", "policy_for", "resumed"]
