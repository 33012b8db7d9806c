"""The customer 360 profile: a header that leads to action and the whole timeline.

The header gathers the customer's tier and owner, value (CLV, P(alive), RFM segment), the risk
of losing them with its reasons in words, the NPS answers over time, open cases and open care
tasks. Value comes from models fitted over all customers (:func:`customer_values`, seconds on a
real panel): the web keeps it in the page cache, shared with the loyalty page's fit, and passes
the customer's row in; the profile never fits a model itself.

The timeline merges purchases, survey answers, cases with their events, contacts, care tasks
and profile changes, newest first, filtered by kind and date and cut in pages.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

import pandas as pd
from sqlalchemy import Engine, func, select

from patronage.analytics import value_tiers
from patronage.care.contacts import CHANNEL_NAMES, DIRECTION_NAMES, KIND_NAMES
from patronage.care.profile import BEST_TIMES, FIELD_NAMES, PREFERENCE_NAMES
from patronage.cases.records import case_number
from patronage.messages import N_, Message, UserError
from patronage.reporting.case_desk import EVENT_LABELS, local_time
from patronage.reporting.customers import customer_profile
from patronage.members.enrolment import STATUS_FIELD
from patronage.reporting.member_profile import programme_tier
from patronage.reporting.members_pages import STATUS_LABELS
from patronage.reporting.shared import fit_value_models, rfm_table
from patronage.storage.schema import (
    OPEN_CASE_STATUSES, answers, cases, responses, surveys, transactions, users,
)
from patronage.storage.schema_care import (
    care_outcomes, care_tasks, contacts, customer_changes,
)
from patronage.storage.schema_cases import case_events, teams

#: Timeline kinds, in the order of the filter's checkboxes, with their names.
TIMELINE_KINDS = {"purchase": N_("Purchases and refunds"), "survey": N_("Survey answers"),
                  "case": N_("Cases"), "contact": N_("Contacts"), "task": N_("Care tasks"),
                  "change": N_("Profile changes")}
TASK_TYPE_NAMES = {"call": N_("Call"), "visit": N_("Visit"), "message": N_("Message")}
TASK_STATUS_NAMES = {"open": N_("Open"), "done": N_("Done"), "cancelled": N_("Cancelled")}
RISK_NAMES = {"high": N_("High risk"), "medium": N_("Some risk"), "low": N_("No sign of risk"),
              "unknown": N_("Risk not assessed yet")}
PER_PAGE = 50
MEMBERSHIP = N_("Membership")
#: Case events not worth a line on the customer's timeline (the case page has them).
_QUIET_EVENTS = ("opened", "sla_warning")
#: P(alive) below this is a risk; below the second, a high one.
ALIVE_RISK, ALIVE_HIGH_RISK = 0.5, 0.3


# -- value ---------------------------------------------------------------------------------------

def customer_values(engine: Engine) -> pd.DataFrame:
    """Per customer (indexed by the customer's id): P(alive), expected purchases in 90 days,
    CLV, value tier, RFM segment, repeat purchases, days since the last purchase and the usual
    days between purchases. Seconds on a real panel: compute it once per data version.

    When the sales cannot support the models the frame is empty and ``attrs["problem"]`` says
    why.
    """
    try:
        models = fit_value_models(engine)
        rfm = rfm_table(engine, summary=models.summary)
    except ValueError as exc:  # too few customers, no sales: the header says so
        empty = pd.DataFrame()
        empty.attrs["problem"] = exc
        return empty
    summary = models.summary
    value = models.customers["clv"].where(models.customers["clv"].notna(), summary["total_spend"])
    out = models.customers.copy()
    out["value_tier"] = value_tiers(value)["tier"]
    out["segment"] = rfm["segment"].reindex(out.index)
    out["repeat_purchases"] = summary["frequency"].astype(int)
    out["days_since_purchase"] = (summary["T"] - summary["recency"]).astype(float)
    out["usual_gap_days"] = (summary["recency"] / summary["frequency"]).where(
        summary["frequency"] > 0)
    out["observation_end"] = (summary["first_purchase"]
                              + pd.to_timedelta(summary["T"], unit="D")).max()
    return out


def _value_row(values: pd.DataFrame | None, external_id: str) -> dict | None:
    if values is None or values.empty or external_id not in values.index:
        return None
    row = values.loc[external_id].to_dict()
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}


# -- header --------------------------------------------------------------------------------------

#: Attributes the system keeps for itself (the demo company's marker), not shown to staff.
HIDDEN_ATTRIBUTES = frozenset({"demo"})

@dataclass
class Profile360:
    """What the profile page and ``patronage care customer show`` print about one customer."""

    profile: object  # the CustomerProfile of reporting.customers (records and stats)
    owner: dict | None
    value: dict | None
    value_state: str  # "ready", "stale" (older data), "pending" (being computed), "none"
    value_problem: object = None
    risk: dict = field(default_factory=dict)
    nps: list = field(default_factory=list)
    open_cases: list = field(default_factory=list)
    open_tasks: list = field(default_factory=list)
    preferences: dict = field(default_factory=dict)
    attributes: dict = field(default_factory=dict)
    #: The programme card of an active member (``code``, ``name``, ``card_no``): the header's
    #: one tier; None: the header shows the imported CRM tier.
    programme_tier: dict | None = None

    @property
    def customer(self) -> dict:
        return self.profile.customer

    def to_dict(self) -> dict:
        def plain(value):
            if isinstance(value, Message | UserError):
                return str(value)
            if hasattr(value, "isoformat"):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            if isinstance(value, float) and math.isnan(value):
                return None
            return value.item() if hasattr(value, "item") else value

        return plain({
            "customer": self.customer, "stats": self.profile.stats, "owner": self.owner,
            "value": self.value, "value_state": self.value_state,
            "value_problem": self.value_problem, "risk": self.risk, "nps": self.nps,
            "open_cases": self.open_cases, "open_tasks": self.open_tasks})


def customer_360(engine: Engine, customer_pk: int, *, values: pd.DataFrame | None = None,
                 value_state: str = "ready", language: str = "en", gettext=lambda s: s
                 ) -> Profile360 | None:
    """The profile of one customer (None when there is none). ``values``: the frame of
    :func:`customer_values` (None: not computed yet, ``value_state`` says why)."""
    profile = customer_profile(engine, customer_pk, language=language, gettext=gettext)
    if profile is None:
        return None
    customer = profile.customer
    value = _value_row(values, customer["external_id"])
    problem = values.attrs.get("problem") if values is not None else None
    if problem is not None:
        value_state = "problem"  # the sales cannot support the models
    elif values is not None and value is None:
        value_state = "none"  # no purchases: nothing to model
    nps = _nps_history(profile)
    open_cases = [c for c in profile.cases.sort_values("opened_at", ascending=False)
                  .to_dict(orient="records") if c["status"] in OPEN_CASE_STATUSES] \
        if not profile.cases.empty else []
    with engine.connect() as conn:
        owner = None
        if customer.get("account_owner_id"):
            found = conn.execute(select(users.c.id, users.c.email, users.c.display_name)
                                 .where(users.c.id == customer["account_owner_id"])).first()
            owner = dict(found._mapping) if found else None
        open_tasks = _open_tasks(conn, customer_pk)
        card = programme_tier(conn, customer_pk, language)
    result = Profile360(profile=profile, owner=owner, value=value, programme_tier=card,
                        value_state=value_state,
                        value_problem=problem, nps=nps, open_cases=open_cases,
                        open_tasks=open_tasks, preferences=dict(customer.get("preferences") or {}),
                        attributes={k: v for k, v in (customer.get("attributes") or {}).items()
                                    if k not in HIDDEN_ATTRIBUTES})
    result.risk = risk_of(value, nps, open_cases, customer)
    return result


def _nps_history(profile) -> list[dict]:
    answers_ = profile.answers
    if answers_ is None or answers_.empty or profile.responses.empty:
        return []
    scores = answers_[answers_["item_code"] == "nps"][["response_id", "value_num"]]
    shown = profile.responses.set_index("response_id")
    rows = []
    for response_id, score in zip(scores["response_id"], scores["value_num"], strict=True):
        if response_id not in shown.index or pd.isna(score):
            continue
        response = shown.loc[response_id]
        rows.append({"at": response["submitted_at"], "score": int(score),
                     "survey": response.get("title") or response.get("survey"),
                     "group": "promoter" if score >= 9 else "passive" if score >= 7
                     else "detractor"})
    return sorted(rows, key=lambda r: r["at"])


def _open_tasks(conn, customer_pk: int) -> list[dict]:
    t = care_tasks.c
    rows = conn.execute(
        select(t.id, t.type, t.subject, t.due_at, t.attempts,
               func.coalesce(users.c.display_name, users.c.email).label("assignee"),
               teams.c.name.label("team"))
        .select_from(care_tasks.outerjoin(users, users.c.id == t.assignee_id)
                     .outerjoin(teams, teams.c.id == t.team_id))
        .where(t.customer_id == customer_pk, t.status == "open").order_by(t.due_at)).mappings()
    return [dict(r) for r in rows]


def risk_of(value: dict | None, nps: list, open_cases: list, customer: dict) -> dict:
    """``{"level": "high" | "medium" | "low" | "unknown", "reasons": [Message, ...]}``: the risk
    of losing the customer and why, in words ("unknown": no sign yet, but no value model)."""
    reasons, high = [], False
    if customer.get("lost_on"):
        reasons.append(Message(N_("marked as lost on {day}"),
                               day=f"{customer['lost_on']:%Y-%m-%d}"))
        high = True
    p_alive = value.get("p_alive") if value else None
    if p_alive is not None and p_alive < ALIVE_RISK:
        days = value.get("days_since_purchase")
        gap = value.get("usual_gap_days")
        percent = f"{p_alive:.0%}"
        if days is not None and gap:
            reasons.append(Message(N_("P(alive) {p}: no purchase for {days} days, usually every "
                                      "{gap}"), p=percent, days=int(round(days)),
                                   gap=int(round(gap))))
        else:
            reasons.append(Message(N_("P(alive) {p}"), p=percent))
        high = high or p_alive < ALIVE_HIGH_RISK
    if nps and nps[-1]["score"] <= 6:
        reasons.append(Message(N_("last NPS {score} (detractor)"), score=nps[-1]["score"]))
    complaints = sum(1 for c in open_cases if c.get("type") == "complaint")
    if complaints == 1:
        reasons.append(Message(N_("1 open complaint")))
    elif complaints > 1:
        reasons.append(Message(N_("{n} open complaints"), n=complaints))
    level = "high" if high or len(reasons) >= 2 else "medium" if reasons else "low"
    if level == "low" and value is None:  # no sign so far, but P(alive) is not known yet
        level = "unknown"
    return {"level": level, "reasons": reasons}


def summary_of(engine: Engine, external_id: str) -> Profile360:
    """The header of customer ``external_id`` with value models fitted now (the command line:
    no page cache to reuse)."""
    from patronage.care.contacts import customer_pk

    pk = customer_pk(engine, external_id)
    return customer_360(engine, pk, values=customer_values(engine), value_state="ready")


def summary_text(shown: Profile360) -> str:
    """The header as the command line prints it (English)."""
    c, v, stats = shown.customer, shown.value or {}, shown.profile.stats

    def number(value, form):
        return "–" if value is None else form.format(value)
    owner = shown.owner and (shown.owner["display_name"] or shown.owner["email"])
    card = shown.programme_tier
    tier = (f"tier: {card['name']} (card {card['card_no']}; CRM tier {c.get('tier') or '–'})"
            if card else f"tier: {c.get('tier') or '–'}")
    lines = [f"{c['name']} ({c['external_id']})",
             f"{tier}    owner: {owner or '–'}"
             + (f"    LOST on {c['lost_on']:%Y-%m-%d} ({c.get('lost_reason') or '–'}"
                f" → {c.get('lost_to') or '–'})" if c.get("lost_on") else ""),
             f"CLV 12 months: {number(v.get('clv'), '¥{:,.0f}')}    "
             f"P(alive): {number(v.get('p_alive'), '{:.0%}')}    "
             f"RFM segment: {v.get('segment') or '–'}    value tier: {v.get('value_tier') or '–'}",
             f"purchases: {stats['transactions']}    revenue: ¥{stats['revenue']:,.2f}    "
             f"last purchase: {(stats['last_purchase'] or '–')[:10]}"]
    if shown.value_state == "problem":
        lines.append(f"value: not computed ({shown.value_problem})")
    lines.append(f"risk: {shown.risk['level']}"
                 + (": " + "; ".join(str(r) for r in shown.risk["reasons"])
                    if shown.risk["reasons"] else ""))
    lines.append("NPS: " + (", ".join(f"{p['at']:%Y-%m-%d} {p['score']}" for p in shown.nps)
                            or "–"))
    lines.append(f"open cases: {len(shown.open_cases)}"
                 + "".join(f"\n  {case_number(k['case_id'])} {k['status']} {k['subject']}"
                           for k in shown.open_cases))
    lines.append(f"open care tasks: {len(shown.open_tasks)}"
                 + "".join(f"\n  #{t['id']} {t['type']} due {t['due_at']:%Y-%m-%d} {t['subject']}"
                           for t in shown.open_tasks))
    return "\n".join(lines)


# -- timeline ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Timeline:
    events: list
    total: int
    page: int
    pages: int
    kinds: tuple
    since: date | None
    until: date | None

    def query(self, page: int) -> str:
        """The query string of page ``page`` with the same filters."""
        params = [("kind", k) for k in self.kinds] if self.kinds != tuple(TIMELINE_KINDS) else []
        params += [(k, v.isoformat()) for k, v in (("since", self.since), ("until", self.until))
                   if v]
        return urlencode([*params, ("page", page)])


def _day(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return None


def customer_timeline(engine: Engine, customer_pk: int, *, kinds=None, since=None, until=None,
                      page: int = 1, per_page: int = PER_PAGE,
                      timezone: str | None = None) -> Timeline:
    """The customer's events of ``kinds`` (default all) between ``since`` and ``until``
    (dates, both included), newest first, page ``page`` of ``per_page``.

    Each event is a dict with ``kind``, ``at`` (stored UTC), ``when`` (in ``timezone``) and
    what that kind shows."""
    chosen = tuple(k for k in TIMELINE_KINDS if not kinds or k in kinds) or tuple(TIMELINE_KINDS)
    since, until = _day(since), _day(until)
    start = datetime.combine(since, datetime.min.time()) if since else None
    end = datetime.combine(until + timedelta(days=1), datetime.min.time()) if until else None
    events = []
    with engine.connect() as conn:
        for kind in chosen:
            events += _READERS[kind](conn, customer_pk, start, end)
    events.sort(key=lambda e: (e["at"], e.get("order", 0)), reverse=True)
    pages = max(1, -(-len(events) // per_page))
    page = min(max(1, int(page or 1)), pages)
    shown = events[(page - 1) * per_page: page * per_page]
    for event in shown:
        event["when"] = local_time(event["at"], timezone)
    return Timeline(events=shown, total=len(events),
                    page=page, pages=pages, kinds=chosen, since=since, until=until)


def _between(query, column, start, end):
    if start is not None:
        query = query.where(column >= start)
    if end is not None:
        query = query.where(column < end)
    return query


def _purchases(conn, pk, start, end) -> list[dict]:
    t = transactions.c
    query = _between(select(t.external_id, t.occurred_at, t.amount, t.product, t.category,
                            t.channel, t.is_refund).where(t.customer_id == pk),
                     t.occurred_at, start, end)
    return [{"kind": "purchase", "at": r.occurred_at, "order": 1, "number": r.external_id,
             "amount": float(r.amount), "product": r.product, "category": r.category,
             "refund": bool(r.is_refund)} for r in conn.execute(query)]


def _surveys(conn, pk, start, end) -> list[dict]:
    r = responses.c
    query = _between(
        select(r.id, r.submitted_at, r.channel, surveys.c.code, answers.c.value_num)
        .select_from(responses.join(surveys, surveys.c.id == r.survey_id)
                     .outerjoin(answers, (answers.c.response_id == r.id)
                                & (answers.c.item_code == "nps")))
        .where(r.customer_id == pk), r.submitted_at, start, end)
    return [{"kind": "survey", "at": row.submitted_at, "order": 2, "survey": row.code,
             "channel": row.channel,
             "nps": None if row.value_num is None else int(row.value_num)}
            for row in conn.execute(query)]


def _cases(conn, pk, start, end) -> list[dict]:
    c = cases.c
    opened = [{"kind": "case", "at": row.opened_at, "order": 3, "case_id": row.id,
               "label": N_("Opened the case"), "subject": row.subject, "type": row.type,
               "status": row.status}
              for row in conn.execute(_between(
                  select(c.id, c.opened_at, c.subject, c.type, c.status)
                  .where(c.customer_id == pk), c.opened_at, start, end))]
    e = case_events.c
    query = _between(
        select(e.case_id, e.at, e.kind, e.visibility, e.body,
               func.coalesce(users.c.display_name, users.c.email).label("who"))
        .select_from(case_events.join(cases, cases.c.id == e.case_id)
                     .outerjoin(users, users.c.id == e.user_id))
        .where(c.customer_id == pk, e.kind.notin_(_QUIET_EVENTS)), e.at, start, end)
    events = [{"kind": "case", "at": row.at, "order": 4, "case_id": row.case_id,
               "label": EVENT_LABELS.get(row.kind, row.kind), "who": row.who,
               "body": row.body if row.kind in ("note", "reply") else None,
               "internal": row.visibility == "internal"} for row in conn.execute(query)]
    return opened + events


def _contacts(conn, pk, start, end) -> list[dict]:
    c, o = contacts.c, care_outcomes.c
    query = _between(
        select(c.id, c.at, c.channel, c.kind, c.direction, c.outcome, c.subject, c.body, c.cost,
               c.task_id, c.case_id, o.name_en, o.name_zh_hans, o.name_zh_hant,
               func.coalesce(users.c.display_name, users.c.email).label("who"))
        .select_from(contacts.outerjoin(users, users.c.id == c.user_id)
                     .outerjoin(care_outcomes, care_outcomes.c.code == c.outcome))
        .where(c.customer_id == pk), c.at, start, end)
    return [{"kind": "contact", "at": row.at, "order": 5, "id": row.id,
             "label": KIND_NAMES.get(row.kind, row.kind),
             "channel": CHANNEL_NAMES.get(row.channel, row.channel),
             "direction": DIRECTION_NAMES.get(row.direction), "contact_kind": row.kind,
             "outcome": row.outcome, "outcome_names": {
                 "en": row.name_en, "zh_Hans": row.name_zh_hans, "zh_Hant": row.name_zh_hant}
             if row.name_en else None, "subject": row.subject, "body": row.body,
             "cost": None if row.cost is None else float(row.cost), "who": row.who,
             "case_id": row.case_id, "task_id": row.task_id} for row in conn.execute(query)]


def _tasks(conn, pk, start, end) -> list[dict]:
    t = care_tasks.c
    query = _between(
        select(t.id, t.created_at, t.type, t.subject, t.due_at, t.status, t.outcome, t.note,
               t.attempts, t.completed_at, care_outcomes.c.name_en, care_outcomes.c.name_zh_hans,
               care_outcomes.c.name_zh_hant,
               func.coalesce(users.c.display_name, users.c.email).label("assignee"))
        .select_from(care_tasks.outerjoin(users, users.c.id == t.assignee_id)
                     .outerjoin(care_outcomes, care_outcomes.c.code == t.outcome))
        .where(t.customer_id == pk), t.created_at, start, end)
    return [{"kind": "task", "at": row.created_at, "order": 6, "id": row.id,
             "type": TASK_TYPE_NAMES.get(row.type, row.type), "subject": row.subject,
             "due_at": row.due_at, "status": row.status,
             "status_label": TASK_STATUS_NAMES.get(row.status, row.status),
             "outcome": row.outcome, "outcome_names": {
                 "en": row.name_en, "zh_Hans": row.name_zh_hans, "zh_Hant": row.name_zh_hant}
             if row.name_en else None, "note": row.note, "attempts": row.attempts,
             "who": row.assignee} for row in conn.execute(query)]


def _changes(conn, pk, start, end) -> list[dict]:
    c = customer_changes.c
    query = _between(
        select(c.id, c.at, c.field, c.old_value, c.new_value,
               func.coalesce(users.c.display_name, users.c.email).label("who"))
        .select_from(customer_changes.outerjoin(users, users.c.id == c.user_id))
        .where(c.customer_id == pk), c.at, start, end)
    out = [{"kind": "change", "at": row.at, "order": 7 + row.id * 1e-9, "field": row.field,
            "label": field_name(row.field), "old": row.old_value, "new": row.new_value,
            "who": row.who, "reason": None} for row in conn.execute(query)]
    for entry in out:
        if entry["field"] == STATUS_FIELD:  # closed or reopened: the status and why
            entry.update(_membership_change(entry["old"], entry["new"]))
    return out


def _membership_change(old: str | None, new: str | None) -> dict:
    """A membership's closing or reopening as the timeline shows it: the statuses' names
    (msgids) and the reason given."""
    def read(value):
        try:
            found = json.loads(value) if value else {}
        except ValueError:
            found = {}
        return found if isinstance(found, dict) else {}
    before, after = read(old), read(new)
    return {"old": STATUS_LABELS.get(before.get("status"), before.get("status")),
            "new": STATUS_LABELS.get(after.get("status"), after.get("status")),
            "reason": after.get("reason")}


_READERS = {"purchase": _purchases, "survey": _surveys, "case": _cases, "contact": _contacts,
            "task": _tasks, "change": _changes}


def form_choices(engine: Engine, language: str) -> dict:
    """The profile forms' choices: active staff for the owner, the care outcomes in
    ``language`` for a logged contact."""
    suffix = {"zh_Hans": "zh_hans", "zh_Hant": "zh_hant"}.get(language, "en")
    with engine.connect() as conn:
        staff = [dict(r) for r in conn.execute(
            select(users.c.id, func.coalesce(users.c.display_name, users.c.email).label("name"))
            .where(users.c.is_active.is_(True)).order_by(users.c.display_name, users.c.email))
            .mappings()]
        outcomes = [(r.code, r.name) for r in conn.execute(
            select(care_outcomes.c.code, care_outcomes.c[f"name_{suffix}"].label("name"))
            .where(care_outcomes.c.active.is_(True))
            .order_by(care_outcomes.c.position, care_outcomes.c.code))]
    return {"staff": staff, "outcomes": outcomes}


def field_name(field_: str) -> str:
    """The name of a profile field as the history shows it (a msgid, or the attribute's key)."""
    if field_.startswith("preferences."):
        return PREFERENCE_NAMES.get(field_.removeprefix("preferences."), field_)
    if field_.startswith("attributes."):
        return field_.removeprefix("attributes.")
    if field_ == STATUS_FIELD:
        return MEMBERSHIP
    return FIELD_NAMES.get(field_, field_)


__all__ = ["ALIVE_HIGH_RISK", "ALIVE_RISK", "BEST_TIMES", "PER_PAGE", "Profile360", "RISK_NAMES",
           "TASK_STATUS_NAMES", "TASK_TYPE_NAMES", "TIMELINE_KINDS", "Timeline", "customer_360",
           "customer_timeline", "customer_values", "field_name", "form_choices", "risk_of",
           "summary_of", "summary_text"]
