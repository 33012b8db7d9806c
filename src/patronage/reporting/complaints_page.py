"""The complaint analysis page: sections built from :mod:`patronage.cases.analysis`, each a
table (every number with its n), a chart where one helps, a plain-words reading, or the reason
it cannot be computed, in the reader's language.

Numbers are written with :mod:`patronage.reporting.formats`; titles and labels are English
messages marked with :func:`N_` and translated with the ``gettext`` the page passes in.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from patronage.actions.sources import new_action_link
from patronage.cases import analysis
from patronage.messages import N_, Term, UserError, translated
from patronage.reporting import formats
from patronage.labels import TOUCHPOINT_NAMES, labels_for
from patronage.reporting.case_desk import category_names
from patronage.reporting.charts import _LAYOUT, figure_json, hover
from patronage.reporting.shared import shared_call

VOLUME_BY = (("category", N_("Cases by category")), ("touchpoint", N_("Cases by touchpoint")),
             ("region", N_("Cases by region")), ("product", N_("Cases by product")),
             ("month", N_("Cases by month")))
TOUCHPOINT_LABELS = TOUCHPOINT_NAMES
GROUP_LABELS = {"resolved_well": N_("Complaint resolved well"),
                "never_complained": N_("Never complained"),
                "resolved_badly": N_("Complaint resolved badly")}
#: The other group of a comparison, as the reading names it.
OTHERS = {"never_complained": N_("customers who never complained"),
          "resolved_badly": N_("customers whose complaint was resolved badly")}
READINGS = {
    (False, "higher"): N_("Customers whose complaint was resolved well later gave a likelihood to "
                          "recommend {diff} points higher than {other} (95% interval {low} to "
                          "{high})."),
    (False, "lower"): N_("Customers whose complaint was resolved well later gave a likelihood to "
                         "recommend {diff} points lower than {other} (95% interval {low} to "
                         "{high})."),
    (False, "unclear"): N_("Between customers whose complaint was resolved well and {other}, the "
                           "later likelihood to recommend shows no clear difference ({diff} "
                           "points; 95% interval {low} to {high})."),
    (True, "higher"): N_("Customers whose complaint was resolved well bought again {diff} "
                         "percentage points more often than {other} (95% interval {low} to "
                         "{high})."),
    (True, "lower"): N_("Customers whose complaint was resolved well bought again {diff} "
                        "percentage points less often than {other} (95% interval {low} to "
                        "{high})."),
    (True, "unclear"): N_("Between customers whose complaint was resolved well and {other}, "
                          "buying again shows no clear difference ({diff} percentage points; 95% "
                          "interval {low} to {high})."),
}
NOT_COMPUTED = N_("There are not enough data for this section yet.")
SMALL = N_("Fewer than {n} customers in a group: read its numbers with care.")


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA \
        or value is pd.NaT


def _try(compute, gettext):
    """``(result, None)`` or ``(None, the reason in the reader's language)``."""
    try:
        return compute(), None
    except UserError as exc:
        return None, translated(exc, gettext)
    except (ValueError, KeyError, ZeroDivisionError):
        return None, gettext(NOT_COMPUTED)


def _bars(labels, values, title: str, y_title: str, *, errors=None, percent: bool = False,
          counts=None) -> str:
    tick = formats.D3["percent"] if percent else ".1f"
    bar = go.Bar(x=[str(x) for x in labels], y=[None if _missing(v) else float(v) for v in values],
                 customdata=[[int(n)] for n in (counts if counts is not None else [0] * len(labels))],
                 hovertemplate=hover(f"%{{x}}: %{{y:{tick}}}", "n = %{customdata[0]:,d}"))
    if errors is not None:
        bar.error_y = dict(type="data", array=list(errors[1]), arrayminus=list(errors[0]),
                           visible=True)
    figure = go.Figure(bar)
    figure.update_layout(title=title, xaxis={"type": "category"},  # months stay as written
                         yaxis={"title": y_title, "tickformat": tick if percent else None},
                         **_LAYOUT)
    return figure_json(figure)


# -- volume --------------------------------------------------------------------------------------

def _volume(engine, by: str, title: str, gettext, language: str) -> dict:
    table, problem = _try(lambda: shared_call(analysis.volume, engine, by), gettext)
    section = {"key": f"volume-{by}", "title": gettext(title), "problem": problem, "rows": []}
    if table is None:
        return section
    names = category_names(engine, language) if by == "category" else {}
    values = labels_for(engine, language, gettext) if by in ("region", "product") else None

    def label(key):
        if key == "-":
            return gettext(N_("Not given"))
        if by == "touchpoint" and key in TOUCHPOINT_LABELS:
            return gettext(TOUCHPOINT_LABELS[key])
        if values is not None:  # the company's labels of regions and products
            return values(by, key)
        return names.get(key, str(key))

    for key, row in table.iterrows():
        section["rows"].append({"label": label(key), "cases": formats.integer(row["cases"]),
                                "customers": formats.integer(None if _missing(row["customers"])
                                                             else row["customers"]),
                                "rate": formats.number(row["per_1000_customers"], 1),
                                # a category leads to planning an action that reduces it
                                "action": new_action_link("complaint", str(key))
                                if by == "category" and key != "-" else None})
    if by in ("category", "month"):
        section["chart"] = _bars([r["label"] for r in section["rows"]],
                                 table["per_1000_customers"], gettext(title),
                                 gettext(N_("Cases per 1,000 customers")),
                                 counts=table["cases"].tolist())
    section["n"] = int(table["cases"].sum())
    return section


# -- handling ------------------------------------------------------------------------------------

def _handling(engine, gettext) -> dict:
    table, problem = _try(lambda: shared_call(analysis.handling, engine), gettext)
    section = {"key": "handling", "title": gettext(N_("Handling: speed, service levels, reopening "
                                                      "and cost")), "problem": problem}
    if table is None:
        return section
    times, rates = [], []
    for key, label in (("first_response_hours", N_("Hours to the first response")),
                       ("resolution_hours", N_("Hours to the resolution"))):
        row = table.loc[key]
        times.append({"label": gettext(label), "n": formats.integer(row["n"]),
                      "median": formats.number(row["value"], 1),
                      "q1": formats.number(row["low_or_q1"], 1),
                      "q3": formats.number(row["high_or_q3"], 1),
                      "p90": formats.number(row["p90"], 1)})
    for key, label in (("sla_compliance", N_("Resolved within the service level")),
                       ("reopen_rate", N_("Reopened"))):
        row = table.loc[key]
        rates.append({"label": gettext(label), "n": formats.integer(row["n"]),
                      "value": formats.percent(row["value"], 1),
                      "low": formats.percent(row["low_or_q1"], 1),
                      "high": formats.percent(row["high_or_q3"], 1)})
    cost = table.loc["recovery_cost"]
    section.update(times=times, rates=rates, cost=formats.money(cost["value"], 0),
                   cost_n=formats.integer(cost["n"]))
    return section


# -- detractor coverage --------------------------------------------------------------------------

def _coverage(engine, gettext) -> dict:
    table, problem = _try(lambda: shared_call(analysis.detractor_coverage, engine), gettext)
    section = {"key": "coverage", "title": gettext(N_("Detractors who got a case")),
               "problem": problem}
    if table is None:
        return section
    row = table.iloc[0]
    section.update(n=formats.integer(row["n"]), with_case=formats.integer(row["with_case"]),
                   share=formats.percent(row["share"], 1), low=formats.percent(row["ci_low"], 1),
                   high=formats.percent(row["ci_high"], 1),
                   hours=formats.number(row["median_hours_to_case"], 1))
    return section


# -- the recovery paradox ------------------------------------------------------------------------

def _reading(row: pd.Series, other: str, retention: bool, gettext) -> str:
    scale = 100 if retention else 1
    diff, low, high = (float(row[c]) * scale for c in ("mean", "ci_low", "ci_high"))
    way = "unclear" if low <= 0 <= high else ("higher" if diff > 0 else "lower")
    shown = abs(diff) if way != "unclear" else diff
    return translated(UserError(READINGS[(retention, way)], other=Term(OTHERS[other]),
                                diff=formats.number(shown, 1), low=formats.number(low, 1),
                                high=formats.number(high, 1)), gettext)


def _paradox(engine, gettext, *, retention: bool, min_sample: int, window_days: int) -> dict:
    title = (N_("Recovery paradox: buying again within {days} days") if retention
             else N_("Recovery paradox: later likelihood to recommend (0–10)"))
    table, problem = _try(lambda: shared_call(analysis.recovery_paradox, engine,
                                              retention=retention, window_days=window_days),
                          gettext)
    key = "retention" if retention else "paradox"
    section = {"key": key, "title": gettext(title).format(days=window_days), "problem": problem}
    if table is None:
        return section
    groups = table.loc[[g for g in analysis.GROUPS if g in table.index]]
    if groups.empty:
        section["problem"] = gettext(NOT_COMPUTED)
        return section
    value = (lambda v: formats.percent(v, 1)) if retention else (lambda v: formats.number(v, 2))
    section["groups"] = [{"label": gettext(GROUP_LABELS[g]), "n": formats.integer(r["n"]),
                          "small": r["n"] < min_sample, "mean": value(r["mean"]),
                          "low": value(r["ci_low"]), "high": value(r["ci_high"])}
                         for g, r in groups.iterrows()]
    section["small_note"] = gettext(SMALL).format(n=min_sample) \
        if any(g["small"] for g in section["groups"]) else None
    unit = 100 if retention else 1
    section["differences"], section["readings"] = [], []
    for other in OTHERS:
        name = f"resolved_well - {other}"
        if name not in table.index:
            continue
        row = table.loc[name]
        section["differences"].append({
            "label": f"{gettext(GROUP_LABELS['resolved_well'])} − {gettext(GROUP_LABELS[other])}",
            "n": formats.integer(row["n"]), "diff": formats.signed(row["mean"] * unit, 1),
            "low": formats.number(row["ci_low"] * unit, 1),
            "high": formats.number(row["ci_high"] * unit, 1),
            "p": formats.p_value(row["p_value"])})
        section["readings"].append(_reading(row, other, retention, gettext))
    section["unit"] = gettext(N_("Difference ({unit})")).format(unit=gettext(
        N_("percentage points") if retention else N_("points on the 0–10 scale")))
    errors = (groups["mean"] - groups["ci_low"], groups["ci_high"] - groups["mean"])
    section["chart"] = _bars([g["label"] for g in section["groups"]], groups["mean"],
                             section["title"], gettext(N_("Share who bought again") if retention
                                                       else N_("Mean later score (0–10)")),
                             errors=(errors[0].fillna(0), errors[1].fillna(0)),
                             percent=retention, counts=groups["n"].tolist())
    return section


def complaints_page(engine, gettext, *, language: str, min_sample: int = 30,
                    window_days: int = 180) -> dict:
    """Every section of the page, in order."""
    sections = [_volume(engine, by, title, gettext, language) for by, title in VOLUME_BY]
    sections += [_handling(engine, gettext), _coverage(engine, gettext),
                 _paradox(engine, gettext, retention=False, min_sample=min_sample,
                          window_days=window_days),
                 _paradox(engine, gettext, retention=True, min_sample=min_sample,
                          window_days=window_days)]
    return {"sections": sections, "min_sample": min_sample}


__all__ = ["GROUP_LABELS", "TOUCHPOINT_LABELS", "complaints_page"]
