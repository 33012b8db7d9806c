"""Making, changing and reading actions (see :mod:`patronage.actions`).

An action's metric is written ``kind`` or ``kind:code``: ``dimension:responsiveness``,
``item:delivery_on_time``, ``nps``, ``csi``, ``standard:3``. Its segment is the dashboard's
segment filters as a query string (``region=East+China``); none targets every customer. Its
baseline is a wave of its survey (by default the newest when it is made) or, for a survey
without waves, the responses answered before a day (by default the day it is made).
"""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import Connection, Engine, func, insert, select, update

from patronage.cases.inputs import clean_text, now_utc, team_id_of, user_id_of
from patronage.index_system import load_index_system
from patronage.messages import N_, Term, UserError
from patronage.reporting.filters import NAMES as FILTER_NAMES
from patronage.reporting.filters import SEGMENTS
from patronage.storage import write_transaction
from patronage.storage.schema import answers, customers, responses, surveys, users, waves
from patronage.storage.schema_actions import (
    ACTION_SOURCES, ACTION_STATUSES, ACTION_TITLE_MAX, METRIC_KINDS, OPEN_ACTION_STATUSES,
    action_events, actions,
)
from patronage.storage.schema_cases import teams
from patronage.storage.schema_standards import service_standards

STATUS_LABELS = {"planned": N_("planned"), "in_progress": N_("in progress"),
                 "done": N_("done"), "cancelled": N_("cancelled")}
SOURCE_LABELS = {"ipa": N_("Importance–performance: concentrate here"),
                 "driver": N_("Key driver"), "kano": N_("Kano must-be attribute"),
                 "complaint": N_("Complaint category"), "theme": N_("Comment theme"),
                 "manual": N_("Entered by hand")}
METRIC_LABELS = {"item": N_("item"), "dimension": N_("dimension"), "nps": N_("NPS"),
                 "csi": N_("CSI"), "standard": N_("service standard")}
FIELD = {"title": Term(N_("title")), "status": Term(N_("status")),
         "source": Term(N_("source")), "metric": Term(N_("metric")),
         "due": Term(N_("due date")), "budget": Term(N_("budget")),
         "target": Term(N_("target change")), "segment": Term(N_("target segment")),
         "baseline": Term(N_("baseline"))}


def _one_of(value, allowed, field: str) -> str:
    value = str(value or "").strip()
    if value not in allowed:
        raise UserError(N_("The {field} must be one of {allowed}; not {value!r}."),
                        field=FIELD[field], allowed=", ".join(allowed), value=value[:40])
    return value


def parse_metric(text) -> tuple[str, str | None]:
    """``"dimension:responsiveness"`` → ``("dimension", "responsiveness")``; ``"nps"`` →
    ``("nps", None)``."""
    kind, _colon, code = str(text or "").strip().partition(":")
    kind, code = kind.strip().lower(), code.strip() or None
    _one_of(kind, METRIC_KINDS, "metric")
    if kind in ("nps", "csi"):
        return kind, None
    if code is None or len(code) > 100:
        raise UserError(N_("The metric {kind} needs a code: write {kind}:<code>."), kind=kind)
    return kind, code


def metric_text(kind: str, code: str | None) -> str:
    return kind if code is None else f"{kind}:{code}"


def parse_day(text, field: str = "due") -> date:
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(str(text or "").strip())
    except ValueError:
        raise UserError(N_("The {field} must be a date such as 2026-09-30, not {value!r}."),
                        field=FIELD[field], value=str(text or "")[:40]) from None


def parse_number(text, field: str) -> float | None:
    value = str(text if text is not None else "").strip().replace(",", "").lstrip("¥")
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise UserError(N_("The {field} must be a number, not {value!r}."), field=FIELD[field],
                        value=value[:40]) from None
    if number != number or abs(number) == float("inf"):
        raise UserError(N_("The {field} must be a number, not {value!r}."), field=FIELD[field],
                        value=value[:40])
    return number


