"""Care tasks: a call, visit or message due for one customer, made by a rule, an occasion, a
campaign or an agent.

:func:`create_task` is the one way a task is made. A task with a ``source_key`` (what made it:
``"rule:3:transaction:991"``) is made at most once: the key is unique in the database, so two
workers racing on the same event make one task between them.

:func:`schedule_followups` schedules tasks by hand for a selection of customers (a list page, the
profile's "Schedule a follow-up"); :func:`complete_task` records what came of a task (see
:mod:`patronage.care.outcomes`); the work lists are read by :func:`list_tasks`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine, and_, false, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from patronage.care.contacts import log_contact
from patronage.care.outcomes import ensure_defaults, outcome_of
from patronage.cases.config import DEFAULT, DeskConfig
from patronage.cases.desk import NewCase, case_values, open_on
from patronage.cases.inputs import customer_pk, team_id_of, user_id_of
from patronage.cases.records import case_id_of
from patronage.cases.routing import next_in_rotation
from patronage.messages import N_, Term, UserError
from patronage.storage import write_transaction
from patronage.storage.schema import customers, users
from patronage.storage.schema_care import TASK_TYPES, care_tasks
from patronage.storage.schema_cases import team_members, teams

#: Which tasks each work list shows (see :func:`list_tasks`).
DUE_CHOICES = ("today", "overdue", "week", "team", "all")
TYPE_LABELS = {"call": N_("call"), "visit": N_("visit"), "message": N_("message")}


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


def do_not_call(preferences) -> bool:
    """Has the customer asked not to be called (``preferences["do_not_call"]``)?"""
    return isinstance(preferences, dict) and bool(preferences.get("do_not_call"))


def _check_people(conn: Connection, assignee_id: int | None, team_id: int | None) -> None:
    if assignee_id is not None and not conn.execute(
            select(users.c.id).where(users.c.id == assignee_id, users.c.is_active)).first():
        raise UserError(N_("There is no active staff member {user!r}."), user=str(assignee_id))
    if team_id is not None and not conn.execute(
            select(teams.c.id).where(teams.c.id == team_id)).first():
        raise UserError(N_("There is no team {team!r}."), team=str(team_id))


def schedule_followups(engine: Engine, customer_ids, type: str, due_at: datetime, subject: str,
                       assignee_id: int | None = None, team_id: int | None = None,
                       by: int | None = None, *, note: str | None = None,
                       source: str | None = None, now: datetime | None = None) -> list[int]:
    """Schedule a follow-up task for each customer of ``customer_ids`` (database ids) in one
    write transaction; returns the new tasks' ids.

    A team without an assignee hands the tasks round-robin to its active members. Customers who
    asked not to be called get no call task (they are left out of the result). With ``source``
    (a selection's key, a campaign's code) each customer gets one task per source however often
    it is submitted. ``note`` is shown to the agent with the task.
    """
    if type not in TASK_TYPES:
        raise UserError(N_("The {field} must be one of {allowed}; not {value!r}."),
                        field=Term(N_("task type")), allowed=", ".join(TASK_TYPES),
                        value=str(type)[:40])
    subject = (subject or "").strip()
    if not subject:
        raise UserError(N_("The {field} is required."), field=Term(N_("subject")))
    if not isinstance(due_at, datetime):
        raise UserError(N_("The {field} is required."), field=Term(N_("due date")))
    now = now or _now()
    ids = sorted({int(i) for i in customer_ids})
    made: list[int] = []
    with write_transaction(engine) as conn:
        _check_people(conn, assignee_id, team_id)
        rows = conn.execute(select(customers.c.id, customers.c.preferences)
                            .where(customers.c.id.in_(ids))).all() if ids else []
        found = {row[0]: row[1] for row in rows}
        for customer_id in ids:
            if customer_id not in found:
                raise UserError(N_("There is no customer {customer!r}; check the customer id."),
                                customer=str(customer_id))
            if type == "call" and do_not_call(found[customer_id]):
                continue
            assignee = assignee_id
            if assignee is None and team_id is not None:
                assignee = next_in_rotation(conn, team_id, now)
            task_id = create_task(
                conn, customer_id=customer_id, subject=subject, due_at=due_at, type=type,
                script=(note or "").strip() or None, team_id=team_id, assignee_id=assignee,
                source_key=f"{source}:{customer_id}"[:160] if source else None,
                created_by=by, now=now)
            if task_id is not None:
                made.append(int(task_id))
    return made


def parse_due(text, timezone: str | None) -> datetime:
    """A due time typed by a person (``2026-06-03``, ``2026-06-03 14:30``, ``2026-06-03T14:30``)
    in ``timezone``, as naive UTC; a date alone is 09:00 that day."""
    value = str(text or "").strip().replace("T", " ")
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            local = datetime.strptime(value, pattern)
        except ValueError:
            continue
        if pattern == "%Y-%m-%d":
            local = local.replace(hour=9)
        return (local.replace(tzinfo=local_zone(timezone)).astimezone(UTC)
                .replace(tzinfo=None))
    raise UserError(N_("The due date {value!r} is not a date; write it as 2026-06-03 or "
                       "2026-06-03 14:30."), value=value[:40])


def schedule_by_name(engine: Engine, *, customers: list[str], type: str, due, subject: str,
                     assignee: str | int | None = None, team: str | None = None,
                     note: str | None = None, by: int | None = None,
                     timezone: str | None = None, now: datetime | None = None) -> list[int]:
    """:func:`schedule_followups` for customers by their ids as the company knows them, the
    assignee by e-mail (or id), the team by name and the due time as typed (in ``timezone``)."""
    due_at = due if isinstance(due, datetime) else parse_due(due, timezone)
    if not [c for c in customers if str(c).strip()]:
        raise UserError(N_("The {field} is required."), field=Term(N_("customer")))
    with engine.connect() as conn:
        ids = [customer_pk(conn, c) for c in customers if str(c).strip()]
        assignee_id, team_id = user_id_of(conn, assignee), team_id_of(conn, team)
    return schedule_followups(engine, ids, type, due_at, subject, assignee_id, team_id, by,
                              note=note, now=now)


# -- reading the work lists ----------------------------------------------------------------------

def local_zone(timezone: str | None):
    try:
        return ZoneInfo(timezone) if timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def day_bounds(now: datetime, timezone: str | None, days: int = 1) -> tuple[datetime, datetime]:
    """The start of today and of the day ``days`` later in ``timezone``, as naive UTC."""
    zone = local_zone(timezone)
    local = now.replace(tzinfo=UTC).astimezone(zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=days)
    return (start.astimezone(UTC).replace(tzinfo=None),
            end.astimezone(UTC).replace(tzinfo=None))


def teams_of(conn: Connection, user_id: int) -> list[int]:
    return list(conn.execute(select(team_members.c.team_id)
                             .where(team_members.c.user_id == user_id)).scalars())


def _visible(t, user: dict | None, my_teams: list[int]):
    """Tasks ``user`` may see: an admin all, anyone else theirs and their teams'."""
    if user is None or user.get("role") == "admin":
        return None
    return or_(t.assignee_id == user["id"],
               t.team_id.in_(my_teams) if my_teams else false())


