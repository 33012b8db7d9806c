"""Working a case: open it, assign it, reply, note, wait for the customer, resolve, close and
reopen. Each step is one write transaction that changes the case and appends to its timeline.

A step that does not fit the case's status (resolving a closed case, replying to a closed one) is
refused with a :class:`~patronage.messages.UserError` naming the status, so the pages and the
command line explain it in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from patronage.cases import records, routing, sla
from patronage.cases.config import DEFAULT, DeskConfig
from patronage.cases.inputs import (
    category_code, clean_text, customer_pk, now_utc, one_of, team_id_of, touchpoint_of,
    user_id_of,
)
from patronage.members.programme import case_severity_floor, raised_severity
from patronage.messages import N_, UserError
from patronage.storage import write_transaction
from patronage.storage.schema import (
    CASE_CHANNELS, CASE_SEVERITIES, CASE_TYPES, OPEN_CASE_STATUSES, cases,
)

#: status → the statuses a case may move to by an ordinary step (reopening is its own step).
TRANSITIONS = {
    "new": ("assigned", "in_progress", "waiting", "resolved", "closed"),
    "assigned": ("in_progress", "waiting", "resolved", "closed"),
    "in_progress": ("waiting", "resolved", "closed"),
    "waiting": ("in_progress", "resolved", "closed"),
    "resolved": ("closed",),
    "closed": (),
}


@dataclass
class NewCase:
    """What opening a case needs; ``customer`` is the customer's id as the company knows it."""

    customer: str | None
    subject: str
    description: str | None = None
    type: str = "complaint"
    channel: str = "agent"
    category: str | None = None
    severity: str = "normal"
    contact: str | None = None
    touchpoint_kind: str | None = None
    # The touchpoint it is about: its imported id (a form, a file, the API) or its database id
    # (a case opened from a touchpoint or a tagged answer); its kind replaces touchpoint_kind.
    touchpoint: str | None = None
    touchpoint_pk: int | None = None
    external_ref: str | None = None
    response_id: int | None = None
    survey_id: int | None = None
    rule_id: int | None = None
    owner: str | None = None
    team: str | None = None
    extra: dict = field(default_factory=dict)
    customer_pk: int | None = None


def open_case(engine: Engine, new: NewCase, *, by: int | None = None,
              now: datetime | None = None, config: DeskConfig = DEFAULT) -> str:
    """Open a case, route it, start its clocks; returns its number. With an ``external_ref``
    already used, the existing case's number is returned (an integration may retry)."""
    now = now or now_utc()
    values = case_values(new)
    try:
        with write_transaction(engine) as conn:
            return open_on(conn, new, values, by=by, now=now, config=config)
    except IntegrityError:
        existing = _existing(engine, values)
        if existing is None:
            raise
        return existing


def case_values(new: NewCase) -> dict[str, Any]:
    """The checked columns of a new case (UserError names the first bad field)."""
    return {
        "subject": clean_text(new.subject, "subject", required=True),
        "description": clean_text(new.description, "description"),
        "contact": clean_text(new.contact, "contact"),
        "external_ref": clean_text(new.external_ref, "external_ref"),
        "type": one_of(new.type, CASE_TYPES, "type"),
        "channel": one_of(new.channel, CASE_CHANNELS, "channel"),
        "severity": one_of(new.severity, CASE_SEVERITIES, "severity"),
        "touchpoint_kind": clean_text(new.touchpoint_kind, "touchpoint"),
        "response_id": new.response_id, "survey_id": new.survey_id, "rule_id": new.rule_id,
    }


