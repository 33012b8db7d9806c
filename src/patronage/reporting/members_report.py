"""The programme report page (``/members/report``): headline figures with the number of members
behind each, earn and burn per month, liability and breakage, the tier migration matrix, the
programme's incremental effect in a manager's words, and the loyalty types with their rules and
the customers behind each (``/members/report/types/<type>``).

The figures are computed through :func:`patronage.reporting.shared.shared_call`, so the page's
three languages (computed apart, as they carry translated words) share one computation.

Each section is computed on its own: one that cannot be (no members yet, no member with a year
before and after joining) says why, and the others still show.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import plotly.graph_objects as go
from sqlalchemy import Engine

from patronage.analytics.loyalty_types import loyalty_summary
from patronage.analytics.programme import CLOSED, NEW, NO_TIER
from patronage.members import report
from patronage.messages import N_, UserError, translated
from patronage.reporting import formats
from patronage.reporting.charts import (
    _LAYOUT, COLOURWAY, amount_axis, amount_texts, figure_json, hover,
)
from patronage.reporting.selection_lists import LIST_ROWS, CustomerList
from patronage.reporting.shared import shared_call

SMALL_N = report.SMALL_N
TYPE_NAMES = {
    "monopoly": N_("Monopoly loyalty"), "affinity": N_("Affinity loyalty"),
    "trust": N_("Trust loyalty (earned)"), "incentive": N_("Incentive loyalty (bought)"),
    "inertia": N_("Inertia loyalty (habit)"), "latent": N_("Latent loyalty"),
    "none": N_("Not loyal"),
}
OUTCOME_NAMES = {"spend": N_("Spend per member in the 12 months after joining"),
                 "purchases": N_("Purchases per member in the 12 months after joining"),
                 "retained": N_("Still buying 7–12 months after joining")}
METHOD_NAMES = {"matched": N_("Matched comparison"),
                "naive": N_("All members against all non-members (unmatched)"),
                "did": N_("Difference-in-differences, matched")}
FEATURE_NAMES = {"recency_days": N_("Days since the last purchase"),
                 "frequency": N_("Purchases in the {months} months before"),
                 "monetary": N_("Spend in the {months} months before")}
MIGRATION_NAMES = {NEW: N_("Joined in the period"), CLOSED: N_("Membership closed"),
                   NO_TIER: N_("No tier")}
LEFT_OUT = {"no_history": N_("less than {months} months of purchases before joining"),
            "no_follow_up": N_("joined less than 13 months before the data end"),
            "unmatched": N_("no comparable non-member")}
#: Columns of the list of customers behind a loyalty type.
LIST_COLUMNS = {"name": N_("Name"), "member": N_("Member"), "purchases": N_("Purchases, 12 months"),
                "recency_days": N_("Days since the last purchase"),
                "incentive_share": N_("Share of purchases with a bonus"),
                "trust": N_("Trust"), "nps": N_("Likelihood to recommend"),
                "satisfaction": N_("Satisfaction")}


def _problem(exc: Exception, gettext) -> str:
    return translated(exc if isinstance(exc, UserError) else UserError(str(exc)), gettext)


def _section(build, gettext) -> dict:
    """``{"problem": None, **build()}``, or the reason the section cannot be shown."""
    try:
        return {"problem": None, **build()}
    except ValueError as exc:
        return {"problem": _problem(exc, gettext)}


def _finite(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) \
        else float(value)


def _flows_chart(monthly: pd.DataFrame, _, language: str = "en") -> str:
    """Points issued (up), redeemed and expired (down) per month; the axis and the tooltips
    in 万/亿 on Chinese pages."""
    months = [str(m) for m in monthly.index]
    figure = go.Figure()
    down = 0
    for column, sign, colour, name in (
            ("issued", 1, COLOURWAY[0], _("Points issued")),
            ("redeemed", -1, COLOURWAY[2], _("Points redeemed")),
            ("expired", -1, COLOURWAY[4], _("Points expired"))):
        values = monthly[column] - (monthly["returned"] if column == "redeemed" else 0)
        down = down + (values if sign < 0 else 0)
        figure.add_trace(go.Bar(x=months, y=[sign * v for v in values], name=name,
                                marker_color=colour,
                                customdata=amount_texts(values, language),
                                hovertemplate=hover("%{x}", f"{name} %{{customdata}}")))
    reach = [*monthly["issued"], *(-down if len(monthly) else [])]
    figure.update_layout(title=_("Points issued, redeemed and expired per month"),
                         barmode="relative", xaxis=dict(type="category"),
                         yaxis=dict(title=_("Points per month"),
                                    **amount_axis(reach, language)),
                         legend=dict(orientation="h", y=-0.25), **_LAYOUT)
    return figure_json(figure)


def _outstanding_chart(monthly: pd.DataFrame, _, language: str = "en") -> str:
    """Members' outstanding points at each month's end (in 万/亿 on Chinese pages)."""
    name = _("Outstanding points")
    values = list(monthly["outstanding"])
    figure = go.Figure(go.Scatter(
        x=[str(m) for m in monthly.index], y=values, name=name,
        mode="lines+markers", line=dict(color=COLOURWAY[1]),
        customdata=amount_texts(values, language),
        hovertemplate=hover("%{x}", f"{name} %{{customdata}}")))
    figure.update_layout(title=_("Outstanding points at each month's end"),
                         xaxis=dict(type="category"),
                         yaxis=dict(title=name, **amount_axis(values, language)),
                         **_LAYOUT)
    return figure_json(figure)


def _figures(engine: Engine, data, since, until, _, language: str) -> dict:
    found = shared_call(report.programme_figures, engine, since=since, until=until, data=data)
    monthly = found.monthly
    rows = [{"month": str(m), "members": int(r["members"]), "active": int(r["active"]),
             "issued": r["issued"], "redeemed": r["redeemed"] - r["returned"],
             "expired": r["expired"], "reversed": r["reversed"], "outstanding": r["outstanding"]}
            for m, r in monthly.iloc[::-1].iterrows()]
    names = {t.code: t.name(language) for t in found.tiers}
    label = {**{k: _(v) for k, v in MIGRATION_NAMES.items()}, **names}
    counts, shares = found.migration, found.migration_shares
    migration = {"columns": [label.get(c, c) for c in counts.columns],
                 "rows": [{"label": label.get(t, t), "total": int(counts.loc[t].sum()),
                           "cells": [{"n": int(counts.loc[t, c]),
                                      "share": _finite(shares.loc[t, c])}
                                     for c in counts.columns]} for t in counts.index]}
    return {"since": found.since, "until": found.until, "headline": found.headline,
            "redemption": found.redemption, "breakage": found.breakage,
            "liability": found.liability, "monthly": rows,
            "charts": {"flows": _flows_chart(monthly, _, language),
                       "outstanding": _outstanding_chart(monthly, _, language)},
            "migration": migration, "active_months": found.policy.active_months}


def _effect_sentences(effect, _) -> list[str]:
    spend, naive = effect.estimate("spend"), effect.estimate("spend", "naive")
    money = formats.money
    lines = []
    if spend["low"] > 0 or spend["high"] < 0:
        lines.append(_("Members spend {effect} a year more than comparable non-members "
                       "(95% interval {low} to {high}; {n} members matched).").format(
            effect=money(spend["estimate"]), low=money(spend["low"]),
            high=money(spend["high"]), n=f"{int(spend['n_treated']):,}"))
    else:
        lines.append(_("The programme's effect on members' spend cannot be told from chance: "
                       "{effect} a year (95% interval {low} to {high}; {n} members "
                       "matched).").format(effect=money(spend["estimate"]),
                                           low=money(spend["low"]), high=money(spend["high"]),
                                           n=f"{int(spend['n_treated']):,}"))
    ratio = effect.overstatement
    if not math.isnan(ratio) and ratio > 1:
        lines.append(_("Comparing all members with all non-members says {naive}: that "
                       "overstates the programme's effect {ratio} times. The rest is loyalty "
                       "the members had before they joined.").format(
            naive=money(naive["estimate"]), ratio=f"{ratio:.1f}"))
    return lines


def _effect(engine: Engine, data, until, _) -> dict:
    effect = shared_call(report.programme_effect_of, engine, until=until, data=data)
    rows = []
    order = {(o, m): (i, j) for i, o in enumerate(OUTCOME_NAMES)
             for j, m in enumerate(METHOD_NAMES)}
    for (outcome, method), r in sorted(effect.effects.iterrows(), key=lambda x: order[x[0]]):
        rows.append({"outcome": _(OUTCOME_NAMES[outcome]), "method": _(METHOD_NAMES[method]),
                     "key": f"{outcome}-{method}", "kind": outcome,
                     "estimate": r["estimate"], "low": r["low"], "high": r["high"],
                     "treated": r["treated_mean"], "control": r["control_mean"],
                     "n_treated": int(r["n_treated"]), "n_control": int(r["n_control"]),
                     "small": bool(r["small"])})
    months = effect.settings["pre_months"]
    balance = [{"feature": _(FEATURE_NAMES[f]).format(months=months), "treated": r["treated_mean"],
                "candidates": r["candidates_mean"], "matched": r["matched_mean"],
                "before": r["smd_before"], "after": r["smd_after"],
                "kind": "money" if f == "monetary" else "num0"}
               for f, r in effect.balance.iterrows()]
    counts = effect.counts
    left_out = [{"reason": _(text).format(months=months), "n": counts[key]}
                for key, text in LEFT_OUT.items() if counts.get(key)]
    return {"sentences": _effect_sentences(effect, _), "rows": rows, "balance": balance,
            "counts": counts, "left_out": left_out, "small": counts["matched"] < SMALL_N,
            "pre_months": months}


def _types(engine: Engine, data, until, _, language: str) -> dict:
    classified = shared_call(report.loyalty_types, engine, as_of=until, data=data)
    summary = loyalty_summary(classified, language=language)
    members = classified.loc[classified["member"], "loyalty_type"].value_counts()
    rows = [{"code": code, "name": _(TYPE_NAMES[code]), "customers": int(r["customers"]),
             "members": int(members.get(code, 0)), "share": _finite(r["share"]),
             "rule": r["rule"]} for code, r in summary.iterrows()]
    return {"rows": rows, "as_of": classified.attrs["as_of"], "total": len(classified),
            "classified": classified}


def report_page(engine: Engine, *, language: str, gettext, since: date | None = None,
                until: date | None = None) -> dict:
    """What the programme report shows (see the module's notes)."""
    _ = gettext
    data = shared_call(report.load_data, engine)
    figures = _section(lambda: _figures(engine, data, since, until, _, language), _)
    end = figures.get("until", until)
    return {"figures": figures, "effect": _section(lambda: _effect(engine, data, end, _), _),
            "types": _section(lambda: _types(engine, data, end, _, language), _),
            "since": figures.get("since", since), "until": end, "small_n": SMALL_N}


def type_list(page: dict, code: str, gettext) -> CustomerList:
    """The customers of one loyalty type, from a computed report page, most purchases first."""
    _ = gettext
    if code not in TYPE_NAMES:
        raise UserError(N_("There is no loyalty type {name!r}; the types are {choices}."),
                        name=str(code)[:40], choices=", ".join(TYPE_NAMES))
    types = page["types"]
    if types.get("problem"):
        raise UserError(types["problem"])
    classified = types["classified"]
    chosen = classified.loc[classified["loyalty_type"] == code]
    table = chosen[list(LIST_COLUMNS)].sort_values(["purchases", "recency_days"],
                                                   ascending=[False, True])
    table = table.assign(member=[_("yes") if m else _("no") for m in table["member"]])
    total = len(table)
    shown = table.head(LIST_ROWS).copy()
    keys = chosen["customer_pk"]
    shown.attrs["links"] = {i: int(keys[i]) for i in shown.index if not pd.isna(keys[i])}
    shown.attrs["formats"] = {"incentive_share": ("percent", 0), "trust": ("number", 0),
                              "nps": ("number", 0), "satisfaction": ("number", 0),
                              "recency_days": ("number", 0), "purchases": ("number", 0)}
    rule = next(r["rule"] for r in types["rows"] if r["code"] == code)
    return CustomerList(f"loyalty-{code}", _(TYPE_NAMES[code]), shown, total, rule)


__all__ = ["LIST_COLUMNS", "METHOD_NAMES", "OUTCOME_NAMES", "TYPE_NAMES", "report_page",
           "type_list"]
