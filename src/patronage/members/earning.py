"""Earning rules: how members earn points (add, list, change, switch on and off, remove).

A rule has a kind (:data:`patronage.storage.schema_members.EARN_RULE_KINDS`) and what that kind
needs:

* ``purchase``: ``points_per_yuan`` (1 = one point per ¥1), optionally for one ``category``
  and/or ``channel``;
* ``member_day``: a ``multiplier`` on a ``weekday`` (0 = Monday … 6 = Sunday) or a
  ``day_of_month`` (1–31);
* ``birthday_month``: a ``multiplier`` in the month of the customer's birthday;
* ``first_purchase``, ``survey_completed``, ``referral``: fixed ``points``.

Every rule may be limited to ``tiers``, to a period (``starts_on`` … ``ends_on``) and capped per
purchase (``cap_per_transaction``; per response for surveys) and per member and calendar month
(``cap_per_month``). Category and channel apply to the purchase kinds only. How the rules
combine is stated in :mod:`patronage.members.points`; the accrual applies a rule to what it
accrues after the rule changes (points already earned stay as they are).

Bad input is a :class:`~patronage.messages.UserError` naming the field and what to do.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from patronage.messages import N_, Term, UserError
from patronage.storage import write_transaction
from patronage.storage.schema_members import (
    EARN_RULE_KINDS, earn_rules, member_tiers, point_transfers,
)

#: What each kind of rule needs; the other amounts must stay empty.
AMOUNT_OF = {"purchase": "points_per_yuan", "member_day": "multiplier",
             "birthday_month": "multiplier", "first_purchase": "points",
             "survey_completed": "points", "referral": "points"}
#: Kinds of rule that look at a purchase's category and channel.
PURCHASE_FILTER_KINDS = ("purchase", "member_day", "birthday_month", "first_purchase")
FIELDS = ("name", "category", "channel", "tiers", "points_per_yuan", "multiplier", "points",
          "weekday", "day_of_month", "cap_per_transaction", "cap_per_month", "starts_on",
          "ends_on")
WEEKDAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_POINTS_PER_YUAN = 1_000.0
MAX_MULTIPLIER = 100.0
MAX_POINTS = 1_000_000
MAX_CAP = 1_000_000_000
_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,60}$")

#: Field names as messages say them.
TERMS = {
    "kind": N_("rule kind"), "name": N_("name"), "code": N_("rule code"),
    "category": N_("product category"), "channel": N_("channel"), "tiers": N_("tiers"),
    "points_per_yuan": N_("points per ¥1"), "multiplier": N_("multiplier"),
    "points": N_("points"), "weekday": N_("weekday"), "day_of_month": N_("day of the month"),
    "cap_per_transaction": N_("cap per purchase"), "cap_per_month": N_("cap per month"),
    "starts_on": N_("start date"), "ends_on": N_("end date"),
}
#: The kinds of rule as people say them.
KIND_NAMES = {
    "purchase": N_("Points per purchase"), "member_day": N_("Member day"),
    "birthday_month": N_("Birthday month"), "first_purchase": N_("First purchase"),
    "survey_completed": N_("Survey completed"), "referral": N_("Referral"),
}
#: A rule's name when none is given.
NAMES = {
    "purchase": {"en": "{rate:g} points per ¥1", "zh_Hans": "每消费 ¥1 得 {rate:g} 分",
                 "zh_Hant": "每消費 ¥1 得 {rate:g} 分"},
    "member_day": {"en": "Member day ×{multiplier:g}", "zh_Hans": "会员日 ×{multiplier:g}",
                   "zh_Hant": "會員日 ×{multiplier:g}"},
    "birthday_month": {"en": "Birthday month ×{multiplier:g}",
                       "zh_Hans": "生日月 ×{multiplier:g}", "zh_Hant": "生日月 ×{multiplier:g}"},
    "first_purchase": {"en": "First purchase bonus", "zh_Hans": "首次消费奖励",
                       "zh_Hant": "首次消費獎勵"},
    "survey_completed": {"en": "Survey completed", "zh_Hans": "完成问卷奖励",
                         "zh_Hant": "完成問卷獎勵"},
    "referral": {"en": "Referral bonus", "zh_Hans": "推荐奖励", "zh_Hant": "推薦獎勵"},
}


class RuleInUse(UserError):
    """A rule that has given points cannot be removed (switch it off instead)."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _number(value, field: str, low: float, high: float, *, whole: bool = False,
            above: bool = False):
    text = str(value).strip().replace(",", "").replace("，", "")
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if whole and number == number and number != int(number):
        number = float("nan")
    if not (number == number and (number > low if above else number >= low) and number <= high):
        if whole:
            raise UserError(N_("The {field} must be a whole number from {low} to {high}; not "
                               "{value!r}."), field=Term(TERMS[field]), low=int(low),
                            high=int(high), value=text[:20])
        raise UserError(N_("The {field} must be a number above {low} and at most {high}; not "
                           "{value!r}."), field=Term(TERMS[field]), low=f"{low:g}",
                        high=f"{high:g}", value=text[:20])
    return int(number) if whole else number


