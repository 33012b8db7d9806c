"""What the care pages show: the agents' work lists, the call screen, the follow-up rules and
the care report, in the reader's language and the desk's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine, select

from patronage.care.outcomes import EFFECT_LABELS, list_outcomes, outcome_name
from patronage.care.report import care_report, last_completed
from patronage.care.rules import list_rules
from patronage.care.tasks import TYPE_LABELS, list_tasks, local_zone, may_see, task_of
from patronage.cases.records import case_number
from patronage.messages import N_
from patronage.reporting.case_desk import (
    STATUS_LABELS, local_time, relative_due, staff_choices, team_choices,
)
from patronage.reporting.complaints_page import TOUCHPOINT_LABELS
from patronage.storage.schema import (
    OPEN_CASE_STATUSES, TOUCHPOINT_KINDS, answers, cases, customers, responses, transactions,
    users,
)
from patronage.storage.schema_care import CARE_TRIGGERS, TASK_TYPES, contacts

TABS = {"today": N_("Today"), "overdue": N_("Overdue"), "team": N_("My team"),
        "all": N_("All open")}
TRIGGER_LABELS = {
    "purchase": N_("Days after a purchase"), "touchpoint": N_("After a touchpoint"),
    "case_resolved": N_("Days after a case is resolved"),
    "visit_due": N_("Key account not visited"), "alive_drop": N_("P(alive) fell below"),
}
TASK_STATUS_LABELS = {"open": N_("open"), "done": N_("done"), "cancelled": N_("cancelled")}
#: Below this many tasks a rate is flagged as a small sample.
SMALL_N = 30


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _row(task: dict, now: datetime, timezone: str | None, names: dict) -> dict:
    return {**task, "due_local": local_time(task["due_at"], timezone),
            "due_text": relative_due(task["due_at"], now) if task["overdue"] else None,
            "type_label": TYPE_LABELS[task["type"]],
            "outcome_name": names.get(task["outcome"]) if task["outcome"] else None,
            "assignee": task["assignee_name"] or task["assignee_email"]}


def work_list(engine: Engine, user: dict, tab: str, *, language: str,
              timezone: str | None, now: datetime | None = None) -> dict:
    """The ``tab`` list of ``user`` with the count of every tab."""
    now = now or _now()
    tab = tab if tab in TABS else "today"
    names = {o["code"]: outcome_name(o, language) for o in list_outcomes(engine)}
    counts, rows = {}, []
    for key in TABS:
        found = list_tasks(engine, due=key, user=user, now=now, timezone=timezone)
        counts[key] = len(found)
        if key == tab:
            rows = [_row(task, now, timezone, names) for task in found]
    return {"tab": tab, "tabs": list(TABS.items()), "counts": counts, "rows": rows,
            "limit": 500}


# -- the call screen -----------------------------------------------------------------------------

def _summary(conn, customer_id: int) -> dict:
    customer = dict(conn.execute(select(customers).where(customers.c.id == customer_id))
                    .mappings().one())
    x = transactions.c
    last = conn.execute(select(x.occurred_at, x.product, x.category, x.amount)
                        .where(x.customer_id == customer_id, x.is_refund.is_(False))
                        .order_by(x.occurred_at.desc()).limit(1)).mappings().first()
    nps = conn.execute(select(answers.c.value_num, responses.c.submitted_at)
                       .join(responses, responses.c.id == answers.c.response_id)
                       .where(responses.c.customer_id == customer_id,
                              answers.c.item_code == "nps", answers.c.value_num.is_not(None))
                       .order_by(responses.c.submitted_at.desc()).limit(1)).mappings().first()
    k = cases.c
    open_cases = [{"number": case_number(r.id), "subject": r.subject, "status": r.status}
                  for r in conn.execute(select(k.id, k.subject, k.status).where(
                      k.customer_id == customer_id, k.status.in_(OPEN_CASE_STATUSES))
                      .order_by(k.opened_at.desc()).limit(5))]
    preferences = customer.get("preferences") if isinstance(customer.get("preferences"),
                                                            dict) else {}
    return {"customer": customer, "last_purchase": dict(last) if last else None,
            "nps": dict(nps) if nps else None, "open_cases": open_cases,
            "do_not_call": bool(preferences.get("do_not_call"))}


def _history(conn, task_id: int, timezone: str | None, names: dict) -> list[dict]:
    v = contacts.c
    rows = conn.execute(select(v.at, v.outcome, v.body, v.case_id, v.channel,
                               users.c.display_name, users.c.email)
                        .outerjoin(users, users.c.id == v.user_id)
                        .where(v.task_id == task_id).order_by(v.at, v.id)).mappings()
    return [{"at": local_time(r["at"], timezone), "outcome": names.get(r["outcome"],
                                                                        r["outcome"]),
             "body": r["body"], "case": case_number(r["case_id"]) if r["case_id"] else None,
             "by": r["display_name"] or r["email"]} for r in rows]


def task_page(engine: Engine, task_id, user: dict, *, language: str, timezone: str | None,
              now: datetime | None = None) -> dict | None:
    """The call screen of a task ``user`` may see (None when it is not theirs to see);
    UserError when there is no such task."""
    now = now or _now()
    outcomes = list_outcomes(engine)
    names = {o["code"]: outcome_name(o, language) for o in outcomes}
    with engine.connect() as conn:
        task = task_of(conn, task_id)
        if not may_see(conn, user, task):
            return None
        shown = _summary(conn, task["customer_id"])
        history = _history(conn, task["id"], timezone, names)
        people = {r.id: r.display_name or r.email for r in conn.execute(
            select(users.c.id, users.c.display_name, users.c.email).where(
                users.c.id.in_([i for i in (task["assignee_id"], task["completed_by"]) if i])))}
    choices = [{"code": o["code"], "name": names[o["code"]], "effect": o["effect"]}
               for o in outcomes if o["active"]]
    return {**shown, "task": {
        **task, "due_local": local_time(task["due_at"], timezone),
        "overdue": task["status"] == "open" and task["due_at"] < now,
        "due_text": relative_due(task["due_at"], now) if task["status"] == "open" else None,
        "type_label": TYPE_LABELS[task["type"]], "status_label": TASK_STATUS_LABELS[task["status"]],
        "outcome_name": names.get(task["outcome"]) if task["outcome"] else None,
        "case": case_number(task["case_id"]) if task["case_id"] else None,
        "assignee": people.get(task["assignee_id"]),
        "completed_local": local_time(task["completed_at"], timezone)
        if task["completed_at"] else None},
        "history": history, "outcomes": choices, "case_labels": STATUS_LABELS}


def default_due(timezone: str | None, now: datetime | None = None) -> str:
    """Tomorrow 09:00 in the desk's time zone, as a ``datetime-local`` field's value."""
    tomorrow = (now or _now()).replace(tzinfo=UTC).astimezone(local_zone(timezone)) \
        + timedelta(days=1)
    return f"{tomorrow:%Y-%m-%d}T09:00"


def new_task_form(engine: Engine, customer: str) -> dict:
    """The hand-scheduling form's choices and the customer named by ``customer`` (their id as
    the company knows it), if any."""
    found = None
    if customer:
        with engine.connect() as conn:
            row = conn.execute(select(customers.c.id, customers.c.name, customers.c.external_id)
                               .where(customers.c.external_id == customer.strip())).first()
        found = dict(row._mapping) if row else None
    return {"customer": found, "types": [(t, TYPE_LABELS[t]) for t in TASK_TYPES],
            "staff": staff_choices(engine), "teams": team_choices(engine)}


# -- rules and report ----------------------------------------------------------------------------

def rules_page(engine: Engine, language: str) -> dict:
    """The rules, the outcome list and the form's choices."""
    outcomes = [{**o, "name": outcome_name(o, language),
                 "effect_label": EFFECT_LABELS[o["effect"]]} for o in list_outcomes(engine)]
    return {"rules": list_rules(engine), "outcomes": outcomes,
            "triggers": [(t, TRIGGER_LABELS[t]) for t in CARE_TRIGGERS],
            "trigger_labels": TRIGGER_LABELS, "effects": list(EFFECT_LABELS.items()),
            "kinds": [(k, TOUCHPOINT_LABELS.get(k, k)) for k in TOUCHPOINT_KINDS],
            "kind_labels": TOUCHPOINT_LABELS,
            "types": [(t, TYPE_LABELS[t]) for t in TASK_TYPES], "type_labels": TYPE_LABELS,
            "staff": staff_choices(engine), "teams": team_choices(engine)}