def list_tasks(engine: Engine, *, due: str = "today", user: dict | None = None,
               assignee_id: int | None = None, team_id: int | None = None,
               now: datetime | None = None, timezone: str | None = None,
               limit: int = 500) -> list[dict]:
    """Open tasks, soonest due first.

    ``due``: ``today`` (due today in ``timezone``), ``overdue`` (due before today), ``week``
    (due before the end of the seventh day from today, overdue ones included), ``team`` (every
    open task of ``user``'s teams), ``all``. ``user`` (a staff member's row) limits the list to
    what they may see; in the ``today`` and ``overdue`` lists to their own tasks and their
    teams' unassigned ones.
    """
    if due not in DUE_CHOICES:
        raise UserError(N_("The {field} must be one of {allowed}; not {value!r}."),
                        field=Term(N_("due")), allowed=", ".join(DUE_CHOICES),
                        value=str(due)[:40])
    now = now or _now()
    t, c, u, tm = care_tasks.c, customers.c, users.c, teams.c
    start, end = day_bounds(now, timezone)
    conditions = [t.status == "open"]
    if due == "today":
        conditions += [t.due_at >= start, t.due_at < end]
    elif due == "overdue":
        conditions.append(t.due_at < start)
    elif due == "week":
        conditions.append(t.due_at < day_bounds(now, timezone, 7)[1])
    if assignee_id is not None:
        conditions.append(t.assignee_id == assignee_id)
    if team_id is not None:
        conditions.append(t.team_id == team_id)
    query = (select(t.id, t.customer_id, t.type, t.subject, t.due_at, t.attempts, t.outcome,
                    t.assignee_id, t.team_id, t.rule_id, t.campaign_id, t.case_id,
                    c.external_id.label("customer"), c.name.label("customer_name"),
                    c.phone, c.tier, u.email.label("assignee_email"),
                    u.display_name.label("assignee_name"), tm.name.label("team"))
             .join(customers, customers.c.id == t.customer_id)
             .outerjoin(users, users.c.id == t.assignee_id)
             .outerjoin(teams, teams.c.id == t.team_id))
    with engine.connect() as conn:
        my_teams = teams_of(conn, user["id"]) if user else []
        seen = _visible(t, user, my_teams)
        if seen is not None:
            if due in ("today", "overdue"):
                seen = or_(t.assignee_id == user["id"],
                           and_(t.assignee_id.is_(None), t.team_id.in_(my_teams))
                           if my_teams else false())
            conditions.append(seen)
        if due == "team" and user is not None:
            conditions.append(t.team_id.in_(my_teams) if my_teams else false())
        rows = conn.execute(query.where(*conditions).order_by(t.due_at, t.id).limit(limit))
        found = [dict(row) for row in rows.mappings()]
    for row in found:
        row["overdue"] = row["due_at"] < now
    return found