def open_on(conn, new: NewCase, values: dict, *, by: int | None, now: datetime,
            config: DeskConfig = DEFAULT) -> str:
    """Open the case on the caller's write connection (see :func:`open_case`)."""
    customer_id = new.customer_pk or customer_pk(conn, new.customer)
    touchpoint_id, kind = touchpoint_of(conn, new.touchpoint, new.touchpoint_pk, customer_id)
    if touchpoint_id is not None:
        values = {**values, "touchpoint_id": touchpoint_id, "touchpoint_kind": kind}
    category = category_code(conn, new.category)
    team_id, owner_id = team_id_of(conn, new.team), user_id_of(conn, new.owner)
    if team_id is None and owner_id is None:
        team_id, owner_id = routing.route(conn, customer_id, category, now)
    elif owner_id is None:
        owner_id = routing.next_in_rotation(conn, team_id, now)
    # Service priority: a member's tier may open their case at a higher severity (and SLA).
    floor = case_severity_floor(conn, customer_id)
    priority = {}
    if raised_severity(values["severity"], floor) != values["severity"]:
        values = {**values, "severity": floor.severity}
        priority = {"priority": f"tier {floor.tier}"}
    cal = sla.calendar(conn, config)
    clocks = sla.due_times(cal, sla.policy_for(conn, values["severity"], category), now)
    row = {**values, **clocks, "customer_id": customer_id, "category": category,
           "team_id": team_id, "owner_id": owner_id, "opened_at": now, "updated_at": now,
           "status": "assigned" if owner_id else "new"}
    case_id = int(conn.execute(cases.insert().values(**row)).inserted_primary_key[0])
    records.append_event(conn, case_id, "opened", at=now, user_id=by, body=values["description"],
                         changes={"channel": values["channel"], "severity": values["severity"],
                                  "category": category, **priority, **new.extra})
    if team_id or owner_id:
        records.append_event(conn, case_id, "assigned", at=now, user_id=by,
                             changes={"team_id": team_id, "owner_id": owner_id})
    return records.case_number(case_id)


def _existing(engine: Engine, values: dict) -> str | None:
    c = cases.c
    if values["external_ref"]:
        query = select(c.id).where(c.external_ref == values["external_ref"])
    elif values["rule_id"] is not None and values["response_id"] is not None:
        query = select(c.id).where(c.rule_id == values["rule_id"],
                                   c.response_id == values["response_id"])
    else:
        return None
    with engine.connect() as conn:
        found = conn.execute(query).scalar()
    return None if found is None else records.case_number(found)


def _step(engine: Engine, number, *, now: datetime | None, config: DeskConfig, change):
    """Run ``change(conn, case, cal, now)`` on the locked case in one write transaction."""
    now = now or now_utc()
    with write_transaction(engine) as conn:
        case = records.load_for_update(conn, number)
        cal = sla.calendar(conn, config)
        change(conn, case, cal, now)
    return records.case_number(case["id"])


def _move(conn, case: dict, status: str, cal, now: datetime, by, extra: dict | None = None):
    if status not in TRANSITIONS[case["status"]]:
        raise UserError(N_("Case {number} is {status}; it cannot go to {target} from there."),
                        number=records.case_number(case["id"]), status=case["status"],
                        target=status)
    values = dict(extra or {})
    if case["status"] == "waiting":
        values.update(sla.resumed(cal, case, now))
    if status == "waiting":
        values["waiting_since"] = now
    values["status"] = status
    records.save(conn, case["id"], values, now)
    records.append_event(conn, case["id"], "status", at=now, user_id=by,
                         changes={"from": case["status"], "to": status})


def assign(engine: Engine, number, *, owner: str | int | None = None, team: str | None = None,
           by: int | None = None, now: datetime | None = None, config: DeskConfig = DEFAULT) -> str:
    """Give the case to ``owner`` and/or ``team`` (a team alone rotates among its members)."""
    def change(conn, case, cal, now):
        if case["status"] not in OPEN_CASE_STATUSES:
            raise UserError(N_("Case {number} is {status}; reopen it before assigning it."),
                            number=records.case_number(case["id"]), status=case["status"])
        team_id = team_id_of(conn, team) if team else case["team_id"]
        owner_id = user_id_of(conn, owner)
        if owner_id is None and team:
            owner_id = routing.next_in_rotation(conn, team_id, now)
        if team_id is None and owner_id is None:
            raise UserError(N_("Name an owner or a team to assign the case to."))
        values = {"team_id": team_id, "owner_id": owner_id}
        if case["status"] == "new" and owner_id:
            values["status"] = "assigned"
        records.save(conn, case["id"], values, now)
        records.append_event(conn, case["id"], "assigned", at=now, user_id=by,
                             changes={"team_id": team_id, "owner_id": owner_id,
                                      "from_owner_id": case["owner_id"]})
    return _step(engine, number, now=now, config=config, change=change)


