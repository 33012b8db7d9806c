"""More sections of the analysis page: CSAT, CES, SERVQUAL, a named competitor, a crosstab of NPS
groups by industry, and the respondents against the customer base with the effect of weighting —
each a table and a bar chart, or the reason it does not apply."""

from __future__ import annotations

import plotly.graph_objects as go

# The computations, through their wrappers shared by the page's languages (see shared.py).
from patronage.reporting.shared import (
    ces_table,
    competitor_table,
    competitors_in,
    composition_table,
    crosstab_table,
    csat_table,
    servqual_table,
    weighting_effect,
)
from patronage.messages import N_, UserError
from patronage.satisfaction.value import cdv_competitor, cdv_table
from patronage.reporting.charts import _LAYOUT, figure_json, NPS_COLOURS, hover

SECTIONS = (
    ("csat", "CSAT: overall satisfaction, mean and top-2-box share by wave"),
    ("ces", "Customer effort score by wave"),
    ("servqual", "SERVQUAL: perception minus expectation by dimension"),
    ("competitor", "Against a named competitor (same respondents, paired tests)"),
    ("cdv", "Customer delivered value by region: total customer value minus total customer cost"),
    ("cdv_competitor", "Customer delivered value against a competitor (same respondents)"),
    ("crosstab", "Promoters, passives and detractors by industry (chi-square test)"),
    ("composition", "Respondents against the customer base (share of each segment)"),
    ("weighting", "Effect of weighting: unweighted, stored weights, raked to the customer base"),
)

COLUMNS = {
    "csat": ["n", "mean", "mean_ci_low", "mean_ci_high", "top_box", "top_box_ci_low",
             "top_box_ci_high"],
    "ces": ["n", "mean", "ci_low", "ci_high", "easy_share"],
    "servqual": ["perception", "expectation", "gap"],
    "competitor": ["n", "own", "competitor", "difference", "p_value", "p_holm"],
    "cdv": ["n", "total_value", "total_cost", "delivered_value", "ci_low", "ci_high"],
    "cdv_competitor": ["n", "own", "competitor", "us_minus_competitor", "p_value"],
    "crosstab": ["promoter", "passive", "detractor", "n", "chi2", "p_value", "cramers_v"],
    "composition": ["customers", "respondents", "weighted", "difference_pp"],
    "weighting": ["unweighted", "weighted", "raked"],
}

COLUMN_LABELS = {
    "mean": "Mean", "mean_ci_low": "Lower 95%", "mean_ci_high": "Upper 95%",
    "top_box": "Top-2-box share", "top_box_ci_low": "Lower 95%", "top_box_ci_high": "Upper 95%",
    "easy_share": "Share finding it easy", "own": "Us", "competitor": "Competitor",
    "promoter": "Promoters", "passive": "Passives", "detractor": "Detractors", "chi2": "χ²",
    "cramers_v": "Cramér's V", "customers": "Customers", "respondents": "Respondents",
    "weighted": "Weighted", "difference": "Difference (points)", "unweighted": "Unweighted",
    "difference_pp": "Difference (percentage points)",
    "raked": "Raked to the customer base",
    "total_value": "Total customer value", "total_cost": "Total customer cost",
    "delivered_value": "Customer delivered value", "us_minus_competitor": "Us − competitor",
}

ALL_RESPONDENTS = N_("All respondents")

#: Segment variables and the rows of the weighting table, shown translated.
VARIABLES = {"industry": "Industry", "region": "Region", "size": "Size"}
WEIGHTING_ROWS = {"NPS": "NPS", "CSI": "CSI", "n": "Respondents",
                  "n_effective": "Effective sample size (Kish)",
                  "design_effect": "Design effect (Kish)"}


