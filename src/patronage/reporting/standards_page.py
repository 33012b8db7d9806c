"""The pages of moments of truth: the journey view (``/journey``), the service standards with
their latest compliance (``/standards``) and one standard (``/standards/<code>``: compliance per
period and per site, team or agent, the p chart and the X̄ or individuals chart of the times with
the special causes marked, and satisfaction within against outside the standard). Everything
arrives formatted and translated; the routes only pick the page."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from sqlalchemy import Engine

from patronage.journey.view import journey
from patronage.labels import labels_for
from patronage.messages import N_, UserError
from patronage.reporting import formats
from patronage.reporting.charts import _LAYOUT, figure_json, hover
from patronage.standards.compliance import (
    UNITS, compliance, events, judge, judged_periods, per_period, share_chart, time_chart,
    within_vs_outside,
)
from patronage.standards.records import (
    METRIC_NAMES, PERIOD_NAMES, describe, duration, list_standards, standard,
)
from patronage.storage.schema import TOUCHPOINT_KINDS

RULE_NAMES = {1: N_("one point beyond the control limits"),
              2: N_("two of three points beyond 2 sigma on one side"),
              3: N_("four of five points beyond 1 sigma on one side"),
              4: N_("eight points in a row on one side of the centre line")}
UNIT_NAMES = {"": N_("Whole company"), "site": N_("Site"), "team": N_("Team"),
              "agent": N_("Agent")}
_HIGHER = N_("Customers served within the standard rate the item {diff} points higher (95% "
             "interval {low} to {high}; p = {p}): the standard matters to them.")
_LOWER = N_("Customers served within the standard rate the item {diff} points lower (95% "
            "interval {low} to {high}; p = {p}): meeting this standard does not go with "
            "higher satisfaction here; look for what else differs between the two groups.")
NOT_JUDGED = N_("Too few events (n = {n}), not judged")
ITEM_NAMES = {"overall_satisfaction": N_("Overall satisfaction"), "csat": N_("CSAT"),
              "satisfaction": N_("Satisfaction"), "nps": N_("Likelihood to recommend (0–10)")}


#: Which rule a journey row's answers came by (see :mod:`patronage.journey.view`).
BASIS_NAMES = {"tag": N_("by the tagged touchpoint"),
               "window": N_("inferred from touchpoints in the 30 days before answering")}
_BOTH = N_("{tagged} by the tagged touchpoint, the other {rest} inferred from touchpoints in "
           "the 30 days before answering")


def _basis(row: dict, gettext) -> str:
    if row["basis"] == "both":
        return gettext(_BOTH).format(tagged=formats.integer(row["tagged"]),
                                     rest=formats.integer(row["responses"] - row["tagged"]))
    return gettext(BASIS_NAMES[row["basis"]])


def period_label(day, period: str) -> str:
    """A month as ``2026-04``, a week by its Monday ``2026-04-06``."""
    return day.strftime("%Y-%m") if period == "month" else day.isoformat()


def _interval(low, high, digits: int = 2) -> str:
    if formats.is_missing(low) or formats.is_missing(high):
        return formats.MISSING
    return f"{formats.number(low, digits)} – {formats.number(high, digits)}"


def journey_page(engine: Engine, *, language: str, gettext, min_sample: int) -> dict:
    """The journey view's rows, formatted, in the order of the journey."""
    labels = labels_for(engine, language, gettext)
    table = journey(engine)
    rows = []
    for row in table.to_dict("records"):
        rows.append({
            "kind": row["kind"], "label": labels("touchpoint", row["kind"]),
            "touchpoints": formats.integer(row["touchpoints"]),
            "customers": formats.integer(row["customers"]),
            "basis": row["basis"], "basis_text": _basis(row, gettext),
            "sat_n": row["sat_n"], "sat": formats.number(row["sat_mean"], 2),
            "sat_range": _interval(row["sat_low"], row["sat_high"]),
            "sat_small": row["sat_n"] < min_sample,
            "effort_n": row["effort_n"], "effort": formats.number(row["effort_mean"], 2),
            "effort_range": _interval(row["effort_low"], row["effort_high"]),
            "effort_small": row["effort_n"] < min_sample,
            "cases": formats.integer(row["cases"]), "cases_tagged": row["cases_tagged"],
            "cases_tagged_text": formats.integer(row["cases_tagged"]),
            "cases_rate": formats.number(row["cases_per_1000"], 1),
            "mentions": row["mentions"],
            "mention_share": formats.percent(row["mention_share"], 1),
            "mention_range": (f"{formats.percent(row['mention_low'], 1)} – "
                              f"{formats.percent(row['mention_high'], 1)}"
                              if not formats.is_missing(row["mention_low"]) else "–"),
            "importance": formats.percent(row["importance"], 1),
            "direction": row["direction"]})
    return {"rows": rows, "detractors": table.attrs.get("detractors", 0),
            "r_squared": formats.number(table.attrs.get("r_squared"), 3),
            "n_importance": table.attrs.get("n_importance", 0), "min_sample": min_sample}