def reply(engine: Engine, number, body: str, *, by: int | None = None, internal: bool = False,
          now: datetime | None = None, config: DeskConfig = DEFAULT) -> str:
    """A reply to the customer (``internal=False``) or an internal note. A reply is the first
    response of the service level and moves a new or waiting case into progress."""
    text = clean_text(body, "body", required=True)

    def change(conn, case, cal, now):
        if case["status"] == "closed":
            raise UserError(N_("Case {number} is closed; reopen it to add to it."),
                            number=records.case_number(case["id"]))
        if not internal:
            if case["status"] in ("new", "assigned", "waiting"):
                _move(conn, case, "in_progress", cal, now, by)
            if case["first_responded_at"] is None:
                records.save(conn, case["id"], {"first_responded_at": now}, now)
        records.append_event(conn, case["id"], "note" if internal else "reply", at=now,
                             user_id=by, body=text,
                             visibility="internal" if internal else "customer")
    return _step(engine, number, now=now, config=config, change=change)


def set_status(engine: Engine, number, status: str, *, note: str | None = None,
               by: int | None = None, now: datetime | None = None,
               config: DeskConfig = DEFAULT) -> str:
    """Move the case to ``status`` (in progress, waiting for the customer, resolved, closed)."""
    text = clean_text(note, "body")

    def change(conn, case, cal, now):
        extra = {}
        if status == "resolved":
            extra["resolved_at"] = now
        if status == "closed":
            extra["closed_at"] = now
            extra.setdefault("resolved_at", case["resolved_at"] or now)
        _move(conn, case, status, cal, now, by, extra)
        if text:
            records.append_event(conn, case["id"], "note", at=now, user_id=by, body=text)
    return _step(engine, number, now=now, config=config, change=change)


def reopen(engine: Engine, number, *, reason: str, by: int | None = None,
           now: datetime | None = None, config: DeskConfig = DEFAULT) -> str:
    """Reopen a resolved or closed case: a new round with fresh service-level clocks."""
    text = clean_text(reason, "reason", required=True)
    return _step(engine, number, now=now, config=config,
                 change=lambda conn, case, cal, now: reopen_on(conn, case, cal, now, by, text))


def reopen_on(conn, case: dict, cal, now: datetime, by: int | None, reason: str,
              changes: dict | None = None) -> None:
    """Reopen ``case`` (a locked row) on the caller's write connection."""
    if case["status"] not in ("resolved", "closed"):
        raise UserError(N_("Case {number} is {status}; only a resolved or closed case can be "
                           "reopened."), number=records.case_number(case["id"]),
                        status=case["status"])
    policy = sla.policy_for(conn, case["severity"], case["category"])
    clocks = sla.due_times(cal, policy, now)
    clocks["first_response_due_at"] = None  # the customer has had a first response
    status = "assigned" if case["owner_id"] else "new"
    records.save(conn, case["id"], {**clocks, "status": status, "resolved_at": None,
                                    "closed_at": None, "waiting_since": None,
                                    "round": case["round"] + 1}, now)
    records.append_event(conn, case["id"], "reopened", at=now, user_id=by, body=reason,
                         changes={"from": case["status"], "to": status,
                                  "round": case["round"] + 1, **(changes or {})})


def case_detail(engine: Engine, number) -> dict[str, Any]:
    """The case row with its number and its timeline (oldest first)."""
    from patronage.storage.schema_cases import case_events

    with engine.connect() as conn:
        case = conn.execute(select(cases).where(cases.c.id == records.case_id_of(number))) \
            .mappings().first()
        if case is None:
            raise UserError(N_("There is no case {number}."),
                            number=records.case_number(records.case_id_of(number)))
        events = conn.execute(select(case_events).where(case_events.c.case_id == case["id"])
                              .order_by(case_events.c.at, case_events.c.id)).mappings().all()
    return {**dict(case), "number": records.case_number(case["id"]),
            "events": [dict(e) for e in events]}


__all__ = ["NewCase", "TRANSITIONS", "assign", "case_detail", "case_values", "open_case",
           "open_on", "reopen", "reopen_on", "reply", "set_status"]
