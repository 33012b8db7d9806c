"""Loyalty analyses of the stored panel, ready to render (CLI, dashboard, API).

The customer summary is computed in the database (:mod:`patronage.storage.summary`); the models
come from :mod:`patronage.analytics`. Times are in weeks for the purchase models, as in Fader,
Hardie & Lee (2005).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from patronage.analytics import (
    advocacy_segments,
    allocate_cost_to_serve,
    cohort_matrix,
    jones_sasser,
    latent_switching,
    retention_curve,
    rfm_scores,
    value_tiers,
    whale_curve,
    whale_figures,
)
from patronage.analytics.btyd import (
    BetaGeo,
    GammaGamma,
    calibration_holdout_summary,
    customer_lifetime_value,
    holdout_comparison,
)
from patronage.storage import read_answers, read_cases, read_customers, read_responses
from patronage.storage import read_touchpoints, read_transactions
from patronage.storage.summary import read_customer_summary

WEEK = 7.0


@dataclass(frozen=True)
class ValueModels:
    """Fitted purchase (BG/NBD) and spend (Gamma-Gamma) models with the per-customer results."""

    summary: pd.DataFrame
    purchases: BetaGeo
    spend: GammaGamma | None
    margin: float
    customers: pd.DataFrame


def _weeks(summary: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    return summary["frequency"], summary["recency"] / WEEK, summary["T"] / WEEK


def fit_value_models(engine: Engine, *, observation_end=None, months: int = 12,
                     monthly_discount: float = 0.01, margin: float | None = None) -> ValueModels:
    """Fit BG/NBD and Gamma-Gamma to the stored sales and compute, per customer, the
    probability of being alive, expected purchases in the next 90 days and the CLV over
    ``months`` (discounted monthly; ``margin`` defaults to the company's profit / revenue)."""
    summary = read_customer_summary(engine, observation_end=observation_end)
    if len(summary) < 20:
        raise ValueError("the purchase models need the sales of at least 20 customers; import "
                         "transactions first (patronage import transactions FILE)")
    x, tx, T = _weeks(summary)
    purchases = BetaGeo().fit(x, tx, T)
    if margin is None:
        revenue = summary["total_spend"].sum()
        margin = float(summary["profit"].sum() / revenue) if revenue > 0 else 1.0
    repeaters = (x > 0) & (summary["monetary_value"] > 0)
    spend = None
    if repeaters.sum() >= 20:
        spend = GammaGamma().fit(x[repeaters], summary.loc[repeaters, "monetary_value"])
    out = pd.DataFrame(index=summary.index)
    out["p_alive"] = np.asarray(purchases.probability_alive(x, tx, T), dtype=float)
    out["expected_purchases_90d"] = np.asarray(
        purchases.expected_purchases(90 / WEEK, x, tx, T), dtype=float)
    if spend is not None:
        out["clv"] = np.asarray(customer_lifetime_value(
            purchases, spend, x, tx, T, summary["monetary_value"], time=months,
            discount_rate=monthly_discount, margin=margin, freq="W"), dtype=float)
    else:
        out["clv"] = np.nan
    return ValueModels(summary=summary, purchases=purchases, spend=spend, margin=margin,
                       customers=out)


def _profiles(engine: Engine) -> pd.DataFrame:
    return read_customers(engine).set_index("customer_id")[["name", "region", "industry",
                                                            "size", "tier"]]


def clv_table(engine: Engine, models: ValueModels | None = None, *, top: int | None = None,
              **kwargs) -> pd.DataFrame:
    """Per customer: purchases so far, P(alive), expected purchases in 90 days, CLV, the CLV
    decile and value tier, most valuable first."""
    models = models or fit_value_models(engine, **kwargs)
    table = models.summary[["frequency", "recency", "T", "monetary_value", "total_spend"]].join(
        models.customers)
    tiers = value_tiers(table["clv"] if table["clv"].notna().any() else table["total_spend"])
    table = table.join(tiers[["decile", "tier"]].rename(columns={"tier": "value_tier"}))
    table = _profiles(engine)[["name", "region"]].join(table, how="inner")
    table = table.sort_values("clv", ascending=False, na_position="last")
    table.attrs.update({"params": models.purchases.params_, "margin": models.margin,
                        "total_clv": float(table["clv"].sum())})
    return table.head(top) if top else table


def rfm_table(engine: Engine, *, observation_end=None,
              summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """RFM values, quintile scores, code and named segment per customer (``summary``: a
    customer summary already read, e.g. ``ValueModels.summary``)."""
    if summary is None:
        summary = read_customer_summary(engine, observation_end=observation_end)
    if summary.empty:
        raise ValueError("no sales yet: import transactions first")
    scores = rfm_scores(summary)
    return _profiles(engine)[["name"]].join(scores, how="inner")


def cohort_table(engine: Engine, *, period: str = "Q") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Acquisition-cohort retention matrix and the average retention curve."""
    sales = read_transactions(engine)
    if sales.empty:
        raise ValueError("no sales yet: import transactions first")
    matrix = cohort_matrix(sales, period=period)
    return matrix, retention_curve(matrix, period=period)


def at_risk_table(engine: Engine, *, window: str = "90D", models: ValueModels | None = None,
                  top: int | None = None) -> pd.DataFrame:
    """Customers showing latent switching (falling purchase rate or spend and a falling
    probability of being alive), with the reason and the value at risk, most valuable first."""
    sales = read_transactions(engine)
    if sales.empty:
        raise ValueError("no sales yet: import transactions first")
    end = sales["occurred_at"].max().normalize()
    models = models or fit_value_models(engine)
    summary = models.summary  # in days, up to the last transaction day
    daily = BetaGeo().fit(summary["frequency"], summary["recency"], summary["T"])
    flagged = latent_switching(sales, daily, observation_end=end, window=window,
                               clv=models.customers["clv"].dropna() if
                               models.customers["clv"].notna().any() else None)
    table = _profiles(engine)[["name", "size", "tier"]].join(flagged, how="inner")
    table = table.sort_values("value_at_risk", ascending=False)
    return table.head(top) if top else table


def _latest_answers(engine: Engine, items: tuple[str, ...]) -> pd.DataFrame:
    responses = read_responses(engine)
    if responses.empty:
        return pd.DataFrame(columns=list(items))
    responses = responses[responses["quality_flags"].map(lambda f: not f)]
    answers = read_answers(engine, item_codes=list(items))
    wide = answers.pivot_table(index="response_pk", columns="item_code", values="value_num")
    wide = responses.set_index("response_pk")[["customer_id", "submitted_at"]].join(wide,
                                                                                  how="inner")
    wide = wide.dropna(subset=["customer_id"]).sort_values("submitted_at")
    return wide.groupby("customer_id").last().reindex(columns=list(items))


def segments_table(engine: Engine, models: ValueModels | None = None) -> dict[str, pd.DataFrame]:
    """Value tiers, Jones–Sasser quadrants (latest satisfaction answer against behavioural
    loyalty: P(alive) >= 0.5 and a repeat purchase) and advocates / users / comparers."""
    models = models or fit_value_models(engine)
    value = models.customers["clv"].where(models.customers["clv"].notna(),
                                          models.summary["total_spend"])
    tiers = value_tiers(value)
    out = {"value_tiers": tiers.groupby("tier").agg(customers=("decile", "size"))
           .join(value.groupby(tiers["tier"]).sum().rename("value"))}
    latest = _latest_answers(engine, ("overall_satisfaction", "nps", "repurchase_intent",
                                      "price_reasonable"))
    loyal = ((models.customers["p_alive"] >= 0.5) & (models.summary["frequency"] > 0))
    sat = latest["overall_satisfaction"].dropna()
    if not sat.empty:
        quadrants = jones_sasser(sat, loyal.reindex(sat.index).astype(float), sat_cut=9,
                                 loyal_cut=1)
        out["jones_sasser"] = quadrants.value_counts().rename("customers").to_frame()
        switching = latest["repurchase_intent"] / 2  # 1–10 intention as a 1–5 switching cost
        price = 6 - latest["price_reasonable"] / 2    # low price rating = price sensitive
        advocacy = advocacy_segments(latest["nps"], switching, price)
        out["advocacy"] = advocacy.value_counts().rename("customers").to_frame()
    return out


def whale_table(engine: Engine, *, cost_per_touchpoint: float = 300.0,
                cost_per_case: float = 1500.0,
                summary: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    """The profit whale curve and its 80/20 and 80/20/30 figures. Profit per customer is gross
    profit from sales minus a cost to serve allocated from touchpoints and cases."""
    if summary is None:
        summary = read_customer_summary(engine)
    if summary.empty:
        raise ValueError("no sales yet: import transactions first")
    cost = allocate_cost_to_serve(read_touchpoints(engine), read_cases(engine),
                                  pd.Series(summary.index), cost_per_touchpoint=cost_per_touchpoint,
                                  cost_per_case=cost_per_case)
    profit = summary["profit"] - cost["cost_to_serve"].reindex(summary.index).fillna(0.0)
    return whale_curve(profit), whale_figures(profit, summary["total_spend"])


def holdout_table(engine: Engine, *, holdout_weeks: int = 26) -> pd.DataFrame:
    """Holdout validation of BG/NBD: fit on the calibration period, compare predicted and
    actual repeat purchases in the last ``holdout_weeks`` by calibration frequency (with MAE)."""
    sales = read_transactions(engine)
    sales = sales[~sales["is_refund"].astype(bool)]
    if sales.empty:
        raise ValueError("no sales yet: import transactions first")
    end = sales["occurred_at"].max()
    cut = end - pd.Timedelta(weeks=holdout_weeks)
    cal = calibration_holdout_summary(sales, "customer_id", "occurred_at",
                                      calibration_period_end=cut, observation_period_end=end,
                                      freq="W")
    cal = cal[cal["T_cal"] > 0]  # customers acquired in the last calibration week carry no data
    model = BetaGeo().fit(cal["frequency_cal"], cal["recency_cal"], cal["T_cal"])
    return holdout_comparison(model, cal, cal["frequency_holdout"],
                              duration=holdout_weeks)
