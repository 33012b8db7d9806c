"""What the desk's settings pages show (admins): teams with their people and open cases, the
category tree in the three languages, service-level policies in hours, the working days of
the coming weeks, assignment rules in order and the API keys; and reading their forms.

Labels are English messages marked with :func:`N_`; the pages translate them.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import chinese_calendar
from sqlalchemy import Engine, func, select

from patronage.api_keys import SCOPES, list_keys
from patronage.cases.calendar import BusinessCalendar
from patronage.messages import N_, Term, UserError
from patronage.reporting.case_desk import (
    NAME_COLUMN, SEVERITY_LABELS, category_choices, local_time, staff_choices, team_choices,
)
from patronage.storage.schema import CASE_SEVERITIES, OPEN_CASE_STATUSES, cases, users
from patronage.storage.schema_cases import (
    assignment_rules, business_days, case_categories, sla_policies, team_members, teams,
)

SECTIONS = (("teams", N_("Teams")), ("categories", N_("Case categories")),
            ("levels", N_("Service levels")), ("days", N_("Working days")),
            ("routing", N_("Assignment rules")), ("keys", N_("API keys")))
NOTIFY_LABELS = {"owner": N_("the owner"), "team_lead": N_("the team lead"),
                 "manager": N_("the manager")}
HOLIDAY_LABELS = {"New Year's Day": N_("New Year's Day"), "Spring Festival": N_("Spring Festival"),
                  "Tomb-sweeping Day": N_("Qingming Festival"), "Labour Day": N_("Labour Day"),
                  "Dragon Boat Festival": N_("Dragon Boat Festival"),
                  "National Day": N_("National Day"),
                  "Mid-autumn Festival": N_("Mid-Autumn Festival"),
                  "Anti-Fascist 70th Day": N_("Victory Day")}
DAY_KINDS = {"workday": N_("Working day"), "weekend": N_("Weekend"),
             "holiday": N_("Public holiday"), "adjusted": N_("Adjusted working day")}
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
DAYS_SHOWN = 60
MAX_HOURS = 24 * 365


# -- teams ---------------------------------------------------------------------------------------

def teams_page(engine: Engine) -> dict:
    """Each team with its lead, manager, members and open cases; the staff to choose from."""
    staff = staff_choices(engine)
    email_of = {s["id"]: s for s in staff}
    with engine.connect() as conn:
        rows = conn.execute(select(teams).order_by(teams.c.name)).mappings().all()
        members = conn.execute(select(team_members.c.team_id, users.c.id, users.c.email,
                                      users.c.display_name, users.c.is_active)
                               .join(users, users.c.id == team_members.c.user_id)
                               .order_by(users.c.email)).mappings().all()
        open_cases = dict(conn.execute(select(cases.c.team_id, func.count())
                                       .where(cases.c.status.in_(OPEN_CASE_STATUSES),
                                              cases.c.team_id.is_not(None))
                                       .group_by(cases.c.team_id)).all())
    shown = []
    for row in rows:
        people = [{"email": m["email"], "name": m["display_name"] or m["email"],
                   "active": m["is_active"]} for m in members if m["team_id"] == row["id"]]
        shown.append({"id": row["id"], "name": row["name"], "members": people,
                      "lead": email_of.get(row["lead_id"]),
                      "manager": email_of.get(row["manager_id"]),
                      "open_cases": int(open_cases.get(row["id"], 0))})
    return {"teams": shown, "staff": staff}


# -- categories ----------------------------------------------------------------------------------

def categories_page(engine: Engine, language: str) -> dict:
    """The whole tree (switched-off categories too) with the three names and their cases."""
    k = case_categories.c
    with engine.connect() as conn:
        rows = {r["code"]: dict(r) for r in conn.execute(
            select(case_categories).order_by(k.position, k.code)).mappings()}
        used = dict(conn.execute(select(cases.c.category, func.count())
                                 .where(cases.c.category.is_not(None))
                                 .group_by(cases.c.category)).all())
    children: dict = {}
    for row in rows.values():
        parent = row["parent_code"] if row["parent_code"] in rows else None
        children.setdefault(parent, []).append(row)
    tree: list[dict] = []

    def walk(parent, depth):
        for row in children.get(parent, []):
            tree.append({**row, "depth": depth, "cases": int(used.get(row["code"], 0))})
            if depth < 10:
                walk(row["code"], depth + 1)

    walk(None, 0)
    return {"tree": tree, "parents": category_choices(engine, language),
            "name_column": NAME_COLUMN.get(language, "name_en")}


# -- service levels ------------------------------------------------------------------------------

def minutes_of(value, field: str, *, allow_zero: bool = False) -> int:
    """Hours as typed in a form (``"4"``, ``"1.5"``, ``"1,5"``) → whole minutes."""
    text = str(value or "").strip().replace("，", ".").replace(",", ".")
    try:
        hours = float(text)
    except ValueError:
        hours = float("nan")
    if math.isnan(hours) or hours < 0 or hours > MAX_HOURS or (hours == 0 and not allow_zero):
        raise UserError(N_("The {field} must be a number of hours, e.g. 4 or 1.5."),
                        field=Term(field))
    return round(hours * 60)


def hours_text(minutes: int | None) -> str:
    if minutes is None:
        return "–"
    hours = minutes / 60
    return f"{hours:g}"


def escalation_of(form: dict) -> list[dict]:
    """The escalation steps of the policy form: hours after the breach for each person."""
    steps = []
    for notify in NOTIFY_LABELS:
        value = str(form.get(f"escalate_{notify}", "")).strip()
        if value:
            steps.append({"after_minutes": minutes_of(value, N_("escalation delay"),
                                                      allow_zero=True), "notify": notify})
    if not steps:
        raise UserError(N_("Name at least one person to alert when the target is missed."))
    return sorted(steps, key=lambda step: step["after_minutes"])


def levels_page(engine: Engine, language: str) -> dict:
    names = category_names_all(engine, language)
    with engine.connect() as conn:
        rows = conn.execute(select(sla_policies).order_by(sla_policies.c.id)).mappings().all()
    policies = [{
        "id": r["id"], "name": r["name"], "active": r["active"],
        "severity": r["severity"], "category": names.get(r["category"], r["category"]),
        "first_response": hours_text(r["first_response_minutes"]),
        "resolution": hours_text(r["resolution_minutes"]), "warn": hours_text(r["warn_minutes"]),
        "steps": [UserError(N_("{who} after {hours} h"), who=Term(NOTIFY_LABELS[s["notify"]]),
                            hours=hours_text(int(s["after_minutes"])))
                  for s in r["escalation"] or [] if s.get("notify") in NOTIFY_LABELS],
    } for r in rows]
    return {"policies": policies, "severities": CASE_SEVERITIES,
            "categories": category_choices(engine, language), "notify": NOTIFY_LABELS}


def category_names_all(engine: Engine, language: str) -> dict[str, str]:
    column = NAME_COLUMN.get(language, "name_en")
    with engine.connect() as conn:
        return dict(conn.execute(select(case_categories.c.code, case_categories.c[column])).all())


# -- working days --------------------------------------------------------------------------------

def official_day(day: date) -> dict:
    """The official calendar's word on ``day``: kind and holiday name (a message or None)."""
    workday = BusinessCalendar().is_workday(day)
    holiday = None
    try:
        _, name = chinese_calendar.get_holiday_detail(day)
        holiday = HOLIDAY_LABELS.get(name) if name else None
    except NotImplementedError:
        pass
    weekend = day.weekday() >= 5
    kind = ("adjusted" if weekend else "workday") if workday else \
        ("holiday" if holiday or not weekend else "weekend")
    return {"kind": kind, "holiday": holiday}


