"""The loyalty page: value (CLV, P(alive)), RFM segments, cohorts, at-risk customers, the whale
curve and the purchase model's holdout validation — each a table and a chart."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from sqlalchemy import Engine

from patronage.loyalty import (
    at_risk_table,
    clv_table,
    cohort_table,
    fit_value_models,
    holdout_table,
    rfm_table,
    whale_table,
)
from patronage.reporting.charts import _LAYOUT
from patronage.reporting.satisfaction import Section

SECTIONS = (
    ("clv", "Customer lifetime value, next 12 months (top 20)"),
    ("rfm", "RFM segments"),
    ("cohorts", "Retention of acquisition cohorts by quarter"),
    ("at_risk", "Customers at risk of defecting (latent switching), most valuable first"),
    ("whale", "Profit whale curve"),
    ("holdout", "Purchase model check: predicted against actual purchases in a 26-week holdout"),
)

COLUMN_LABELS = {
    "name": "Name", "p_alive": "P(alive)", "expected_purchases_90d": "Expected purchases, 90 days",
    "clv": "CLV", "value_tier": "Value tier", "customers": "Customers", "monetary": "Spend",
    "recency_days": "Days since last purchase", "cohort_size": "Cohort size",
    "value_at_risk": "Value at risk", "reason": "Reason", "figure": "Figure", "value": "Value",
    "actual": "Actual", "predicted": "Predicted", "mae": "MAE",
}

#: Values shown translated (the value tiers).
VALUE_LABELS = {tier: tier for tier in ("platinum", "gold", "silver", "bronze")}


def _figure(traces, title: str, **layout) -> str:
    figure = go.Figure(traces)
    figure.update_layout(title=title, **{**_LAYOUT, **layout})
    return figure.to_json()


def loyalty_report(engine: Engine, *, gettext=lambda s: s) -> list[Section]:
    """Compute every section; a section that cannot be computed carries the reason instead."""
    _ = gettext
    try:
        models = fit_value_models(engine)
    except ValueError as exc:
        return [Section(key, _(title), None, None, str(exc)) for key, title in SECTIONS]
    builders = {"clv": lambda: _clv(engine, models, _), "rfm": lambda: _rfm(engine, _),
                "cohorts": lambda: _cohorts(engine, _), "at_risk": lambda: _at_risk(engine, models),
                "whale": lambda: _whale(engine, _), "holdout": lambda: _holdout(engine, _)}
    sections = []
    for key, title in SECTIONS:
        try:
            table, chart = builders[key]()
        except ValueError as exc:
            sections.append(Section(key, _(title), None, None, str(exc)))
            continue
        chart = chart(_(title)) if chart else None
        sections.append(Section(key, _(title), table, chart, None))
    return sections


def _clv(engine, models, _):
    table = clv_table(engine, models)
    tiers = table.groupby("value_tier")["clv"].agg(["size", "sum"])
    chart = (lambda title: _figure([go.Bar(x=[_(t) for t in tiers.index], y=tiers["sum"].tolist(),
                                           text=tiers["size"].tolist())], title,
                                   yaxis=dict(title=_("CLV"))))
    return table.head(20)[["name", "p_alive", "expected_purchases_90d", "clv", "value_tier"]], chart


def _rfm(engine, _):
    scores = rfm_table(engine)
    table = scores.groupby("segment").agg(customers=("R", "size"), monetary=("monetary", "sum"),
                                          recency_days=("recency_days", "median"))
    table = table.sort_values("monetary", ascending=False)
    chart = (lambda title: _figure([go.Bar(x=[_(s) for s in table.index],
                                           y=table["customers"].tolist())], title))
    table.index = [_(s) for s in table.index]
    return table, chart


def _cohorts(engine, _):
    matrix, _curve = cohort_table(engine, period="Q")
    shares = matrix["retention"]
    table = shares.round(3)
    table.insert(0, "cohort_size", matrix["cohort_size"])
    table.index = table.index.astype(str)
    table.columns = [str(c) for c in table.columns]
    chart = (lambda title: _figure([go.Heatmap(
        z=shares.to_numpy().tolist(), x=[str(c) for c in shares.columns],
        y=[str(i) for i in shares.index], colorscale="Blues", zmin=0, zmax=1)], title,
        xaxis=dict(title=_("Quarters since acquisition")), yaxis=dict(autorange="reversed")))
    return table, chart


def _at_risk(engine, models):
    table = at_risk_table(engine, models=models, top=20)
    return table[["name", "p_alive_now", "value_at_risk", "reason"]], None


def _whale(engine, _):
    curve, figures = whale_table(engine)
    chart = (lambda title: _figure([go.Scatter(x=curve["customers_pct"].tolist(),
                                               y=curve["cumulative_profit_pct"].tolist(),
                                               mode="lines")], title,
                                   xaxis=dict(title=_("% of customers, most profitable first")),
                                   yaxis=dict(title=_("Cumulative profit, % of total"))))
    table = pd.Series(figures, name="value").rename_axis("figure").to_frame()
    table.index = [_(i) for i in table.index]
    return table, chart


def _holdout(engine, _):
    table = holdout_table(engine)
    rows = table.drop(index="all", errors="ignore")
    chart = (lambda title: _figure([
        go.Bar(x=[str(i) for i in rows.index], y=rows["actual"].tolist(), name=_("Actual")),
        go.Bar(x=[str(i) for i in rows.index], y=rows["predicted"].tolist(),
               name=_("Predicted"))], title, barmode="group",
        xaxis=dict(title=_("Repeat purchases in the calibration period")),
        legend=dict(orientation="h", y=-0.25)))
    table.index = table.index.astype(str)
    return table, chart


__all__ = ["COLUMN_LABELS", "SECTIONS", "VALUE_LABELS", "loyalty_report"]
