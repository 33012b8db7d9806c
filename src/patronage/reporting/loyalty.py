"""The loyalty page: value (CLV, P(alive)), RFM segments, cohorts, at-risk customers, the whale
curve and the purchase model's holdout validation — each a table and a chart."""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
import plotly.graph_objects as go
from sqlalchemy import Engine

# The computations, through their wrappers shared by the page's languages (see shared.py).
from patronage.reporting.shared import shared_call
from patronage.reporting.shared import (
    at_risk_table,
    clv_table,
    cohort_table,
    defection_table,
    fit_value_models,
    holdout_table,
    retention_by_satisfaction_table,
    retention_economics_table,
    rfm_table,
    segments_table,
    whale_table,
)
from patronage.labels import labels_for
from patronage.loyalty.analysis import only
from patronage.messages import N_, UserError
from patronage.reporting import formats
from patronage.reporting.charts import _LAYOUT, figure_json, amount_axis, amount_texts, hover
from patronage.reporting.filters import SEGMENTS, customer_filters
from patronage.storage import read_customers
from patronage.reporting.satisfaction import Section, section_problem

SECTIONS = (
    ("clv", "Customer lifetime value, next 12 months (top 20)"),
    ("rfm", "RFM segments"),
    ("cohorts", "Retention of acquisition cohorts by quarter"),
    ("at_risk", "Customers at risk of defecting (latent switching), most valuable first"),
    ("whale", "Profit whale curve"),
    ("segments", "Value tiers, Jones–Sasser quadrants and advocates / users / comparers"),
    ("retention_sat", "Retention by satisfaction level (answers joined to later purchases)"),
    ("defection", "Why lost customers left, and where they went"),
    ("economics", "What 5 more points of yearly retention are worth"),
    ("holdout", "Purchase model check: predicted against actual purchases in a 26-week holdout"),
)

COLUMN_LABELS = {
    "name": "Name", "p_alive": "P(alive)", "p_alive_now": "P(alive) now",
    "expected_purchases_90d": "Expected purchases, 90 days",
    "clv": "CLV", "value_tier": "Value tier", "customers": "Customers", "monetary": "Spend",
    "recency_days": "Days since last purchase", "cohort_size": "Cohort size",
    "value_at_risk": "Value at risk", "reason": "Reason", "figure": "Figure", "value": "Value",
    "actual": "Actual", "predicted": "Predicted", "mae": "MAE", "n": "n",
    "retained": "Retained", "retention": "Retention", "ci_low": "Lower 95%",
    "ci_high": "Upper 95%", "count": "Count", "share": "Share",
}

#: Row labels shown translated: segment schemes and names, defection dimensions, economics.
ROW_LABELS = ("value_tiers", "jones_sasser", "advocacy", "apostle", "mercenary", "hostage",
              "defector", "advocate", "user", "comparer", "reason", "competitor",
              "(not recorded)", "retention_now", "delta_points", "margin", "discount",
              "base_value", "new_value", "difference", "pct_change")

#: Values shown translated (the value tiers).
VALUE_LABELS = {tier: tier for tier in ("platinum", "gold", "silver", "bronze")}


def _figure(traces, title: str, **layout) -> str:
    figure = go.Figure(traces)
    figure.update_layout(title=title, **{**_LAYOUT, **layout})
    return figure_json(figure)


def loyalty_page(engine: Engine, filters, *, gettext=lambda s: s, language: str = "en",
                 min_sample: int = formats.DEFAULT_MIN_SAMPLE) -> dict:
    """What the Loyalty page shows on ``filters``: the sections on the customers the segment
    filters keep, how many they are of how many (``kept``, ``total``), the keys of the chosen
    filters the page cannot take (``not_applied``: the survey's wave, answer dates and
    touchpoint choose responses, not customers), the bar's choices, or the ``problem`` with
    the filters (an unknown value), shown by the route in the reader's language."""
    taken, not_applied = customer_filters(filters)
    try:
        _customers, kept, total = shared_call(chosen_customers, engine, taken)
    except UserError as exc:
        return {"problem": exc}
    sections = loyalty_report(engine, gettext=gettext, language=language, filters=taken,
                              min_sample=min_sample) if kept else []
    return {"problem": None, "sections": sections, "kept": kept, "total": total,
            "not_applied": not_applied, "options": shared_call(customer_options, engine),
            "customers_line": customers_line(kept, gettext, min_sample)}