def _day(value, field: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise UserError(N_("The {field} must be a date written as 2027-01-31; not {value!r}."),
                        field=Term(TERMS[field]), value=str(value)[:20]) from None


def _weekday(value) -> int:
    text = str(value).strip().lower()[:3]
    if text in WEEKDAY_CODES:
        return WEEKDAY_CODES.index(text)
    return _number(value, "weekday", 0, 6, whole=True)


def _tiers(conn: Connection, value) -> list[str]:
    codes = [t for t in re.split(r"[,，\s]+", value) if t] if isinstance(value, str) \
        else [str(t).strip() for t in value if str(t).strip()]
    known = list(conn.execute(select(member_tiers.c.code).order_by(member_tiers.c.rank))
                 .scalars())
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise UserError(N_("There is no tier {tier!r}; the tiers are {known}."),
                        tier=unknown[0][:30], known=", ".join(known) or "–")
    return list(dict.fromkeys(codes))


def _refuse(kind: str, field: str) -> UserError:
    return UserError(N_("A rule of kind {kind} takes no {field}; leave it empty."),
                     kind=Term(KIND_NAMES[kind]), field=Term(TERMS[field]))


def check_rule(conn: Connection, kind: str, values: dict) -> dict:
    """The column values of a rule of ``kind`` from ``values`` (text from a form or the
    command line, or typed values), checked; a :class:`UserError` names what is wrong."""
    if kind not in EARN_RULE_KINDS:
        raise UserError(N_("The {field} must be one of {allowed}; not {value!r}."),
                        field=Term(TERMS["kind"]), allowed=", ".join(EARN_RULE_KINDS),
                        value=str(kind)[:30])
    given = {k: v for k, v in values.items() if k in FIELDS and not _empty(v)}
    amount = AMOUNT_OF[kind]
    for field in ("points_per_yuan", "multiplier", "points"):
        if field != amount and field in given:
            raise _refuse(kind, field)
    if amount not in given:
        raise UserError(N_("A rule of kind {kind} needs its {field}."),
                        kind=Term(KIND_NAMES[kind]), field=Term(TERMS[amount]))
    out = {field: None for field in FIELDS if field not in ("weekday", "day_of_month")}
    out["params"] = None
    if amount == "points_per_yuan":
        out[amount] = _number(given[amount], amount, 0, MAX_POINTS_PER_YUAN, above=True)
    elif amount == "multiplier":
        out[amount] = _number(given[amount], amount, 1, MAX_MULTIPLIER, above=True)
    else:
        out[amount] = _number(given[amount], amount, 1, MAX_POINTS, whole=True)
    if kind == "member_day":
        if ("weekday" in given) == ("day_of_month" in given):
            raise UserError(N_("A member day is a weekday or a day of the month: give one of "
                               "the two."))
        out["params"] = ({"weekday": _weekday(given["weekday"])} if "weekday" in given else
                         {"day_of_month": _number(given["day_of_month"], "day_of_month", 1, 31,
                                                  whole=True)})
    else:
        for field in ("weekday", "day_of_month"):
            if field in given:
                raise _refuse(kind, field)
    for field, length in (("category", 100), ("channel", 50)):
        if field in given:
            if kind not in PURCHASE_FILTER_KINDS:
                raise _refuse(kind, field)
            out[field] = str(given[field]).strip()[:length]
    if "tiers" in given:
        out["tiers"] = _tiers(conn, given["tiers"]) or None
    for field in ("cap_per_transaction", "cap_per_month"):
        if field in given:
            out[field] = _number(given[field], field, 0, MAX_CAP, whole=True)
    for field in ("starts_on", "ends_on"):
        if field in given:
            out[field] = _day(given[field], field)
    if out["starts_on"] and out["ends_on"] and out["ends_on"] < out["starts_on"]:
        raise UserError(N_("The end date {end} is before the start date {start}."),
                        end=out["ends_on"].isoformat(), start=out["starts_on"].isoformat())
    if "name" in given:
        out["name"] = str(given["name"]).strip()[:200]
    return out


def default_name(kind: str, values: dict, language: str = "zh_Hans") -> str:
    """A rule's name in ``language`` from what it does."""
    names = NAMES[kind]
    return names.get(language, names["en"]).format(
        rate=values.get("points_per_yuan") or 0, multiplier=values.get("multiplier") or 1)


def _where(rule):
    text = str(rule).strip()
    return earn_rules.c.id == int(text) if text.isdigit() else earn_rules.c.code == text


def _find(conn: Connection, rule) -> dict:
    row = conn.execute(select(earn_rules).where(_where(rule))).mappings().first()
    if row is None:
        raise UserError(N_("There is no earning rule {rule!r}."), rule=str(rule)[:60])
    return dict(row)


def add_rule(engine: Engine, kind: str, *, code: str | None = None, language: str = "zh_Hans",
             now: datetime | None = None, **values) -> dict:
    """Add a switched-on rule of ``kind`` with ``values`` (see :func:`check_rule`); returns
    ``{"id", "code", "name"}``. ``code`` defaults to ``<kind>-<n>``, the name to what the
    rule does, in ``language``."""
    code = (code or "").strip() or None
    if code is not None and not _CODE.match(code):
        raise UserError(N_("A rule code is 1 to 60 letters, digits, dots, dashes or "
                           "underscores; not {code!r}."), code=code[:60])
    with write_transaction(engine) as conn:
        checked = check_rule(conn, kind, values)
        checked["name"] = checked["name"] or default_name(kind, checked, language)
        if code is None:
            last = conn.execute(select(func.max(earn_rules.c.id))).scalar() or 0
            code = f"{kind}-{last + 1}"
        if conn.execute(select(earn_rules.c.id).where(earn_rules.c.code == code)).first():
            raise UserError(N_("There is a rule {code!r} already; choose another code."),
                            code=code)
        rule_id = conn.execute(insert(earn_rules).values(
            code=code, kind=kind, active=True, created_at=now or _now(), **checked)
        ).inserted_primary_key[0]
    return {"id": int(rule_id), "code": code, "name": checked["name"]}


def _as_values(row: dict) -> dict:
    values = {field: row.get(field) for field in FIELDS if field in row}
    values.update(row.get("params") or {})
    return values


def update_rule(engine: Engine, rule, **changes) -> dict:
    """Change a rule (by id or code): each field in ``changes`` that is not None takes its
    new value (an empty text clears an optional field); the rule is checked whole again.
    Returns ``{"id", "code", "name"}``."""
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise ValueError(f"earning rules have no field {unknown[0]!r}")
    with write_transaction(engine) as conn:
        row = _find(conn, rule)
        values = _as_values(row)
        if changes.get("weekday") not in (None, ""):
            values.pop("day_of_month", None)
        if changes.get("day_of_month") not in (None, ""):
            values.pop("weekday", None)
        values.update({k: v for k, v in changes.items() if v is not None})
        checked = check_rule(conn, row["kind"], values)
        checked["name"] = checked["name"] or row["name"]
        conn.execute(update(earn_rules).where(earn_rules.c.id == row["id"]).values(**checked))
    return {"id": int(row["id"]), "code": row["code"], "name": checked["name"]}


def get_rule(engine: Engine, rule) -> dict:
    """One rule (by id or code) with its member-day ``weekday`` / ``day_of_month``."""
    with engine.connect() as conn:
        row = _find(conn, rule)
    return {**row, **(row.get("params") or {})}


def list_rules(engine: Engine) -> list[dict]:
    """Every rule, switched-on ones first, with the points it has given (``given``)."""
    p = point_transfers.c
    given = (select(p.rule_id, func.sum(p.points).label("given"))
             .where(p.rule_id.is_not(None)).group_by(p.rule_id).subquery())
    query = (select(earn_rules, func.coalesce(given.c.given, 0).label("given"))
             .outerjoin(given, given.c.rule_id == earn_rules.c.id)
             .order_by(earn_rules.c.active.desc(), earn_rules.c.id))
    with engine.connect() as conn:
        return [{**row, **(row["params"] or {}), "given": int(row["given"])}
                for row in conn.execute(query).mappings()]


def switch_rule(engine: Engine, rule, active: bool) -> str:
    """Switch a rule (by id or code) on or off; returns its code."""
    with write_transaction(engine) as conn:
        row = _find(conn, rule)
        conn.execute(update(earn_rules).where(earn_rules.c.id == row["id"])
                     .values(active=bool(active)))
    return row["code"]


def remove_rule(engine: Engine, rule) -> str:
    """Delete a rule (by id or code) that has given no points yet; returns its code. A rule
    that has given points is switched off instead, so the ledger keeps which rule gave them."""
    with write_transaction(engine) as conn:
        row = _find(conn, rule)
        if conn.execute(select(point_transfers.c.id)
                        .where(point_transfers.c.rule_id == row["id"]).limit(1)).first():
            raise RuleInUse(N_("The rule {code} has given points, so it stays on record: switch "
                               "it off instead."), code=row["code"])
        conn.execute(delete(earn_rules).where(earn_rules.c.id == row["id"]))
    return row["code"]


__all__ = ["AMOUNT_OF", "FIELDS", "KIND_NAMES", "NAMES", "PURCHASE_FILTER_KINDS", "RuleInUse",
           "TERMS", "WEEKDAY_CODES", "add_rule", "check_rule", "default_name", "get_rule",
           "list_rules", "remove_rule", "switch_rule", "update_rule"]
