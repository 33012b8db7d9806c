"""What the case desk's pages show: work queues with their tabs and filters, a case with its
clocks and timeline in words, the choices of the forms, and who may see which case.

Labels are English messages marked with :func:`N_`; the pages translate them. Times are stored
in naive UTC and shown in the desk's time zone; due times also read as relative text
("due in 2 hours", "3 hours overdue").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select

from patronage.cases.desk import TRANSITIONS, case_detail
from patronage.cases.inputs import now_utc
from patronage.cases.queues import list_cases
from patronage.cases.records import case_number
from patronage.cases.rules import list_rules
from patronage.messages import N_, Term, UserError
from patronage.reporting.formats import money
from patronage.storage.schema import (
    CASE_SEVERITIES, CASE_STATUSES, CASE_TYPES, OPEN_CASE_STATUSES, cases,
    customers, surveys, touchpoints, users,
)
from patronage.storage.schema_cases import case_categories, team_members, teams

STATUS_LABELS = {"new": N_("New"), "assigned": N_("Assigned"), "in_progress": N_("In progress"),
                 "waiting": N_("Waiting for customer"), "resolved": N_("Resolved"),
                 "closed": N_("Closed")}
SEVERITY_LABELS = {"low": N_("Low"), "normal": N_("Normal"), "high": N_("High"),
                   "urgent": N_("Urgent")}
TYPE_LABELS = {"complaint": N_("Complaint"), "inquiry": N_("Inquiry"),
               "detractor": N_("Detractor follow-up"), "negative_comment": N_("Negative comment")}
CHANNEL_LABELS = {"agent": N_("Desk entry"), "phone": N_("Phone call"), "email": N_("E-mail"),
                  "web": N_("Website"), "import": N_("Import"), "api": N_("API"),
                  "survey": N_("Survey answer"), "system": N_("System")}
#: Channels a person at the desk may choose when opening a case by hand.
DESK_CHANNELS = ("agent", "phone", "email", "web")
#: The status steps of the case page: target status → the button's label.
STEPS = {"in_progress": N_("Start work"), "waiting": N_("Wait for the customer"),
         "resolved": N_("Resolve"), "closed": N_("Close")}
EVENT_LABELS = {
    "opened": N_("Opened the case"), "assigned": N_("Assigned"), "status": N_("Changed the status"),
    "note": N_("Internal note"), "reply": N_("Reply to the customer"), "field": N_("Changed a field"),
    "remedy": N_("Remedy"), "approval": N_("Approval"), "sla_warning": N_("Service level warning"),
    "sla_breach": N_("Service level breached"), "escalated": N_("Escalated"),
    "survey_sent": N_("Follow-up survey sent"), "survey_answer": N_("Follow-up survey answered"),
    "reopened": N_("Reopened"),
}
REMEDY_LABELS = {"apology": N_("Apology"), "repair": N_("Repair"),
                 "replacement": N_("Replacement"), "refund": N_("Refund"),
                 "compensation": N_("Compensation"), "goodwill_points": N_("Goodwill points")}
REMEDY_STATUS_LABELS = {"approved": N_("Approved"), "pending": N_("Waiting for approval"),
                        "rejected": N_("Rejected")}
TABS = {"mine": N_("My cases"), "team": N_("My teams"), "due_soon": N_("Due soon"),
        "breached": N_("Breached"), "unassigned": N_("Unassigned"), "all": N_("All")}
#: Tabs only analysts and admins get (agents see their teams' cases and their own).
WIDE_TABS = ("all",)
WIDE_ROLES = ("admin", "analyst")
#: A running case whose resolution is due within this many hours is "due soon".
DUE_SOON_HOURS = 4
NAME_COLUMN = {"en": "name_en", "zh_Hans": "name_zh_hans", "zh_Hant": "name_zh_hant"}


# -- times ---------------------------------------------------------------------------------------

def local_time(value, timezone: str | None) -> str:
    """A stored (naive UTC) time as ``YYYY-MM-DD HH:MM`` in the desk's time zone."""
    if value is None or value != value:
        return "–"
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if timezone:
        value = value.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))
    return value.strftime("%Y-%m-%d %H:%M")