def customer_options(engine: Engine) -> dict[str, list[str]]:
    """The filter bar's choices on a page about customers: each segment's values in the
    customer panel, sorted (no waves or touchpoints)."""
    panel = read_customers(engine)
    found: dict[str, list[str]] = {"wave": [], "touchpoint": []}
    for key in SEGMENTS:
        found[key] = sorted({str(v) for v in panel[key].dropna()}) if key in panel else []
    return found


def chosen_customers(engine: Engine, filters=None) -> tuple[frozenset | None, int, int]:
    """The customers (external ids) the segment filters of ``filters`` keep (None: every
    customer, no segment chosen), how many they are and how many customers there are. An
    unknown value is a :class:`~patronage.messages.UserError` naming those there are."""
    panel = read_customers(engine)
    if filters is None or not any(getattr(filters, key) for key in SEGMENTS):
        return None, len(panel), len(panel)
    kept = filters.apply_customers(panel)
    return frozenset(kept["customer_id"]), len(kept), len(panel)


def loyalty_report(engine: Engine, *, gettext=lambda s: s, language: str = "en",
                   filters=None, min_sample: int = formats.DEFAULT_MIN_SAMPLE
                   ) -> list[Section]:
    """Compute every section; a section that cannot be computed carries the reason instead.

    With ``filters`` (a :class:`~patronage.reporting.filters.Filters`) the sections count the
    customers its segment filters keep (the purchase and spend models are fitted on every
    customer, so a customer's CLV and P(alive) do not depend on the filters); each table says
    how many customers it counts (``attrs["n"]``, and a line warning of a small number).
    Tiers, churn reasons and competitors read as the company labelled them for ``language``."""
    _ = gettext
    labels = labels_for(engine, language, gettext)
    customers = shared_call(chosen_customers, engine, filters)[0]
    try:
        models = fit_value_models(engine)
    except Exception as exc:  # noqa: BLE001  (the page explains instead of failing)
        return [Section(key, _(title), None, None, section_problem(exc, key, _)) for key, title in SECTIONS]
    builders = {"clv": lambda: _clv(engine, models, _, labels, language, customers),
                "rfm": lambda: _rfm(engine, models, _, customers),
                "cohorts": lambda: _cohorts(engine, _, customers),
                "at_risk": lambda: _at_risk(engine, models, _, customers),
                "whale": lambda: _whale(engine, models, _, customers),
                "holdout": lambda: _holdout(engine, _, customers),
                "segments": lambda: _segments(engine, models, _, labels, customers),
                "retention_sat": lambda: _retention_sat(engine, _, customers),
                "defection": lambda: (_defection(engine, _, labels, customers), None),
                "economics": lambda: _economics(engine, models, _, customers)}
    sections = []
    for key, title in SECTIONS:
        try:
            table, chart = builders[key]()
        except Exception as exc:  # noqa: BLE001  (one section's failure never fails the page)
            sections.append(Section(key, _(title), None, None, section_problem(exc, key, _)))
            continue
        chart = chart(_(title)) if chart else None
        if "n" in table.attrs:
            table.attrs["hint"] = customers_line(table.attrs["n"], _, min_sample)
        if customers is not None:  # the lists behind a table keep the filters
            query = "&" + filters.to_query()
            table.attrs["lists"] = [(address + query, text) for address, text
                                    in table.attrs.get("lists", [])]
            table.attrs["row_links"] = {label: address + query for label, address
                                        in table.attrs.get("row_links", {}).items()}
        sections.append(Section(key, _(title), table, chart, None))
    return sections