def with_owner_names(engine: Engine, page: dict) -> dict:
    """:func:`standards_list`'s page with each standard's owner named as the staff account is
    now (names change without changing the figures, which are kept between visits)."""
    names = {row["code"]: row["owner_name"] or "–"
             for row in list_standards(engine, active_only=True).to_dict("records")}
    return {**page, "standards": [{**row, "owner": names.get(row["code"], row["owner"])}
                                  for row in page["standards"]]}


def standards_list(engine: Engine, *, language: str, gettext, min_events: int = 0) -> dict:
    """Every active standard with its promise, its newest period's compliance and the number of
    special causes on the charts with at least ``min_events`` events a period."""
    labels = labels_for(engine, language, gettext)
    rows = []
    for row in list_standards(engine, active_only=True).to_dict("records"):
        frame = events(engine, row)
        table = compliance(frame, row)
        last = table.iloc[-1] if len(table) else None
        found = judge(frame, row, min_events=min_events)[0] if len(table) >= 2 else \
            pd.DataFrame()
        rows.append({
            "code": row["code"], "name": row["name"],
            "promise": describe(row, gettext, labels.of("touchpoint")),
            "owner": row["owner_name"] or "–",
            "period": period_label(last["period"], row["period"]) if last is not None else "–",
            "n": int(last["n"]) if last is not None else 0,
            "share": formats.percent(last["share"], 1) if last is not None else "–",
            "target": formats.percent(row["target"], 1),
            "met": bool(last["met"]) if last is not None else None,
            "signals": int(len(found))})
    return {"standards": rows}


def _figure(chart: pd.DataFrame, *, title: str, axis: str, percent: bool, names: dict) -> str:
    x = [p.isoformat() for p in chart["period"]]
    scale = 100.0 if percent else 1.0

    def values(column):
        return [None if v is None or (isinstance(v, float) and math.isnan(v)) else v * scale
                for v in chart[column]]

    unit = "%" if percent else ""
    figure = go.Figure()
    for column, name, dash in (("ucl", names["ucl"], "dash"), ("center", names["center"], "solid"),
                               ("lcl", names["lcl"], "dash")):
        figure.add_trace(go.Scatter(x=x, y=values(column), name=name, mode="lines",
                                    line=dict(shape="hvh", dash=dash, color="#6e7781", width=1),
                                    hovertemplate=hover(f"{name}: %{{y:.1f}}{unit}")))
    colours = ["#cf222e" if s else "#1f6feb" for s in chart["signal"]]
    figure.add_trace(go.Scatter(x=x, y=values("value"), name=names["value"],
                                mode="lines+markers", line=dict(color="#1f6feb"),
                                marker=dict(color=colours, size=9),
                                customdata=chart["n"].astype(int),
                                hovertemplate=hover("%{x}", f"%{{y:.1f}}{unit}", "n = %{customdata}")))
    layout = dict(_LAYOUT)
    layout["margin"] = dict(l=50, r=10, t=40, b=40)
    figure.update_layout(title=title, yaxis=dict(title=axis), showlegend=True,
                         legend=dict(orientation="h", y=-0.2), **layout)
    return figure_json(figure)


