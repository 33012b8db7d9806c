"""The earning rules page and table: each rule said in words in the reader's language
("每消费 ¥1 得 1 分 · 仅限家电"), what it has given, and the accrual's last run."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from sqlalchemy import Engine

from patronage.members.accrual import last_run
from patronage.members.earning import KIND_NAMES, list_rules
from patronage.members.points import MULTIPLIER_KINDS
from patronage.members.programme import load_tiers
from patronage.messages import N_
from patronage.reporting.case_desk import local_time
from patronage.storage.schema_members import EARN_RULE_KINDS

KIND_LABELS = KIND_NAMES
WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"),
            N_("Saturday"), N_("Sunday"))
#: How the rules combine, as the page states it.
HOW = (
    N_("A purchase earns from the most specific matching purchase rule: one for its category "
       "and channel, else its category, else its channel, else any purchase (the most generous "
       "among equally specific rules)."),
    N_("The tier's multiplier and every matching member day and birthday month multiply those "
       "points; the product is rounded down to whole points."),
    N_("Points count from the day a member joins, once per purchase. A refund takes back the "
       "points of the purchase it names in proportion to the money returned."),
    N_("A change applies to purchases accrued after it; points already earned stay."),
)


def _identity(text: str) -> str:
    return text


def _number(value) -> str:
    number = float(value)
    return f"{int(number):,}" if number == int(number) else f"{number:,.2f}".rstrip("0")


def describe(rule: dict, gettext: Callable[[str], str] = _identity,
             label: Callable[[str, object], str] | None = None,
             tier_names: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """What the rule gives, and its limits, in words: ``("每消费 ¥1 得 2 分", ["仅限家电"])``.
    ``label(kind, value)`` shows a category or channel value; ``tier_names`` names tiers."""
    label = label or (lambda _kind, value: str(value))
    tier_names = tier_names or {}
    kind = rule["kind"]
    if kind == "purchase":
        does = gettext(N_("{points} points per ¥1")).format(
            points=_number(rule["points_per_yuan"]))
    elif kind == "member_day" and rule.get("weekday") is not None:
        does = gettext(N_("×{multiplier} points every {weekday}")).format(
            multiplier=_number(rule["multiplier"]),
            weekday=gettext(WEEKDAYS[int(rule["weekday"])]))
    elif kind == "member_day":
        does = gettext(N_("×{multiplier} points on day {day} of every month")).format(
            multiplier=_number(rule["multiplier"]), day=int(rule.get("day_of_month") or 1))
    elif kind == "birthday_month":
        does = gettext(N_("×{multiplier} points in the member's birthday month")).format(
            multiplier=_number(rule["multiplier"]))
    elif kind == "first_purchase":
        does = gettext(N_("{points} points for a member's first purchase")).format(
            points=_number(rule["points"]))
    elif kind == "survey_completed":
        does = gettext(N_("{points} points for each survey a member completes")).format(
            points=_number(rule["points"]))
    else:
        does = gettext(N_("{points} points to the referrer when a referred member first "
                          "buys")).format(points=_number(rule["points"]))
    limits = []
    if rule.get("category"):
        limits.append(gettext(N_("{category} only")).format(
            category=label("category", rule["category"])))
    if rule.get("channel"):
        limits.append(gettext(N_("{channel} channel only")).format(
            channel=label("channel", rule["channel"])))
    if rule.get("tiers"):
        limits.append(gettext(N_("tiers: {tiers}")).format(
            tiers=", ".join(tier_names.get(t, t) for t in rule["tiers"])))
    if rule.get("cap_per_transaction") is not None:
        text = (N_("at most {n} points per response") if kind == "survey_completed"
                else N_("at most {n} points per purchase"))
        limits.append(gettext(text).format(n=_number(rule["cap_per_transaction"])))
    if rule.get("cap_per_month") is not None:
        limits.append(gettext(N_("at most {n} points per member a month")).format(
            n=_number(rule["cap_per_month"])))
    if rule.get("starts_on"):
        limits.append(gettext(N_("from {day}")).format(day=rule["starts_on"].isoformat()))
    if rule.get("ends_on"):
        limits.append(gettext(N_("until {day}")).format(day=rule["ends_on"].isoformat()))
    return does, limits


def rules_page(engine: Engine, *, language: str, gettext: Callable[[str], str],
               label: Callable[[str, object], str] | None = None,
               timezone: str | None = None) -> dict:
    """The rules with what each does in words, the form's choices and the last accrual run
    (times in ``timezone``)."""
    with engine.connect() as conn:
        tiers = load_tiers(conn)
    names = {t.code: t.name(language) for t in tiers}
    rules = []
    for rule in list_rules(engine):
        does, limits = describe(rule, gettext, label, names)
        # An uncapped member day or birthday multiplies the purchase's own points: what it
        # added is part of them, not a transfer of its own.
        in_purchase = rule["kind"] in MULTIPLIER_KINDS and rule["cap_per_transaction"] is None \
            and rule["cap_per_month"] is None
        rules.append({**rule, "does": does, "limits": limits, "in_purchase": in_purchase,
                      "kind_label": KIND_LABELS[rule["kind"]]})
    last = last_run(engine)
    for key in ("run_at", "earned_at"):
        last[key] = local_time(last[key], timezone) if last[key] else None
    return {"rules": rules, "last": last, "how": HOW,
            "kinds": [(k, KIND_LABELS[k]) for k in EARN_RULE_KINDS],
            "tiers": [(t.code, names[t.code]) for t in tiers],
            "weekdays": list(enumerate(WEEKDAYS)),
            "any_active": any(r["active"] for r in rules)}


def rule_table(engine: Engine) -> pd.DataFrame:
    """The rules for the command line: what each does in words (English), limits, points
    given."""
    rows = []
    for rule in list_rules(engine):
        does, limits = describe(rule)
        rows.append({"id": rule["id"], "code": rule["code"], "name": rule["name"],
                     "kind": rule["kind"], "does": does, "limits": "; ".join(limits),
                     "active": bool(rule["active"]), "points_given": rule["given"]})
    return pd.DataFrame(rows, columns=["id", "code", "name", "kind", "does", "limits", "active",
                                       "points_given"])


__all__ = ["HOW", "KIND_LABELS", "WEEKDAYS", "describe", "rule_table", "rules_page"]
