"""The agent's view (``/my``): the signed-in staff member's own work on one screen.

- their open cases (the case list's "My cases" tab), overdue first, then by when they are due;
- care tasks due today and overdue (the Care page's "Today" and "Overdue" lists), and the
  follow-ups due in the coming week;
- "my customers": the accounts they look after (``account_owner_id``) and the customers of
  their open cases and tasks, each linking to the profile.

Everything is read at the visit (a few indexed queries): the list must be right the moment a
case is assigned. An admin sees every task on the Care page; here, as everyone, their own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from patronage.care.tasks import TYPE_LABELS, day_bounds, list_tasks
from patronage.cases.inputs import now_utc
from patronage.messages import N_
from patronage.reporting.case_desk import local_time, queue, relative_due
from patronage.storage.schema import customers

#: How many days ahead the follow-ups reach.
FOLLOW_UP_DAYS = 7
#: Most customers listed under "my customers".
CUSTOMER_LIMIT = 200
WHY = {"account": N_("Account I look after"), "case": N_("Open case"),
       "task": N_("Care task")}


def _task_row(task: dict, now: datetime, timezone: str | None) -> dict:
    return {"id": task["id"], "customer_pk": task["customer_id"],
            "customer": task["customer_name"], "tier": task["tier"], "subject": task["subject"],
            "type": task["type"], "type_label": TYPE_LABELS[task["type"]],
            "due_local": local_time(task["due_at"], timezone), "overdue": task["overdue"],
            "due_text": relative_due(task["due_at"], now) if task["overdue"] else None,
            "case_id": task["case_id"]}


def my_cases(engine: Engine, user: dict, *, now: datetime, timezone: str | None) -> list[dict]:
    """The user's open cases as the "My cases" tab shows them: past their service level first,
    then by the time their resolution is due (none last)."""
    rows = queue(engine, user, "mine", {}, timezone=timezone, now=now)["rows"]
    order = {"breached": 0, "soon": 1, "ok": 2, "paused": 3}
    return sorted(rows, key=lambda r: order.get(r["state"], 4))  # stable: due order kept


def my_tasks(engine: Engine, user: dict, *, now: datetime, timezone: str | None) -> dict:
    """Open care tasks: ``overdue``, ``today`` (as the Care page lists them for an agent:
    their own and their teams' unassigned ones) and ``coming`` (due in the next
    :data:`FOLLOW_UP_DAYS` days after today)."""
    own = {"assignee_id": user["id"]} if user["role"] == "admin" else {}
    found = {due: list_tasks(engine, due=due, user=user, now=now, timezone=timezone, **own)
             for due in ("overdue", "today")}
    tomorrow = day_bounds(now, timezone)[1]
    later = day_bounds(now, timezone, FOLLOW_UP_DAYS + 1)[1]
    week = list_tasks(engine, due="week", user=user, now=now, timezone=timezone,
                      assignee_id=user["id"])
    found["coming"] = [t for t in week if tomorrow <= t["due_at"] < later]
    return {key: [_task_row(t, now, timezone) for t in tasks] for key, tasks in found.items()}


def my_customers(engine: Engine, user: dict, cases: list[dict], tasks: dict) -> dict:
    """The accounts the user looks after, then the customers of their open cases and tasks,
    each once with why it is listed; ``total`` counts them all."""
    c = customers.c
    with engine.connect() as conn:
        accounts = conn.execute(select(c.id, c.name, c.external_id, c.tier)
                                .where(c.account_owner_id == user["id"])
                                .order_by(c.name, c.id)).mappings().all()
    listed: dict[int, dict] = {}
    for row in accounts:
        listed[row["id"]] = {"pk": row["id"], "name": row["name"], "id": row["external_id"],
                             "tier": row["tier"], "why": [WHY["account"]]}
    for case in cases:
        entry = listed.setdefault(int(case["customer_pk"]), {
            "pk": int(case["customer_pk"]), "name": case["customer"],
            "id": case["customer_id"], "tier": None, "why": []})
        if WHY["case"] not in entry["why"]:
            entry["why"].append(WHY["case"])
    for task in [t for key in ("overdue", "today", "coming") for t in tasks[key]]:
        entry = listed.setdefault(int(task["customer_pk"]), {
            "pk": int(task["customer_pk"]), "name": task["customer"], "id": None,
            "tier": task["tier"], "why": []})
        if WHY["task"] not in entry["why"]:
            entry["why"].append(WHY["task"])
    rows = list(listed.values())
    return {"rows": rows[:CUSTOMER_LIMIT], "total": len(rows), "accounts": len(accounts)}


def my_work(engine: Engine, user: dict, *, timezone: str | None,
            now: datetime | None = None) -> dict:
    """Everything the view shows for ``user``."""
    now = now or now_utc()
    cases = my_cases(engine, user, now=now, timezone=timezone)
    tasks = my_tasks(engine, user, now=now, timezone=timezone)
    return {"cases": cases, "overdue_cases": sum(r["state"] == "breached" for r in cases),
            "tasks": tasks, "customers": my_customers(engine, user, cases, tasks)}


__all__ = ["FOLLOW_UP_DAYS", "my_cases", "my_customers", "my_tasks", "my_work"]