def standard_page(engine: Engine, code: str, *, by: str = "", unit: str = "", language: str,
                  gettext, min_sample: int, min_events: int = 0) -> dict:
    """One standard: its compliance, charts, special causes (on the charts of the periods with at
    least ``min_events`` events; smaller units are said to be too small to judge) and
    satisfaction link."""
    row = standard(engine, code)
    if by not in ("", *UNITS):
        raise UserError(N_("Group by one of {choices}; got {value!r}."),
                        choices=", ".join(UNITS), value=by)
    labels = labels_for(engine, language, gettext)
    frame = events(engine, row)
    label_of = (lambda v: labels(by, v)) if by in ("site", "team") else (lambda v: v)
    table = compliance(frame, row, by or None)
    units = sorted({u for u in table["unit"]}) if by else [""]
    chosen = unit if unit in units else (units[0] if units else "")
    part = table[table["unit"] == chosen]
    shown = frame if not by else frame[frame[by].fillna("–") == chosen]
    names = {"ucl": gettext("Upper control limit"), "center": gettext("Centre line"),
             "lcl": gettext("Lower control limit"), "value": gettext("Share within standard")}
    p_figure, periods, not_judged = None, [], None
    kept = judged_periods(part, min_events) if len(part) >= 2 else None
    if kept is not None:
        chart = share_chart(kept)
        p_figure = _figure(chart, title=gettext("p-chart: share within the standard"),
                           axis=gettext("Share within standard"), percent=True, names=names)
        charted = {r.period: r for r in chart.itertuples()}
    else:
        charted = {}
        if len(part) >= 2:
            not_judged = gettext(NOT_JUDGED).format(n=per_period(part))
    for r in part.itertuples() if len(part) >= 2 else ():
        c = charted.get(r.period)
        periods.append({"period": period_label(r.period, row["period"]), "n": int(r.n),
                        "share": formats.percent(r.share, 1),
                        "limits": f"{formats.percent(c.lcl, 1)} – {formats.percent(c.ucl, 1)}"
                        if c is not None else "–",
                        "met": r.share >= row["target"] - 1e-12, "small": r.n < min_sample,
                        "rules": [gettext(RULE_NAMES[k]) for k in c.rules] if c is not None
                        else []})
    times = time_chart(shown, row)
    t_figure = None
    if times is not None:
        kind, chart = times
        hours = row["threshold_seconds"] >= 3600
        chart = chart.assign(**{c: chart[c] / (3600 if hours else 1)
                                for c in ("value", "center", "lcl", "ucl")})
        title = (gettext("X-bar chart: mean time per period") if kind == "xbar"
                 else gettext("Individuals chart: mean time per period"))
        t_figure = _figure(chart, title=title,
                           axis=gettext("Hours") if hours else gettext("Seconds"),
                           percent=False, names={**names, "value": gettext("Mean time")})
    by_unit = []
    if by:
        latest = table["period"].max() if len(table) else None
        for r in table[table["period"] == latest].itertuples():
            by_unit.append({"unit": r.unit, "label": label_of(r.unit), "n": int(r.n),
                            "share": formats.percent(r.share, 1), "met": bool(r.met),
                            "small": r.n < min_sample})
    def where(kind: str, value: str) -> str:
        name = gettext(UNIT_NAMES[kind])
        return f"{name} {labels(kind, value) if kind in ('site', 'team') else value}" \
            if kind else name

    found, unjudged = judge(frame, row, min_events=min_events)
    special = _by_unit(found, where, row["period"], gettext)
    return {"standard": row, "promise": describe(row, gettext, labels.of("touchpoint")),
            "by": by, "units": [(u, label_of(u)) for u in units] if by else [],
            "unit": chosen, "unit_label": label_of(chosen) if by else "",
            "periods": periods, "p_chart": p_figure, "t_chart": t_figure,
            "by_unit": by_unit, "signals": special, "latest": by_unit and by_unit[0],
            "signal_count": int(len(found)), "not_judged": not_judged,
            "unjudged": [{"where": where(u.unit_kind, u.unit), "n": int(u.n)}
                         for u in unjudged.itertuples()],
            "min_events": min_events,
            "satisfaction": _satisfaction(within_vs_outside(engine, row, frame), gettext,
                                          min_sample),
            "threshold": duration(row["threshold_seconds"], gettext)
            if row["threshold_seconds"] == row["threshold_seconds"] and
            row["threshold_seconds"] else None,
            "target": formats.percent(row["target"], 1)}