def segment_pairs(segment: str | None) -> list[tuple[str, str]]:
    """The ``(key, value)`` pairs of a stored segment."""
    return parse_qsl(segment or "", keep_blank_values=False)


def clean_segment(conn: Connection, segment) -> str | None:
    """A segment as typed (``region=East China`` or ``region=East+China&tier=gold``) checked
    against the customer panel and written in the filters' form; None for every customer."""
    text = str(segment or "").strip()
    if not text:
        return None
    pairs = parse_qsl(text.replace(";", "&"), keep_blank_values=True)
    if not pairs:
        raise UserError(N_("The target segment must look like region=East China; not {value!r}."),
                        value=text[:60])
    found = {}
    for key, value in pairs:
        key, value = key.strip(), value.strip()
        if key not in SEGMENTS:
            raise UserError(N_("A segment is chosen by {choices}; not {value!r}."),
                            choices=", ".join(SEGMENTS), value=key[:40])
        there = conn.execute(select(func.count()).select_from(customers)
                             .where(customers.c[key] == value)).scalar()
        if not there:
            raise UserError(N_("No customer has {field} {value!r}."),
                            field=Term(FILTER_NAMES[key]), value=value[:60])
        found[key] = value
    return urlencode([(key, found[key]) for key in SEGMENTS if key in found])


def segment_choices(engine: Engine) -> list[tuple[str, str, str]]:
    """Every segment an action can target: ``(key, value, stored form)``."""
    found = []
    with engine.connect() as conn:
        for key in SEGMENTS:
            values = conn.execute(select(customers.c[key]).distinct()
                                  .where(customers.c[key].is_not(None))
                                  .order_by(customers.c[key])).scalars().all()
            found += [(key, value, urlencode([(key, value)])) for value in values][:200]
    return found


def survey_of(conn: Connection, code: str | None) -> dict:
    """The survey ``code``, or the one with the most responses."""
    query = select(surveys.c.id, surveys.c.code, surveys.c.title)
    if code:
        row = conn.execute(query.where(surveys.c.code == str(code).strip())).mappings().first()
        if row is None:
            raise UserError(N_("There is no survey {survey!r}."), survey=str(code)[:64])
        return dict(row)
    row = conn.execute(query.join(responses, responses.c.survey_id == surveys.c.id)
                       .group_by(surveys.c.id, surveys.c.code, surveys.c.title)
                       .order_by(func.count(responses.c.id).desc(), surveys.c.id)
                       ).mappings().first()
    if row is None:
        raise UserError(N_("No survey responses yet."))
    return dict(row)


def _check_metric(conn: Connection, survey_id: int, kind: str, code: str | None) -> None:
    system = load_index_system()
    if kind == "dimension" and code not in set(system.dimensions["dimension"]):
        raise UserError(N_("There is no dimension {code!r}; the dimensions are {choices}."),
                        code=code, choices=", ".join(system.dimensions["dimension"]))
    if kind == "item" and code not in set(system.items["item_code"]):
        asked = conn.execute(select(answers.c.item_code).join(
            responses, responses.c.id == answers.c.response_id).where(
            responses.c.survey_id == survey_id, answers.c.item_code == code,
            answers.c.value_num.is_not(None)).limit(1)).first()
        if asked is None:
            raise UserError(N_("The survey has no answers to an item {code!r}."), code=code)
    if kind == "standard" and not str(code).isdigit():
        raise UserError(N_("A service standard is named by its number, not {value!r}."),
                        value=str(code)[:40])
    if kind == "standard" and conn.execute(select(service_standards.c.id).where(
            service_standards.c.id == int(code))).first() is None:
        raise UserError(N_("There is no service standard {value!r}."), value=str(code)[:40])