def relative_due(due, now: datetime) -> UserError | None:
    """When ``due`` falls relative to ``now`` as a message (pages show it with ``say``)."""
    if due is None or due != due:
        return None
    if hasattr(due, "to_pydatetime"):
        due = due.to_pydatetime()
    delta = due - now
    late, span = delta < timedelta(0), abs(delta)
    if span < timedelta(hours=1):
        amount, unit = max(1, int(span.total_seconds() // 60)), "minutes"
    elif span < timedelta(hours=48):
        amount, unit = int(span.total_seconds() // 3600), "hours"
    else:
        amount, unit = int(span.days), "days"
    messages = {
        (False, "minutes"): N_("due in {n} min"), (True, "minutes"): N_("{n} min overdue"),
        (False, "hours"): N_("due in {n} h"), (True, "hours"): N_("{n} h overdue"),
        (False, "days"): N_("due in {n} days"), (True, "days"): N_("{n} days overdue"),
    }
    return UserError(messages[(late, unit)], n=amount)


def clock_state(status: str, due, now: datetime, breached: bool | None = None) -> str:
    """``done``, ``paused`` (waiting for the customer), ``breached``, ``soon`` or ``ok``."""
    if status not in OPEN_CASE_STATUSES:
        return "done"
    if status == "waiting":
        return "paused"
    if due is None or due != due:
        return "breached" if breached else "ok"
    if breached or due < now:
        return "breached"
    return "soon" if due < now + timedelta(hours=DUE_SOON_HOURS) else "ok"


# -- who sees what -------------------------------------------------------------------------------

def team_ids_of(engine: Engine, user_id: int) -> list[int]:
    with engine.connect() as conn:
        return [int(t) for t in conn.execute(select(team_members.c.team_id)
                                             .where(team_members.c.user_id == user_id)).scalars()]


def may_see(engine: Engine, user: dict, case: dict) -> bool:
    """Analysts and admins see every case; an agent their own and their teams' cases."""
    if user["role"] in WIDE_ROLES or case.get("owner_id") == user["id"]:
        return True
    return case.get("team_id") is not None and case["team_id"] in team_ids_of(engine, user["id"])


def open_count(engine: Engine, user_id: int) -> int:
    """How many open cases the staff member owns (the menu's badge)."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(cases).where(
            cases.c.owner_id == user_id, cases.c.status.in_(OPEN_CASE_STATUSES))).scalar() or 0)


# -- choices -------------------------------------------------------------------------------------

def staff_choices(engine: Engine) -> list[dict]:
    """Active staff as ``{id, email, name}`` for the owner fields."""
    u = users.c
    with engine.connect() as conn:
        rows = conn.execute(select(u.id, u.email, u.display_name).where(u.is_active)
                            .order_by(u.email)).all()
    return [{"id": r.id, "email": r.email, "name": r.display_name or r.email} for r in rows]


def team_choices(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(teams.c.id, teams.c.name).order_by(teams.c.name)).all()
    return [{"id": r.id, "name": r.name} for r in rows]


def category_choices(engine: Engine, language: str) -> list[dict]:
    """Active categories as a tree in order: ``{code, name, depth}`` in the reader's language."""
    column = NAME_COLUMN.get(language, "name_en")
    k = case_categories.c
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(
            select(k.code, k.parent_code, k[column].label("name")).where(k.active)
            .order_by(k.position, k.code)).mappings()]
    children: dict = {}
    for row in rows:
        children.setdefault(row["parent_code"], []).append(row)
    known = {row["code"] for row in rows}
    out: list[dict] = []

    def walk(parent, depth):
        for row in children.get(parent, []):
            out.append({"code": row["code"], "name": row["name"], "depth": depth})
            if depth < 10:
                walk(row["code"], depth + 1)

    walk(None, 0)
    for row in rows:  # a child whose parent is switched off still shows
        if row["parent_code"] is not None and row["parent_code"] not in known:
            out.append({"code": row["code"], "name": row["name"], "depth": 0})
    return out


def category_names(engine: Engine, language: str) -> dict[str, str]:
    column = NAME_COLUMN.get(language, "name_en")
    with engine.connect() as conn:
        return dict(conn.execute(select(case_categories.c.code, case_categories.c[column])).all())


def form_choices(engine: Engine, language: str) -> dict:
    """Everything the new-case and filter forms offer."""
    return {"types": CASE_TYPES, "severities": CASE_SEVERITIES, "statuses": CASE_STATUSES,
            "channels": DESK_CHANNELS, "categories": category_choices(engine, language),
            "staff": staff_choices(engine), "teams": team_choices(engine)}


# -- the queue -----------------------------------------------------------------------------------

def tabs_for(role: str) -> list[tuple[str, str]]:
    return [(key, label) for key, label in TABS.items()
            if role in WIDE_ROLES or key not in WIDE_TABS]


def queue(engine: Engine, user: dict, tab: str, filters: dict, *, timezone: str | None,
          now: datetime | None = None, hours: float = DUE_SOON_HOURS) -> dict:
    """The rows of one tab for ``user`` with ``filters`` (status, severity, category, team,
    owner, q), each row ready to show."""
    now = now or now_utc()
    tab = tab if tab in dict(tabs_for(user["role"])) else "mine"
    status = filters.get("status") or ("all" if tab == "all" else "open")
    if status not in ("open", "all", *CASE_STATUSES):
        status = "open"
    query = {"status": status, "severity": _known(filters.get("severity"), CASE_SEVERITIES),
             "category": filters.get("category") or None, "search": filters.get("q") or None,
             "now": now}
    if user["role"] not in WIDE_ROLES:
        query["visible_to"] = user["id"]
    team, owner = _int(filters.get("team")), _int(filters.get("owner"))
    if team is not None:
        query["team_ids"] = [team]
    if owner is not None:
        query["owner_id"] = owner
    query.update({"mine": {"owner_id": user["id"]},
                  "team": {"team_ids": [team] if team is not None
                           else team_ids_of(engine, user["id"])},
                  "due_soon": {"due_within_hours": hours}, "breached": {"breached": True},
                  "unassigned": {"unassigned": True}}.get(tab, {}))
    frame = list_cases(engine, **query)
    names = {s["email"]: s["name"] for s in staff_choices(engine)}
    rows = [_row(record, now, timezone, names) for record in frame.to_dict(orient="records")]
    return {"tab": tab, "status": status, "rows": rows, "n": len(rows), "limit": 500}


def _row(record: dict, now: datetime, timezone: str | None, names: dict) -> dict:
    due = record["resolution_due_at"]
    first_due = record["first_response_due_at"]
    state = clock_state(record["status"], due, now, bool(record["breached"]))
    shown_due = due if due == due and due is not None else first_due
    return {**record, "owner_name": names.get(record["owner"], record["owner"])
            if record["owner"] == record["owner"] else None,
            "team": record["team"] if record["team"] == record["team"] else None,
            "state": state, "due_local": local_time(shown_due, timezone),
            "due_text": relative_due(shown_due, now) if state in ("ok", "soon", "breached")
            else None}


def _known(value, allowed):
    return value if value in allowed else None


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# -- one case ------------------------------------------------------------------------------------

def case_page(engine: Engine, number, *, language: str, timezone: str | None,
              now: datetime | None = None) -> dict:
    """The case with its customer, people, clocks, allowed steps and timeline."""
    now = now or now_utc()
    case = case_detail(engine, number)
    with engine.connect() as conn:
        customer = dict(conn.execute(select(customers).where(
            customers.c.id == case["customer_id"])).mappings().one())
        people = {r.id: r.display_name or r.email for r in conn.execute(
            select(users.c.id, users.c.email, users.c.display_name))}
        team_names = dict(conn.execute(select(teams.c.id, teams.c.name)).all())
        survey = conn.execute(select(surveys.c.code).where(
            surveys.c.id == case["survey_id"])).scalar() if case["survey_id"] else None
        point = conn.execute(select(touchpoints).where(
            touchpoints.c.id == case["touchpoint_id"])).mappings().first() \
            if case["touchpoint_id"] else None
    categories = category_names(engine, language)
    return {
        "case": case, "customer": customer, "survey": survey,
        "owner": people.get(case["owner_id"]), "team": team_names.get(case["team_id"]),
        "category": categories.get(case["category"], case["category"]),
        "clocks": _clocks(case, now, timezone),
        "steps": [(s, STEPS[s]) for s in TRANSITIONS[case["status"]] if s in STEPS],
        "can_reopen": case["status"] in ("resolved", "closed"),
        "is_open": case["status"] in OPEN_CASE_STATUSES,
        "opened_local": local_time(case["opened_at"], timezone),
        # The touchpoint it is about: the tagged one (its kind, time, where, id), else the kind.
        "touchpoint": None if point is None else {
            "kind": point["kind"], "at": local_time(point["occurred_at"], timezone),
            "where": " · ".join(v for v in (point["site"], point["agent"]) if v),
            "external_id": point["external_id"]},
        "events": [_event(e, people, team_names, timezone) for e in case["events"]],
    }


def _clocks(case: dict, now: datetime, timezone: str | None) -> list[dict]:
    out = []
    for label, due_key, done_key in ((N_("First response"), "first_response_due_at",
                                      "first_responded_at"),
                                     (N_("Resolution"), "resolution_due_at", "resolved_at")):
        due, done = case[due_key], case[done_key]
        if due is None and done is None:
            continue
        if done is not None:
            state = "met" if due is None or done <= due else "late"
            text = UserError(N_("done {at}, on time") if state == "met" else N_("done {at}, late"),
                             at=local_time(done, timezone))
        else:
            state = clock_state(case["status"], due, now)
            text = UserError(N_("paused while waiting for the customer")) if state == "paused" \
                else relative_due(due, now)
        out.append({"label": label, "due": local_time(due, timezone), "state": state,
                    "text": text})
    return out


def _event(event: dict, people: dict, team_names: dict, timezone: str | None) -> dict:
    changes = event.get("changes") or {}
    details: list[UserError] = []
    if event["kind"] in ("status", "reopened") and changes.get("to"):
        details.append(UserError(N_("{old} → {new}"), old=_term(STATUS_LABELS, changes.get("from")),
                                 new=_term(STATUS_LABELS, changes["to"])))
    if event["kind"] == "assigned":
        details.append(UserError(N_("owner: {owner}; team: {team}"),
                                 owner=people.get(changes.get("owner_id"), "–"),
                                 team=team_names.get(changes.get("team_id"), "–")))
    if event["kind"] == "opened":
        details.append(UserError(N_("channel: {channel}; severity: {severity}"),
                                 channel=_term(CHANNEL_LABELS, changes.get("channel")),
                                 severity=_term(SEVERITY_LABELS, changes.get("severity"))))
    if event["kind"] == "remedy" and changes.get("status"):
        details.append(UserError(N_("{remedy} {amount}: {status}"),
                                 remedy=_term(REMEDY_LABELS, changes.get("kind")),
                                 amount=money(changes.get("amount"), 2),
                                 status=_term(REMEDY_STATUS_LABELS, changes["status"])))
    if event["kind"] == "approval" and changes.get("status"):
        details.append(UserError(N_("decision: {status}"),
                                 status=_term(REMEDY_STATUS_LABELS, changes["status"])))
    return {"kind": event["kind"], "label": EVENT_LABELS.get(event["kind"], event["kind"]),
            "at": local_time(event["at"], timezone), "who": people.get(event["user_id"]),
            "internal": event["visibility"] == "internal", "body": event["body"],
            "details": details}


def _term(labels: dict, key) -> str:
    return Term(labels[key]) if key in labels else "–"


# -- alert rules ---------------------------------------------------------------------------------

def rules_page(engine: Engine, language: str) -> dict:
    """The rules with how many cases each opened, and the choices of the form."""
    with engine.connect() as conn:
        made = dict(conn.execute(select(cases.c.rule_id, func.count())
                                 .where(cases.c.rule_id.is_not(None))
                                 .group_by(cases.c.rule_id)).all())
        codes = list(conn.execute(select(surveys.c.code).order_by(surveys.c.code)).scalars())
    rules = [{**rule, "cases": int(made.get(rule["id"], 0))} for rule in list_rules(engine)]
    return {"rules": rules, "surveys": codes, "categories": category_choices(engine, language),
            "category_names": category_names(engine, language), "types": CASE_TYPES,
            "severities": CASE_SEVERITIES}


__all__ = ["CHANNEL_LABELS", "EVENT_LABELS", "SEVERITY_LABELS", "STATUS_LABELS", "STEPS", "TABS",
           "TYPE_LABELS",
           "case_number", "case_page", "clock_state", "form_choices", "local_time", "may_see",
           "open_count", "queue", "relative_due", "rules_page", "tabs_for", "team_ids_of"]