def _by_unit(found: pd.DataFrame, where, period: str, gettext) -> list[dict]:
    """The special causes collapsed to one entry per unit, the unit with the most recent signal
    first: its count and its signals, newest first."""
    units = []
    for (kind, unit), part in found.groupby(["unit_kind", "unit"], sort=False):
        part = part.sort_values("period", ascending=False, kind="stable")
        units.append({"where": where(kind, unit), "count": int(len(part)),
                      "latest": part["period"].iloc[0],
                      "signals": [{"period": period_label(s.period, period),
                                   "share": formats.percent(s.share, 1), "n": s.n,
                                   "rules": [gettext(RULE_NAMES[k]) for k in s.rules]}
                                  for s in part.itertuples()]})
    units.sort(key=lambda u: (u["latest"], u["count"]), reverse=True)
    return units


def _satisfaction(found: dict | None, gettext, min_sample: int) -> dict | None:
    if not found:
        return None
    groups = []
    for key, name in (("within", N_("Served within the standard")),
                      ("outside", N_("Served outside the standard"))):
        g = found[key]
        groups.append({"name": gettext(name), "n": int(g.get("n", 0)),
                       "mean": formats.number(g.get("mean"), 2),
                       "range": _interval(g.get("ci_low"), g.get("ci_high")),
                       "small": int(g.get("n", 0)) < min_sample})
    difference = found.get("difference")
    if difference is None:
        verdict = gettext("Too few answers in one of the groups to compare.")
    elif found["p_value"] < 0.05 and difference < 0:
        verdict = gettext(_LOWER).format(
            diff=formats.number(-difference, 2), low=formats.number(-found["ci_high"], 2),
            high=formats.number(-found["ci_low"], 2), p=formats.p_value(found["p_value"]))
    elif found["p_value"] < 0.05:
        verdict = gettext(_HIGHER).format(
            diff=formats.signed(difference, 2), low=formats.number(found["ci_low"], 2),
            high=formats.number(found["ci_high"], 2), p=formats.p_value(found["p_value"]))
    else:
        verdict = gettext("The difference of {diff} points is within chance (p = {p}).").format(
            diff=formats.signed(difference, 2), p=formats.p_value(found["p_value"]))
    item = ITEM_NAMES.get(found["item"])
    return {"item": gettext(item) if item else found["item"], "groups": groups,
            "verdict": verdict}


def form_choices(*, language: str, gettext) -> dict:
    """The new-standard form's choices in the reader's language (kinds by their built-in
    names; the importer and the command take an admin's labels too)."""
    from patronage.labels import TOUCHPOINT_NAMES

    return {"kinds": [(k, gettext(TOUCHPOINT_NAMES[k])) for k in TOUCHPOINT_KINDS],
            "metrics": [(k, gettext(v)) for k, v in METRIC_NAMES.items()],
            "periods": [(k, gettext(v)) for k, v in PERIOD_NAMES.items()]}


__all__ = ["form_choices", "journey_page", "standard_page", "standards_list"]