def _baseline(conn: Connection, survey_id: int, wave: str | None,
              until, today: date) -> tuple[int | None, date | None]:
    named = str(wave or "").strip()
    rows = conn.execute(select(waves.c.id, waves.c.name).where(waves.c.survey_id == survey_id)
                        .order_by(waves.c.starts_on.desc(), waves.c.id.desc())).all()
    if named:
        for wave_id, name in rows:
            if name == named:
                return wave_id, None
        raise UserError(N_("The survey has no wave {wave!r}; its waves are {choices}."),
                        wave=named[:60], choices=", ".join(name for _id, name in rows) or "–")
    if until not in (None, ""):
        return None, parse_day(until, "baseline")
    return (rows[0][0], None) if rows else (None, today)


def create_action(engine: Engine, *, title, due, metric="csi", survey: str | None = None,
                  source: str = "manual", source_ref: str | None = None,
                  owner: str | int | None = None, team: str | None = None, budget=None,
                  target=None, segment=None, baseline_wave: str | None = None,
                  baseline_until=None, description=None, by: int | None = None,
                  now: datetime | None = None) -> int:
    """Make an action (status planned) and its first history entry; returns its number.

    ``owner`` by e-mail or id, ``team`` by name, ``due`` and ``baseline_until`` as ISO days,
    ``budget`` in ¥, ``target`` the change aimed for in the metric's unit.
    """
    now = now or now_utc()
    title = clean_text(title, "subject", required=True)[:ACTION_TITLE_MAX]
    source = _one_of(source or "manual", ACTION_SOURCES, "source")
    source_ref = clean_text(source_ref, "subject")
    if source != "manual" and not source_ref:
        raise UserError(N_("An action made from an analysis needs the {field} it came from."),
                        field=FIELD["source"])
    kind, code = parse_metric(metric)
    due_on = parse_day(due)
    amount = parse_number(budget, "budget")
    if amount is not None and amount < 0:
        raise UserError(N_("The {field} cannot be negative."), field=FIELD["budget"])
    target_change = parse_number(target, "target")
    with write_transaction(engine) as conn:
        found = survey_of(conn, survey)
        _check_metric(conn, found["id"], kind, code)
        wave_id, until = _baseline(conn, found["id"], baseline_wave, baseline_until,
                                   now.date())
        values = dict(
            title=title, description=clean_text(description, "description"), source=source,
            source_ref=(source_ref or "")[:200] or None, owner_id=user_id_of(conn, owner),
            team_id=team_id_of(conn, team), due_on=due_on, budget=amount, status="planned",
            survey_id=found["id"], metric_kind=kind, metric_code=code,
            segment=clean_segment(conn, segment), target_change=target_change,
            baseline_wave_id=wave_id, baseline_until=until, created_by=by, created_at=now,
            updated_at=now)
        action_id = conn.execute(insert(actions).values(**values)).inserted_primary_key[0]
        conn.execute(insert(action_events).values(action_id=action_id, kind="created", at=now,
                                                  user_id=by, status_to="planned"))
    return int(action_id)


def action_id_of(value) -> int:
    try:
        return int(str(value).strip().lstrip("#"))
    except ValueError:
        raise UserError(N_("There is no action {action}; check its number."),
                        action=str(value)[:20]) from None