def days_page(engine: Engine, settings, today: date) -> dict:
    """The next :data:`DAYS_SHOWN` days as weeks (official kind, the company's own marking),
    the company's days, whether next year's schedule is known and the working hours."""
    with engine.connect() as conn:
        own = {r.day: r for r in conn.execute(select(business_days).order_by(business_days.c.day))}
    start = today - timedelta(days=today.weekday())
    days = []
    for offset in range((today - start).days + DAYS_SHOWN):
        day = start + timedelta(days=offset)
        official = official_day(day)
        company = own.get(day)
        working = company.is_workday if company is not None else official["kind"] in (
            "workday", "adjusted")
        days.append({"day": day, "label": f"{day.month}/{day.day}", "shown": day >= today,
                     "weekday": WEEKDAYS[day.weekday()], **official, "working": working,
                     "company": company, "today": day == today})
    weeks = [days[i:i + 7] for i in range(0, len(days), 7)]
    special = [d for d in days if d["shown"] and (d["kind"] in ("holiday", "adjusted")
                                                  or d["company"] is not None)]
    return {"weeks": weeks, "special": special, "weekdays": WEEKDAYS,
            "own": [{"day": d, "working": r.is_workday, "name": r.name} for d, r in own.items()
                    if d >= today - timedelta(days=31)],
            "next_year": today.year + 1, "next_year_known": BusinessCalendar.covers(today.year + 1),
            "this_year_known": BusinessCalendar.covers(today.year),
            "hours": settings.business_hours, "timezone": settings.timezone,
            "n_working": sum(1 for d in days if d["shown"] and d["working"]),
            "n_days": DAYS_SHOWN, "kinds": DAY_KINDS,
            "period": UserError(N_("The next {n} days"), n=DAYS_SHOWN),
            "unknown_year": UserError(N_(
                "The official holidays and adjusted working days of {year} are not known yet: "
                "until they are, only weekends, 1 January, 1-3 May and 1-3 October are days "
                "off. Mark the year's holidays and adjusted working days below once the State "
                "Council publishes them, or update the calendar package."),
                year=today.year + 1 if BusinessCalendar.covers(today.year) else today.year)}