def customers_line(n: int, gettext, min_sample: int = formats.DEFAULT_MIN_SAMPLE) -> str:
    """"n = 1,234 customers", with the small-sample warning under ``min_sample``."""
    line = gettext(N_("n = {n} customers")).format(n=formats.integer(n))
    if formats.small_sample(n, min_sample):
        line += " · " + gettext(N_("fewer than {n} customers: read with care")).format(
            n=min_sample)
    return line


def _counted(table: pd.DataFrame, n) -> pd.DataFrame:
    table.attrs["n"] = int(n)
    return table


def _economics(engine, models, _, customers):
    table = _labelled(_figures(retention_economics_table(engine, customers=customers)), _)
    return _counted(table, len(only(models.summary, customers, None))), None


def _profiles(engine, ids) -> dict:
    """``{customer id: key of the profile page}`` for the customers ``ids``."""
    keys = read_customers(engine)[["customer_id", "customer_pk"]].set_index("customer_id")
    return {i: int(keys.at[i, "customer_pk"]) for i in ids if i in keys.index}


def _clv(engine, models, _, labels, language: str = "en", customers=None):
    """The 20 customers of highest CLV (of ``customers``, when given): the table and a bar per
    customer, named and linked, the axis and tooltips in ¥ with 万/亿 on Chinese pages."""
    everyone = only(clv_table(engine, models), customers, None)
    if everyone.empty:
        raise UserError(N_("none of these customers has bought anything yet"))
    top = everyone.head(20)
    top = top[["name", "p_alive", "expected_purchases_90d", "clv", "value_tier"]]
    top = top.assign(value_tier=[labels("tier", t) for t in top["value_tier"]])
    top.attrs["links"] = links = _profiles(engine, top.index)
    top.attrs["lists"] = [("/loyalty/customers?list=clv", _("All customers by CLV"))]
    names = [str(n) for n in top["name"]]
    ticks = [f'<a href="/customers/{links[i]}">{_escape(n)}</a>' if i in links else _escape(n)
             for i, n in zip(top.index, names)]
    values = top["clv"].tolist()
    shown = amount_texts(values, language, money=True)
    chart = (lambda title: _figure([go.Bar(
        x=values, y=list(top.index), orientation="h",
        customdata=[[n, s] for n, s in zip(names, shown)],
        hovertemplate=hover("%{customdata[0]}", f"{_('CLV')} %{{customdata[1]}}"))],
        title, height=560, xaxis=dict(title=_("CLV"), **amount_axis(values, language,
                                                                    money=True)),
        yaxis=dict(autorange="reversed", tickmode="array", tickvals=list(top.index),
                   ticktext=ticks)))
    return _counted(top, len(everyone)), chart


