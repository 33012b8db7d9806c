"""Alert rules: survey answers that open a case by themselves.

A rule's condition is written the way a CX manager says it::

    nps <= 6
    overall_satisfaction <= 4
    comment contains 投诉|退货|律师
    key_account and nps < 7

(clauses joined by ``and``; ``contains`` matches any of the ``|``-separated words). It is stored
as JSON and checked against each new response by the worker. Each response makes at most one
case per rule: the database refuses a second (``uq_cases_rule_response``), so a replayed or raced
submission, or two workers at once, still give one case.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from patronage.cases.config import DEFAULT, DeskConfig
from patronage.cases.desk import NewCase, case_values, open_on
from patronage.cases.inputs import category_code, clean_text, now_utc, one_of
from patronage.cases.routing import is_key_account
from patronage.messages import N_, UserError
from patronage.storage import write_transaction
from patronage.storage.schema import (
    CASE_SEVERITIES, CASE_TYPES, answers, customers, invitations, responses, surveys,
)
from patronage.storage.schema_cases import case_rules

OPS = {"<=": "lte", "<": "lt", ">=": "gte", ">": "gt", "=": "eq", "==": "eq", "!=": "ne"}
_CLAUSE = re.compile(r"^\s*([\w.\-]+)\s*(<=|>=|==|!=|<|>|=)\s*(-?\d+(?:\.\d+)?)\s*$")
_CONTAINS = re.compile(r"^\s*([\w.\-]+)\s+(?:contains|包含)\s+(.+?)\s*$", re.IGNORECASE)
_SPLIT_AND = re.compile(r"\s+(?:and|且|并且)\s+|\s*&&\s*", re.IGNORECASE)


def parse_condition(text: str) -> dict[str, Any]:
    """``"nps <= 6 and comment contains 投诉|退货"`` → the stored JSON form."""
    text = clean_text(text, "condition", required=True)
    clauses = []
    for part in _SPLIT_AND.split(text):
        if part.strip().lower() in ("key_account", "key account", "大客户", "大客戶"):
            clauses.append({"key_account": True})
        elif match := _CLAUSE.match(part):
            clauses.append({"item": match.group(1), "op": OPS[match.group(2)],
                            "value": float(match.group(3))})
        elif match := _CONTAINS.match(part):
            words = [w.strip() for w in re.split(r"[|,，、]", match.group(2)) if w.strip()]
            clauses.append({"item": match.group(1), "contains": words})
        else:
            raise UserError(N_("Cannot read the condition {part!r}; write e.g. nps <= 6, "
                               "comment contains 投诉|退货, or key_account and nps < 7."),
                            part=part.strip()[:80])
    return {"all": clauses}


def describe(condition: dict[str, Any]) -> str:
    """The condition written back as text."""
    names = {v: k for k, v in OPS.items() if k != "=="}
    parts = []
    for clause in condition.get("all", []):
        if clause.get("key_account"):
            parts.append("key_account")
        elif "contains" in clause:
            parts.append(f"{clause['item']} contains {'|'.join(clause['contains'])}")
        else:
            parts.append(f"{clause['item']} {names[clause['op']]} {clause['value']:g}")
    return " and ".join(parts)


def _holds(clause: dict, numbers: dict, texts: dict, customer: dict) -> bool:
    if clause.get("key_account"):
        return is_key_account(customer)
    item = clause["item"]
    if "contains" in clause:
        text = texts.get(item) or ""
        return any(word.lower() in text.lower() for word in clause["contains"])
    value = numbers.get(item)
    if value is None:
        return False  # a missing answer is missing, never zero
    target = clause["value"]
    return {"lte": value <= target, "lt": value < target, "gte": value >= target,
            "gt": value > target, "eq": value == target, "ne": value != target}[clause["op"]]


def matches(condition: dict, numbers: dict, texts: dict, customer: dict) -> bool:
    return all(_holds(c, numbers, texts, customer) for c in condition.get("all", []))


def add_rule(engine: Engine, code: str, name: str, condition: str, *, case_type: str = "detractor",
             severity: str = "normal", category: str | None = None, survey: str | None = None,
             now: datetime | None = None, from_start: bool = False) -> int:
    """A new rule. It looks at responses that arrive from now on, or at every stored response
    with ``from_start``."""
    parsed = parse_condition(condition)
    one_of(case_type, CASE_TYPES, "type")
    one_of(severity, CASE_SEVERITIES, "severity")
    code, name = clean_text(code, "code", required=True), clean_text(name, "name", required=True)
    try:
        with write_transaction(engine) as conn:
            survey_id = None
            if survey:
                survey_id = conn.execute(select(surveys.c.id)
                                         .where(surveys.c.code == survey)).scalar()
                if survey_id is None:
                    raise UserError(N_("There is no survey {survey!r}."), survey=survey)
            start = 0 if from_start else conn.execute(
                select(responses.c.id).order_by(responses.c.id.desc()).limit(1)).scalar() or 0
            return int(conn.execute(insert(case_rules).values(
                code=code, name=name, survey_id=survey_id, condition=parsed, case_type=case_type,
                category=category_code(conn, category), severity=severity,
                created_at=now or now_utc(), checked_up_to=start)).inserted_primary_key[0])
    except IntegrityError:
        raise UserError(N_("A rule with the code {code!r} exists already."), code=code) from None


def remove_rule(engine: Engine, code: str) -> None:
    """Switch a rule off (the cases it made keep their link to it)."""
    with write_transaction(engine) as conn:
        done = conn.execute(update(case_rules).where(case_rules.c.code == code)
                            .values(active=False)).rowcount
    if not done:
        raise UserError(N_("There is no rule {code!r}."), code=code)


def list_rules(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(case_rules, surveys.c.code.label("survey"))
                            .outerjoin(surveys, surveys.c.id == case_rules.c.survey_id)
                            .order_by(case_rules.c.id)).mappings().all()
    return [{**dict(r), "condition_text": describe(r["condition"])} for r in rows]


def apply_rules(engine: Engine, *, now: datetime | None = None, batch: int = 500,
                config: DeskConfig = DEFAULT) -> int:
    """Check new responses against every active rule; returns how many cases were opened."""
    opened = 0
    with engine.connect() as conn:
        rules = conn.execute(select(case_rules).where(case_rules.c.active)
                             .order_by(case_rules.c.id)).mappings().all()
    for rule in rules:
        while True:
            made, more = _apply_batch(engine, dict(rule), now or now_utc(), batch, config)
            opened += made
            if not more:
                break
    return opened


def _apply_batch(engine: Engine, rule: dict, now: datetime, batch: int, config: DeskConfig):
    r = responses.c
    with write_transaction(engine) as conn:
        cursor = conn.execute(select(case_rules.c.checked_up_to)
                              .where(case_rules.c.id == rule["id"])).scalar()
        # An answer to the check after a case belongs to that case (it may reopen it), not to
        # a new one.
        query = (select(r.id, r.customer_id, r.survey_id, r.submitted_at, r.touchpoint_id,
                        invitations.c.case_id)
                 .outerjoin(invitations, invitations.c.id == r.invitation_id)
                 .where(r.id > cursor).order_by(r.id).limit(batch))
        if rule["survey_id"] is not None:
            query = query.where(r.survey_id == rule["survey_id"])
        rows = conn.execute(query).mappings().all()
        if not rows:
            return 0, False
        ids = [row["id"] for row in rows]
        numbers, texts = answers_of(conn, ids)
        people = _customers(conn, {row["customer_id"] for row in rows if row["customer_id"]})
        made = 0
        for row in rows:
            customer = people.get(row["customer_id"])
            if customer is None or row["case_id"] is not None:  # anonymous, or a case's check
                continue
            n, t = numbers.get(row["id"], {}), texts.get(row["id"], {})
            if not matches(rule["condition"], n, t, customer):
                continue
            made += _open_for(conn, rule, row, customer, n, t, now, config)
        conn.execute(update(case_rules).where(case_rules.c.id == rule["id"])
                     .values(checked_up_to=max(ids)))
    return made, len(rows) == batch


def _open_for(conn, rule, row, customer, numbers, texts, now, config) -> int:
    facts = [f"{c['item']} = {numbers[c['item']]:g}" for c in rule["condition"]["all"]
             if "op" in c and c["item"] in numbers]
    comment = next((texts[c["item"]] for c in rule["condition"]["all"]
                    if "contains" in c and texts.get(c["item"])), None)
    comment = comment or next((v for k, v in texts.items() if v), None)
    new = NewCase(customer=None, customer_pk=row["customer_id"],
                  subject=f"{rule['name']}: {', '.join(facts) or customer['name']}"[:300],
                  description=comment, type=rule["case_type"], channel="survey",
                  category=rule["category"], severity=rule["severity"],
                  contact=customer.get("phone") or customer.get("email"),
                  response_id=row["id"], survey_id=row["survey_id"], rule_id=rule["id"],
                  touchpoint_kind="survey", touchpoint_pk=row["touchpoint_id"],
                  extra={"rule": rule["code"]})
    savepoint = conn.begin_nested()
    try:
        open_on(conn, new, case_values(new), by=None, now=now, config=config)
    except IntegrityError:  # another worker made it first
        savepoint.rollback()
        return 0
    savepoint.commit()
    return 1


def answers_of(conn, ids: list[int]):
    numbers: dict[int, dict] = {}
    texts: dict[int, dict] = {}
    a = answers.c
    for rid, item, num, text in conn.execute(
            select(a.response_id, a.item_code, a.value_num, a.value_text)
            .where(a.response_id.in_(ids))):
        if num is not None:
            numbers.setdefault(rid, {})[item] = float(num)
        if text:
            texts.setdefault(rid, {})[item] = text
    return numbers, texts


def _customers(conn, pks: set[int]) -> dict[int, dict]:
    if not pks:
        return {}
    c = customers.c
    rows = conn.execute(select(c.id, c.name, c.size, c.phone, c.email).where(c.id.in_(pks)))
    return {row.id: dict(row._mapping) for row in rows}


__all__ = ["add_rule", "answers_of", "apply_rules", "describe", "list_rules", "matches", "parse_condition",
           "remove_rule"]