def day_of(text: str) -> date:
    try:
        return date.fromisoformat(str(text or "").strip())
    except ValueError:
        raise UserError(N_("Give the day as YYYY-MM-DD, e.g. 2027-02-06.")) from None


# -- assignment rules ----------------------------------------------------------------------------

def routing_page(engine: Engine, language: str) -> dict:
    names = category_names_all(engine, language)
    r = assignment_rules.c
    with engine.connect() as conn:
        rows = conn.execute(select(assignment_rules).where(r.active)
                            .order_by(r.position, r.id)).mappings().all()
        team_names = dict(conn.execute(select(teams.c.id, teams.c.name)).all())
    people = {s["id"]: s for s in staff_choices(engine)}
    return {"rules": [{"id": row["id"], "position": row["position"],
                       "category": names.get(row["category"], row["category"]),
                       "region": row["region"], "key_account": row["key_account"],
                       "team": team_names.get(row["team_id"]),
                       "owner": people.get(row["owner_id"])} for row in rows],
            "categories": category_choices(engine, language), "teams": team_choices(engine),
            "staff": list(people.values())}


def position_of(value) -> int:
    text = str(value or "0").strip() or "0"
    if not text.lstrip("-").isdigit() or not -1000 <= int(text) <= 1000:
        raise UserError(N_("The order must be a whole number from -1000 to 1000."))
    return int(text)


# -- API keys ------------------------------------------------------------------------------------

def keys_page(engine: Engine, timezone: str | None) -> dict:
    return {"keys": [{**key, "scope_labels": [SCOPES.get(s, s) for s in key["scopes"]],
                      "created": local_time(key["created_at"], timezone),
                      "last_used": local_time(key["last_used_at"], timezone),
                      "revoked": local_time(key["revoked_at"], timezone)
                      if key["revoked_at"] else None} for key in list_keys(engine)],
            "scopes": SCOPES}


__all__ = ["DAY_KINDS", "HOLIDAY_LABELS", "NOTIFY_LABELS", "SECTIONS", "SEVERITY_LABELS",
           "categories_page", "day_of", "days_page", "escalation_of", "hours_text",
           "keys_page", "levels_page", "minutes_of", "official_day", "position_of",
           "routing_page", "teams_page"]