def find_tasks(engine: Engine, *, due: str = "today", assignee: str | None = None,
               team: str | None = None, now: datetime | None = None,
               timezone: str | None = None) -> list[dict]:
    """:func:`list_tasks` with the assignee by e-mail and the team by name (the command line)."""
    with engine.connect() as conn:
        assignee_id, team_id = user_id_of(conn, assignee), team_id_of(conn, team)
    return list_tasks(engine, due="all" if due == "team" else due, assignee_id=assignee_id,
                      team_id=team_id, now=now, timezone=timezone)


def user_by_email(engine: Engine, email: str | None) -> int | None:
    """The id of the active staff member ``email`` (None for None); UserError when unknown."""
    with engine.connect() as conn:
        return user_id_of(conn, email)


def open_today_count(engine: Engine, user_id: int, *, now: datetime | None = None,
                     timezone: str | None = None) -> int:
    """How many open tasks assigned to ``user_id`` are due by the end of today (the menu's
    badge)."""
    end = day_bounds(now or _now(), timezone)[1]
    t = care_tasks.c
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(care_tasks).where(
            t.status == "open", t.assignee_id == user_id, t.due_at < end)).scalar() or 0)


def task_of(conn: Connection, task_id, *, for_update: bool = False) -> dict:
    """The task's row; UserError when there is none."""
    try:
        number = int(str(task_id).strip().lstrip("#"))
    except ValueError:
        number = -1
    query = select(care_tasks).where(care_tasks.c.id == number)
    if for_update and conn.dialect.name != "sqlite":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise UserError(N_("There is no task {task}; check the task number."),
                        task=str(task_id)[:20])
    return dict(row)


def _touchpoint_of(source_key: str | None) -> int | None:
    """The touchpoint a rule's follow-up call was made for (``rule:{id}:touchpoint:{id}``)."""
    parts = (source_key or "").split(":")
    return int(parts[3]) if len(parts) == 4 and parts[2] == "touchpoint" and \
        parts[3].isdigit() else None


def may_see(conn: Connection, user: dict, task: dict) -> bool:
    if user.get("role") == "admin" or task["assignee_id"] == user["id"]:
        return True
    return task["team_id"] is not None and task["team_id"] in teams_of(conn, user["id"])


def cancel_task(engine: Engine, task_id, *, by: int | None = None, note: str | None = None,
                now: datetime | None = None) -> int:
    """Cancel an open task; returns its id."""
    now = now or _now()
    with write_transaction(engine) as conn:
        task = task_of(conn, task_id, for_update=True)
        if task["status"] != "open":
            raise UserError(N_("Task {task} is closed already."), task=task["id"])
        conn.execute(update(care_tasks).where(care_tasks.c.id == task["id"]).values(
            status="cancelled", completed_by=by, completed_at=now,
            note=(note or "").strip() or task["note"]))
    return task["id"]