def _mix_text(mix, names: dict) -> dict:
    out: dict = {}
    for row in mix.itertuples(index=False):
        out.setdefault((row.team, row.week), []).append(
            {"name": names.get(row.outcome, row.outcome), "n": int(row.n), "share": row.share})
    return out


def _records(frame) -> list[dict]:
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict(orient="records")


def report_page(engine: Engine, *, language: str, timezone: str | None, weeks: int = 12,
                now: datetime | None = None, until: date | None = None) -> dict:
    """The care report: per week over all teams, then per team and week with the outcome mix.

    The weeks end at ``until``'s week; by default this week, or, when no task was completed in
    these weeks, the week a task was last completed (an imported history, the demo), so the
    page does not open empty; ``moved`` then says so."""
    moved = None
    if until is not None:
        now = datetime.combine(until, time(12))
    else:
        latest = last_completed(engine)
        window = care_report(engine, weeks=weeks, now=now, timezone=timezone)
        if latest is not None and latest.date() < window["since"]:
            now, moved = latest, latest.date()
    report = care_report(engine, weeks=weeks, now=now, timezone=timezone)
    names = {code: outcome_name(o, language) for code, o in report["outcomes"].items()}
    mix = _mix_text(report["mix"], names)
    weekly_mix = _mix_text(report["mix"].assign(team="").groupby(
        ["team", "week", "outcome"], as_index=False)["n"].sum().pipe(
            lambda f: f.assign(share=f["n"] / f.groupby("week")["n"].transform("sum"))),
        names) if not report["mix"].empty else {}
    rates = _records(report["rates"].sort_values(["week", "team"], ascending=[False, True]))
    weekly = _records(report["weekly"].sort_values("week", ascending=False))
    for row in rates:
        row["mix"] = mix.get((row["team"], row["week"]), [])
    for row in weekly:
        row["mix"] = weekly_mix.get(("", row["week"]), [])
    return {"rates": rates, "weekly": weekly, "since": report["since"], "until": report["until"],
            "weeks": report["weeks"], "tasks": report["tasks"], "small_n": SMALL_N,
            "moved": moved}


__all__ = ["TABS", "TASK_STATUS_LABELS", "TRIGGER_LABELS", "default_due", "new_task_form",
           "report_page", "rules_page", "task_page", "work_list"]