def _bars(labels, values, title: str, *, errors=None, y_title: str = "",
          y_format: str = ".2f") -> str:
    bar = go.Bar(x=[str(v) for v in labels], y=[float(v) for v in values],
                 hovertemplate=hover(f"%{{x}}: %{{y:{y_format}}}"))
    if errors is not None:
        bar.error_y = dict(type="data", array=list(errors[1]), arrayminus=list(errors[0]))
    figure = go.Figure(bar)
    axis = dict(title=y_title, tickformat=y_format if y_format.endswith("%") else None)
    figure.update_layout(title=title, yaxis=axis, **_LAYOUT)
    return figure_json(figure)


def _csat(data, _, title, label, base):
    table = csat_table(data, by="wave")
    errors = (table["top_box"] - table["top_box_ci_low"], table["top_box_ci_high"] - table["top_box"])
    return table, _bars([label(i) for i in table.index], table["top_box"], title, errors=errors,
                        y_title=_("Top-2-box share"), y_format=".0%")


def _ces(data, _, title, label, base):
    table = ces_table(data, by="wave")
    errors = (table["mean"] - table["ci_low"], table["ci_high"] - table["mean"])
    return table, _bars([label(i) for i in table.index], table["mean"], title, errors=errors,
                        y_title=_("Mean"))


def _servqual(data, _, title, label, base):
    table = servqual_table(data)
    dims = table[table["level"] == "dimension"]
    shown = table[table["level"] != "item"]
    return shown, _bars([_(d) for d in dims.index], dims["gap"], title, y_title="P − E")


def _competitor(data, _, title, label, base):
    names = competitors_in(data)
    if not names:
        raise UserError(N_("The survey has no ratings of a competitor (answer codes "
                           "competitor.<name>.<item>)."))
    table = competitor_table(data, competitor=names[0])
    return table, _bars([label(i) for i in table.index], table["difference"],
                        f"{title} · {label.category('competitor', names[0])}",
                        y_title=_("Us − competitor"))


def _crosstab(data, _, title, label, base):
    table = crosstab_table(data, rows="industry", columns="nps_group")
    figure = go.Figure([go.Bar(name=_(COLUMN_LABELS[group]),
                               x=[label.category("industry", i) for i in table.index],
                               y=table[group].tolist(), marker=dict(color=NPS_COLOURS[group]),
                               hovertemplate=hover(f"%{{x}} · {_(COLUMN_LABELS[group])}"
                                                   " %{y:.0%}"))
                        for group in ("promoter", "passive", "detractor") if group in table])
    figure.update_layout(title=title, barmode="stack", yaxis=dict(tickformat=".0%"), **_LAYOUT)
    return table, figure_json(figure)


def _composition(data, _, title, label, base):
    # Shares differ in percentage points, not in points of a score.
    table = composition_table(data, base()).rename(columns={"difference": "difference_pp"})
    table.index = [f"{_(VARIABLES.get(v, v))} · {label.category(v, c)}" for v, c in table.index]
    figure = go.Figure([go.Bar(name=_(COLUMN_LABELS[column]), x=list(table.index),
                               y=(100 * table[column]).tolist(),
                               hovertemplate=hover(f"%{{x}} · {_(COLUMN_LABELS[column])}"
                                                   " %{y:.1f}%"))
                        for column in ("customers", "weighted")])
    table.attrs["formats"] = {**{c: ("percent", 1) for c in ("customers", "respondents",
                                                                "weighted")},
                              "us_minus_competitor": ("signed", 1),
                              "difference_pp": ("signed", 1)}
    figure.update_layout(title=title, barmode="group", yaxis=dict(title="%"), **_LAYOUT)
    return table, figure_json(figure)


