"""What the service-profit chain page (``/chain``) shows, in the reader's language: the unit
table, the correlations with a sentence each, and the path diagram or why there is none. The
figures come from :func:`patronage.chain.report.chain_report` (anonymous employee groups only)."""

from __future__ import annotations

import plotly.graph_objects as go
from sqlalchemy import Engine

from patronage.chain.employees import employee_answers
from patronage.chain.report import CONSTRUCTS, MIN_UNITS, chain_report
from patronage.labels import labels_for
from patronage.messages import N_, UserError, translated
from patronage.reporting.charts import _LAYOUT, figure_json

#: Unit table columns: English header, (format kind, decimals).
UNIT_COLUMNS = {
    "employees_n": (N_("Employees (n)"), ("int", 0)),
    "employee_index": (N_("Employee satisfaction (0–100)"), ("number", 1)),
    "enps": (N_("eNPS"), ("signed", 0)),
    "customers_n": (N_("Customers"), ("int", 0)),
    "respondents_n": (N_("Customer respondents (n)"), ("int", 0)),
    "csi": (N_("CSI (0–100)"), ("number", 1)),
    "nps": (N_("NPS"), ("signed", 0)),
    "complaint_rate": (N_("Complaints per 100 customers"), ("number", 1)),
    "compliance": (N_("Standard compliance"), ("percent", 1)),
    "retention": (N_("Retention"), ("percent", 1)),
    "revenue": (N_("Revenue per customer"), ("money", 0)),
}
MEASURES = {"employee_index": N_("Employee satisfaction"), "enps": N_("eNPS"),
            "csi": N_("CSI"), "nps": N_("NPS"), "complaint_rate": N_("Complaint rate"),
            "compliance": N_("Standard compliance"),
            "retention": N_("Retention"), "revenue": N_("Revenue per customer")}
CONSTRUCT_NAMES = {"EMP": N_("Employees"), "CUS": N_("Customer satisfaction"),
                   "RES": N_("Retention and revenue")}
UNIT_NAMES = {"site": N_("Site"), "team": N_("Team")}
TITLE = N_("Service-profit chain")


def _sentence(row, left: str, right: str, _) -> str | None:
    if row["n"] < 3 or row["r"] != row["r"]:
        return None  # the page says once that there are too few units
    strength = abs(row["r"])
    word = (_("strong") if strength >= 0.5 else _("moderate") if strength >= 0.3
            else _("weak"))
    direction = _("positive") if row["r"] > 0 else _("negative")
    verdict = (_("beyond chance (p < 0.05)") if row["p_value"] < 0.05
               else _("within chance (p ≥ 0.05)"))
    return _("{left} and {right}: {strength} {direction} link across {n} units, {verdict}.") \
        .format(left=left, right=right, strength=word, direction=direction, n=int(row["n"]),
                verdict=verdict)


def _diagram(model, _, title: str) -> str:
    position = {"EMP": (0.0, 0.5), "CUS": (1.0, 0.5), "RES": (2.0, 0.5)}
    figure = go.Figure()
    annotations = []
    for target, sources in model.inner.items():
        for source in sources:
            (x0, y0), (x1, y1) = position[source], position[target]
            value = model.paths_.loc[source, target]
            annotations.append(dict(x=x1 - 0.22, y=y1, ax=x0 + 0.22, ay=y0, xref="x", yref="y",
                                    axref="x", ayref="y", showarrow=True, arrowhead=3,
                                    arrowwidth=1 + 4 * abs(value), arrowcolor="#1f6feb"))
            annotations.append(dict(x=(x0 + x1) / 2, y=0.62, text=f"{value:.2f}",
                                    showarrow=False, bgcolor="#fff", font=dict(size=12)))
    texts = []
    for lv in position:
        r2 = model.r2_.get(lv)
        extra = f"<br>R² {r2:.2f}" if r2 is not None and r2 == r2 else ""
        texts.append(f"<b>{_(CONSTRUCT_NAMES[lv])}</b>{extra}")
    figure.add_trace(go.Scatter(
        x=[p[0] for p in position.values()], y=[p[1] for p in position.values()], text=texts,
        mode="markers+text", textposition="middle center", hoverinfo="text",
        marker=dict(size=90, color="#e8f0fe", line=dict(color="#1f6feb", width=2))))
    figure.update_layout(title=title, annotations=annotations, showlegend=False,
                         xaxis=dict(visible=False, range=[-0.5, 2.5]),
                         yaxis=dict(visible=False, range=[0.1, 0.9]), **{**_LAYOUT,
                                                                        "height": 320})
    return figure_json(figure)


def chain_page(engine: Engine, *, unit: str, minimum: int, language: str, gettext,
               wave: str | None = None, site: str | None = None,
               team: str | None = None) -> dict:
    """The page's content (see the module); ``problem`` says why there is none."""
    _ = gettext
    shown = {"unit": unit, "wave": wave, "site": site, "team": team, "minimum": minimum,
             "problem": None, "waves": [], "sites": [], "teams": [], "title": TITLE}
    try:
        staff = employee_answers(engine, None, minimum)
        shown.update(waves=staff.waves,
                     sites=sorted(staff.frame["site"].dropna().unique().tolist()),
                     teams=sorted(staff.frame["team"].dropna().unique().tolist()))
        report = chain_report(engine, unit=unit, minimum=minimum, wave=wave, site=site,
                              team=team)
    except UserError as exc:
        shown["problem"] = translated(exc, _)
        return shown
    label = labels_for(engine, language, _)
    table = report.table[[c for c in UNIT_COLUMNS if c in report.table.columns
                          and (c != "compliance" or report.table[c].notna().any())]].copy()
    table.index = [label(unit, name) for name in table.index]
    rows = []
    for (left, right), row in report.correlations.iterrows():
        rows.append({"left": _(MEASURES[left]), "right": _(MEASURES[right]), "n": row["n"],
                     "r": row["r"], "ci_low": row["ci_low"], "ci_high": row["ci_high"],
                     "p": row["p_value"],
                     "sentence": _sentence(row, _(MEASURES[left]), _(MEASURES[right]), _)})
    shown.update(
        report=report, table=table, columns=UNIT_COLUMNS, correlations=rows,
        unit_label=_(UNIT_NAMES[unit]), notes=[translated(n, _) for n in report.notes],
        chart=_diagram(report.model, _, _("The chain as a path model (units as cases)"))
        if report.model is not None else None,
        model_problem=translated(report.model_problem, _) if report.model_problem else None,
        min_units=MIN_UNITS, constructs={_(CONSTRUCT_NAMES[k]): [_(MEASURES[c]) for c in v]
                                         for k, v in CONSTRUCTS.items()})
    return shown


__all__ = ["TITLE", "UNIT_COLUMNS", "chain_page"]