def _escape(text: str) -> str:
    """Respondent-given text placed in a chart label (Plotly renders a few HTML tags)."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _rfm(engine, models, _, customers=None):
    scores = only(rfm_table(engine, summary=models.summary), customers, None)
    if scores.empty:
        raise UserError(N_("none of these customers has bought anything yet"))
    table = scores.groupby("segment").agg(customers=("R", "size"), monetary=("monetary", "sum"),
                                          recency_days=("recency_days", "median"))
    table = table.sort_values("monetary", ascending=False)
    chart = (lambda title: _figure([go.Bar(x=[_(s) for s in table.index],
                                           y=table["customers"].tolist(),
                                           hovertemplate=hover("%{x}: %{y:,d}"))], title))
    table.attrs["row_links"] = {_(s): "/loyalty/customers?" + urlencode({"list": "segment",
                                                                        "segment": s})
                                for s in table.index}
    table.index = [_(s) for s in table.index]
    return _counted(table, len(scores)), chart


def _cohorts(engine, _, customers=None):
    matrix, _curve = cohort_table(engine, period="Q", customers=customers)
    shares = matrix["retention"]
    table = shares.copy()
    table.insert(0, "cohort_size", matrix["cohort_size"])
    cohorts = [formats.quarter(str(i), _) for i in table.index]
    table.index = cohorts
    table.columns = [str(c) for c in table.columns]
    table.attrs["formats"] = {c: ("percent", 0) for c in table.columns if c != "cohort_size"}
    chart = (lambda title: _figure([go.Heatmap(
        z=shares.to_numpy().tolist(), x=[str(c) for c in shares.columns],
        y=cohorts, colorscale="Blues", zmin=0, zmax=1,
        colorbar=dict(tickformat=formats.D3["percent"]),
        hovertemplate=hover("%{y} · %{x}", f"%{{z:{formats.D3['percent']}}}"))], title,
        xaxis=dict(title=_("Quarters since acquisition")), yaxis=dict(autorange="reversed")))
    return _counted(table, matrix["cohort_size"].sum()), chart


def at_risk_reason(row, _) -> str:
    """The latent-switching reason of one at-risk customer in the interface language, built
    from the machine-readable parts (``reason_code``, ``purchases_window``, ``expected_window``,
    ``window_days``, ``spend_change``) of :func:`patronage.analytics.latent_switching`."""
    codes = set(str(row["reason_code"] or "").split(";")) - {""}
    parts = []
    if "fewer_purchases" in codes:
        count = int(row["purchases_window"])
        one = _("bought %(count)d time in the last %(days)d days, model expected %(expected).1f")
        many = _("bought %(count)d times in the last %(days)d days, model expected %(expected).1f")
        parts.append((one if count == 1 else many) % {
            "count": count, "days": int(row["window_days"]),
            "expected": float(row["expected_window"])})
    if "lower_spend" in codes:
        parts.append(_("spend down %(percent).0f%% against own average")
                     % {"percent": -float(row["spend_change"]) * 100})
    if len(parts) == 2:
        return _("%(purchases)s; %(spend)s") % {"purchases": parts[0], "spend": parts[1]}
    return parts[0] if parts else ""


def _at_risk(engine, models, _, customers=None):
    everyone = only(at_risk_table(engine, models=models), customers, None)
    table = everyone.head(20)
    reasons = [at_risk_reason(row, _) for _i, row in table.iterrows()]
    table = table[["name", "p_alive_now", "value_at_risk"]].assign(reason=reasons)
    table.attrs["links"] = _profiles(engine, table.index)
    table.attrs["lists"] = [("/loyalty/customers?list=at_risk", _("All customers at risk"))]
    return _counted(table, len(everyone)), None


def _whale(engine, models, _, customers=None):
    curve, figures = whale_table(engine, summary=models.summary, customers=customers)
    chart = (lambda title: _figure([go.Scatter(x=curve["customers_pct"].tolist(),
                                               y=curve["cumulative_profit_pct"].tolist(),
                                               mode="lines",
                                               hovertemplate=hover("%{x:.1f}% → %{y:.1f}%"))],
                                   title,
                                   xaxis=dict(title=_("% of customers, most profitable first")),
                                   yaxis=dict(title=_("Cumulative profit, % of total"))))
    table = _figures(pd.Series(figures, name="value").rename_axis("figure").to_frame())
    table.index = [_(i) for i in table.index]
    table.attrs["lists"] = [
        ("/loyalty/customers?list=whales", _("The customers behind 80% of the profit")),
        ("/loyalty/customers?list=unprofitable", _("Customers who cost more than they bring"))]
    return _counted(table, len(only(models.summary, customers, None))), chart


def _figures(table: pd.DataFrame) -> pd.DataFrame:
    """A table of named figures (one per row, of different kinds) written row by row."""
    return table.assign(value=[formats.cell(v, *formats.row_kind(name))
                               for name, v in table["value"].items()])


#: The defection table's dimensions and the kinds of their values.
DEFECTION_KINDS = {"reason": "churn_reason", "competitor": "competitor"}
NOT_RECORDED = "(not recorded)"


def _defection(engine, _, labels, customers=None) -> pd.DataFrame:
    """Reasons and destinations of defected customers, as the company labelled them."""
    table = defection_table(engine, customers=customers).copy()
    lost = table.loc["reason", "count"].sum() if "reason" in table.index.get_level_values(0) \
        else 0
    table.index = [f"{_(dim)} · " + (_(value) if value == NOT_RECORDED
                                     else labels(DEFECTION_KINDS[dim], value))
                   for dim, value in table.index]
    return _counted(table, lost)


def _labelled(table: pd.DataFrame, _) -> pd.DataFrame:
    table = table.copy()
    table.index = [" · ".join(_(str(p)) for p in i) if isinstance(i, tuple) else _(str(i))
                   for i in table.index]
    return table


def _segments(engine, models, _, labels, customers=None):
    parts = segments_table(engine, models, customers=customers)
    rows = []
    for scheme, frame in parts.items():
        if scheme == "value_tiers" and "value" in frame:  # the most valuable tier first
            frame = frame.iloc[(-frame["value"] / frame["customers"]).argsort(kind="stable")]
        for segment, row in frame.iterrows():
            name = labels("tier", segment) if scheme == "value_tiers" else _(str(segment))
            rows.append({"segment": f"{_(scheme)} · {name}",
                         "customers": row["customers"], "clv": row.get("value")})
    table = pd.DataFrame(rows).set_index("segment")
    return _counted(table, parts["value_tiers"]["customers"].sum()), None


def _retention_sat(engine, _, customers=None):
    table = retention_by_satisfaction_table(engine, customers=customers)
    n = table["n"].sum()
    table.index = [f"{v:g}" for v in table.index]
    chart = (lambda title: _figure([go.Bar(
        x=list(table.index), y=table["retention"].tolist(),
        error_y=dict(type="data", array=(table["ci_high"] - table["retention"]).tolist(),
                     arrayminus=(table["retention"] - table["ci_low"]).tolist()),
        customdata=table["n"].tolist(),
        hovertemplate=hover(f"{_('Satisfaction')} %{{x}}",
                            f"{_('Retention')} %{{y:{formats.D3['percent']}}}",
                            "n = %{customdata:,d}"))], title,
        xaxis=dict(title=_("Satisfaction")),
        yaxis=dict(title=_("Retention"), range=[0, 1], tickformat=formats.D3["percent"])))
    table.attrs["formats"] = {"ci_low": ("percent", 1), "ci_high": ("percent", 1)}
    return _counted(table, n), chart


def _holdout(engine, _, customers=None):
    table = holdout_table(engine, customers=customers)
    n = table.loc["all", "customers"] if "all" in table.index else table["customers"].sum()
    rows = table.drop(index="all", errors="ignore")
    chart = (lambda title: _figure([
        go.Bar(x=[str(i) for i in rows.index], y=rows["actual"].tolist(), name=_("Actual"),
               hovertemplate=hover(f"{_('Actual')} %{{x}}: %{{y:.2f}}")),
        go.Bar(x=[str(i) for i in rows.index], y=rows["predicted"].tolist(),
               name=_("Predicted"),
               hovertemplate=hover(f"{_('Predicted')} %{{x}}: %{{y:.2f}}"))], title,
        barmode="group",
        xaxis=dict(title=_("Repeat purchases in the calibration period")),
        legend=dict(orientation="h", y=-0.25)))
    table.index = [_(ALL_CUSTOMERS) if str(i) == "all" else str(i) for i in table.index]
    return _counted(table, n), chart


#: The holdout table's row over every customer.
ALL_CUSTOMERS = N_("All customers")


__all__ = ["COLUMN_LABELS", "ROW_LABELS", "SECTIONS", "VALUE_LABELS", "at_risk_reason",
           "chosen_customers", "customer_options", "customers_line", "loyalty_page",
           "loyalty_report"]