def update_action(engine: Engine, action_id, *, status: str | None = None,
                  note: str | None = None, due=None, owner: str | int | None = None,
                  by: int | None = None, now: datetime | None = None) -> dict:
    """Change an action's status, due date or owner and/or add a note, each recorded in its
    history; returns the action's row after it."""
    now = now or now_utc()
    number = action_id_of(action_id)
    note = clean_text(note, "description")
    with write_transaction(engine) as conn:
        row = conn.execute(select(actions).where(actions.c.id == number)).mappings().first()
        if row is None:
            raise UserError(N_("There is no action {action}; check its number."),
                            action=str(action_id)[:20])
        changes: dict = {}
        if status not in (None, "") and status != row["status"]:
            changes["status"] = _one_of(status, ACTION_STATUSES, "status")
        if due not in (None, "") and parse_day(due) != row["due_on"]:
            changes["due_on"] = parse_day(due)
        if owner not in (None, ""):
            owner_id = user_id_of(conn, owner)
            if owner_id != row["owner_id"]:
                changes["owner_id"] = owner_id
        if not changes and not note:
            raise UserError(N_("Nothing to change: give a new status, due date, owner or a "
                               "note."))
        if changes:
            conn.execute(update(actions).where(actions.c.id == number)
                         .values(**changes, updated_at=max(now, row["created_at"])))
        if "status" in changes:
            conn.execute(insert(action_events).values(
                action_id=number, kind="status", at=now, user_id=by, status_from=row["status"],
                status_to=changes["status"], note=note))
            note = None
        if "due_on" in changes or "owner_id" in changes:  # the new values, in no language
            owner_email = conn.execute(select(users.c.email).where(
                users.c.id == changes["owner_id"])).scalar() if changes.get("owner_id") else None
            conn.execute(insert(action_events).values(
                action_id=number, kind="edit", at=now, user_id=by,
                note=" · ".join(str(v) for v in (changes.get("due_on"), owner_email) if v)))
        if note:
            conn.execute(insert(action_events).values(action_id=number, kind="note", at=now,
                                                      user_id=by, note=note))
        return dict(conn.execute(select(actions).where(actions.c.id == number)).mappings().one())


def _query():
    a, u, t, s, w = actions.c, users.c, teams.c, surveys.c, waves.c
    return (select(actions, u.email.label("owner_email"), u.display_name.label("owner_name"),
                   t.name.label("team"), s.code.label("survey"), s.title.label("survey_title"),
                   w.name.label("baseline_wave"), w.starts_on.label("baseline_starts"))
            .outerjoin(users, users.c.id == a.owner_id)
            .outerjoin(teams, teams.c.id == a.team_id)
            .outerjoin(surveys, surveys.c.id == a.survey_id)
            .outerjoin(waves, waves.c.id == a.baseline_wave_id))


def list_actions(engine: Engine, *, status: str | None = None, owner: str | int | None = None,
                 team: str | None = None, limit: int = 1000) -> list[dict]:
    """Actions, soonest due first, optionally of one status, owner (e-mail or id) or team
    (name); every field of the action, its owner's e-mail and name, team, survey code and
    baseline wave."""
    conditions = []
    with engine.connect() as conn:
        if status not in (None, ""):
            conditions.append(actions.c.status == _one_of(status, ACTION_STATUSES, "status"))
        if owner not in (None, ""):
            conditions.append(actions.c.owner_id == user_id_of(conn, owner))
        if team not in (None, ""):
            conditions.append(actions.c.team_id == team_id_of(conn, team))
        rows = conn.execute(_query().where(*conditions)
                            .order_by(actions.c.due_on, actions.c.id).limit(limit))
        return [dict(row) for row in rows.mappings()]


def action_of(engine: Engine, action_id) -> dict:
    """One action (as :func:`list_actions` gives it) with its ``history``, oldest first."""
    number = action_id_of(action_id)
    with engine.connect() as conn:
        row = conn.execute(_query().where(actions.c.id == number)).mappings().first()
        if row is None:
            raise UserError(N_("There is no action {action}; check its number."),
                            action=str(action_id)[:20])
        history = conn.execute(
            select(action_events, users.c.email.label("by_email"),
                   users.c.display_name.label("by_name"))
            .outerjoin(users, users.c.id == action_events.c.user_id)
            .where(action_events.c.action_id == number)
            .order_by(action_events.c.at, action_events.c.id)).mappings().all()
    return {**dict(row), "history": [dict(h) for h in history]}


def is_open(row: dict) -> bool:
    return row["status"] in OPEN_ACTION_STATUSES


def is_late(row: dict, today: date) -> bool:
    return is_open(row) and row["due_on"] < today


__all__ = ["FIELD", "METRIC_LABELS", "SOURCE_LABELS", "STATUS_LABELS", "action_id_of",
           "action_of", "clean_segment", "create_action", "is_late", "is_open", "list_actions",
           "metric_text", "parse_day", "parse_metric", "segment_choices", "segment_pairs",
           "survey_of", "update_action"]