def _weighting(data, _, title, label, base):
    table = weighting_effect(data, base())
    scores = [r for r in ("NPS", "CSI") if r in table.index]
    figure = go.Figure([go.Bar(name=_(COLUMN_LABELS[column]), x=[_(r) for r in scores],
                               y=table.loc[scores, column].tolist(),
                               hovertemplate=hover(f"%{{x}} · {_(COLUMN_LABELS[column])}"
                                                   " %{y:.1f}"))
                        for column in ("unweighted", "weighted", "raked")])
    table.attrs["row_kinds"] = {_(WEIGHTING_ROWS[r]): kind for r, kind in WEIGHTING_KINDS.items()}
    figure.update_layout(title=title, barmode="group", **_LAYOUT)
    table.index = [_(WEIGHTING_ROWS[r]) for r in table.index]
    return table, figure_json(figure)


#: How each row of the weighting table is written (a row is one measure).
WEIGHTING_KINDS = {"NPS": ("number", 1), "CSI": ("number", 1), "n": ("int", 0),
                   "n_effective": ("number", 1), "design_effect": ("number", 3)}

#: The parts of customer delivered value (Kotler) and its totals, as rows.
CDV_ROWS = {"product": N_("Product value"), "service": N_("Services value"),
            "personnel": N_("Personnel value"), "image": N_("Image value"),
            "money": N_("Monetary cost"), "time": N_("Time cost"), "energy": N_("Energy cost"),
            "psychic": N_("Psychic cost"), "total_value": N_("Total customer value"),
            "total_cost": N_("Total customer cost"),
            "delivered_value": N_("Customer delivered value")}
CDV_FORMATS = {"n": ("int", 0), "total_value": ("number", 1), "total_cost": ("number", 1),
               "delivered_value": ("signed", 1), "ci_low": ("signed", 1),
               "ci_high": ("signed", 1), "own": ("number", 1), "competitor": ("number", 1),
               "us_minus_competitor": ("signed", 1)}


def _cdv(data, _, title, label, base):
    try:
        by = "region" if data.groups("region").notna().any() else None
    except UserError:  # a file without regions
        by = None
    table = cdv_table(data, by=by)
    table.index = [_(ALL_RESPONDENTS) if i == "all" else label.category("region", i)
                   for i in table.index]
    table.attrs["formats"] = CDV_FORMATS
    errors = (table["delivered_value"] - table["ci_low"],
              table["ci_high"] - table["delivered_value"])
    return table, _bars(list(table.index), table["delivered_value"], title,
                        errors=(errors[0].fillna(0), errors[1].fillna(0)),
                        y_title=_("Value − cost"), y_format=".1f")


def _cdv_competitor(data, _, title, label, base):
    competitor, table = cdv_competitor(data)
    totals = ["total_value", "total_cost", "delivered_value"]
    names = [_(CDV_ROWS[r]) for r in totals]
    rival = label.category("competitor", competitor)
    figure = go.Figure([go.Bar(name=name, x=names, y=table.loc[totals, column].tolist(),
                               hovertemplate=hover(f"%{{x}} · {name} %{{y:.1f}}"))
                        for column, name in (("own", _("Us")), ("competitor", rival))])
    figure.update_layout(title=f"{title} · {rival}", barmode="group", **_LAYOUT)
    table = table.rename(columns={"difference": "us_minus_competitor"})
    table.index = [_(CDV_ROWS[r]) for r in table.index]
    table.attrs["formats"] = CDV_FORMATS
    return table, figure_json(figure)


#: Section builders: ``(data, gettext, title, label, base)`` -> (table, chart JSON), where
#: ``base()`` gives the customer base's segment shares (read once per report).
BUILDERS = {"csat": _csat, "ces": _ces, "servqual": _servqual, "competitor": _competitor,
            "cdv": _cdv, "cdv_competitor": _cdv_competitor,
            "crosstab": _crosstab, "composition": _composition, "weighting": _weighting}

#: Row and value labels shown translated.
LABELS = ("tangibles", "reliability", "responsiveness", "assurance", "empathy", "overall")

__all__ = ["BUILDERS", "COLUMNS", "COLUMN_LABELS", "LABELS", "SECTIONS", "VARIABLES",
           "WEIGHTING_ROWS"]