# -- completing a task ---------------------------------------------------------------------------

#: How a task of each type reaches the customer (the contact logged when it is done).
CHANNEL_OF = {"call": "phone", "visit": "visit", "message": "sms"}
CASE_CHANNEL_OF = {"call": "phone", "visit": "agent", "message": "agent"}


def complete_task(engine: Engine, task_id, outcome: str, *, note: str | None = None,
                  by: int | None = None, user: dict | None = None, now: datetime | None = None,
                  config: DeskConfig = DEFAULT) -> dict:
    """Record one attempt at an open task with ``outcome`` and what it does (see
    :mod:`patronage.care.outcomes`), logging the contact; all in one write transaction.

    Returns ``{"task", "status", "outcome", "effect", "attempts", "due_at", "case"}``: the
    task's status after it, when it is due again (a retry) and the number of the case opened.
    ``user`` (a staff member's row) must be allowed to see the task.
    """
    now = now or _now()
    note = (note or "").strip()[:20_000] or None
    with write_transaction(engine) as conn:
        ensure_defaults(conn)
        task = task_of(conn, task_id, for_update=True)
        if user is not None and not may_see(conn, user, task):
            raise UserError(N_("There is no task {task}; check the task number."),
                            task=str(task_id)[:20])
        if task["status"] != "open":
            raise UserError(N_("Task {task} is closed already."), task=task["id"])
        found = outcome_of(conn, outcome)
        attempts, effect = task["attempts"] + 1, found["effect"]
        values = {"attempts": attempts, "outcome": found["code"], "note": note or task["note"]}
        closed = {"status": "done", "completed_by": by, "completed_at": now}
        case_number = None
        if effect == "retry" and attempts < (found["max_attempts"] or 3):
            values["due_at"] = now + timedelta(hours=found["retry_after_hours"] or 4)
        else:
            values.update(closed)
        if effect == "open_case":
            new = NewCase(customer=None, customer_pk=task["customer_id"],
                          subject=task["subject"], description=note, type="complaint",
                          channel=CASE_CHANNEL_OF[task["type"]],
                          touchpoint_pk=_touchpoint_of(task["source_key"]),
                          extra={"care_task": task["id"]})
            case_number = open_on(conn, new, case_values(new), by=by, now=now, config=config)
            values["case_id"] = case_id_of(case_number)
        if effect == "do_not_call":
            _stop_calls(conn, task, by, now)
        conn.execute(update(care_tasks).where(care_tasks.c.id == task["id"]).values(**values))
        log_contact(conn, customer_id=task["customer_id"], channel=CHANNEL_OF[task["type"]],
                    kind=task["type"], user_id=by, at=now, outcome=found["code"],
                    subject=task["subject"], body=note, task_id=task["id"],
                    case_id=values.get("case_id"), campaign_id=task["campaign_id"], now=now)
    return {"task": task["id"], "status": values.get("status", "open"),
            "outcome": found["code"], "effect": effect, "attempts": attempts,
            "due_at": values.get("due_at"), "case": case_number}


def _stop_calls(conn: Connection, task: dict, by: int | None, now: datetime) -> None:
    """The customer asked not to be called: say so on the profile and cancel the other calls."""
    preferences = conn.execute(select(customers.c.preferences)
                               .where(customers.c.id == task["customer_id"])).scalar()
    preferences = dict(preferences) if isinstance(preferences, dict) else {}
    preferences["do_not_call"] = True
    conn.execute(update(customers).where(customers.c.id == task["customer_id"])
                 .values(preferences=preferences, updated_at=now))
    t = care_tasks.c
    conn.execute(update(care_tasks).where(
        t.customer_id == task["customer_id"], t.status == "open", t.type == "call",
        t.id != task["id"]).values(status="cancelled", outcome="do_not_call",
                                   completed_by=by, completed_at=now))


__all__ = ["CHANNEL_OF", "DUE_CHOICES", "TYPE_LABELS", "cancel_task", "complete_task",
           "create_task", "day_bounds", "find_tasks", "parse_due",
           "schedule_by_name", "user_by_email",
           "do_not_call", "list_tasks", "local_zone", "may_see", "open_today_count",
           "schedule_followups", "task_of", "teams_of"]
