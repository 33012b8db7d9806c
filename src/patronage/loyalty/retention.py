"""Retention views of the stored panel: defection reasons, retention by satisfaction level,
repeat purchase per acquisition cohort and what a change in retention is worth."""

from __future__ import annotations

import math

import pandas as pd
from sqlalchemy import Engine, select

from patronage.messages import N_, UserError
from patronage.analytics import (
    cross_buying,
    defection_reasons,
    retention_by_satisfaction,
    retention_economics,
)
from patronage.analytics.retention import repeat_purchase_by_cohort
from patronage.loyalty.analysis import cohort_overview, cohort_table
from patronage.loyalty.survival import lifetimes_from_sales, survival_summary
from patronage.storage import read_answers, read_responses, read_transactions
from patronage.storage.schema import customers as customer_rows
from patronage.storage.summary import read_customer_summary

#: Keys of ``customers.attributes`` recording a defection (from lost-customer interviews).
REASON_KEY, COMPETITOR_KEY = "defection_reason", "defected_to"


def defection_table(engine: Engine, *, customers: frozenset | None = None) -> pd.DataFrame:
    """Counts and shares of defection reasons and destination competitors of lost customers
    (recorded in the customer attributes ``defection_reason`` and ``defected_to``); of the
    ``customers`` (external ids) when given."""
    with engine.connect() as conn:
        rows = conn.execute(select(customer_rows.c.external_id,
                                  customer_rows.c.attributes)).all()
    lost = [{"customer_id": ext, "reason": attrs.get(REASON_KEY),
             "competitor": attrs.get(COMPETITOR_KEY)}
            for ext, attrs in rows if isinstance(attrs, dict)
            and (attrs.get(REASON_KEY) or attrs.get(COMPETITOR_KEY))
            and (customers is None or ext in customers)]
    if not lost:
        raise UserError(N_("no defected customers are recorded (customer attributes "
                           "{reason!r} and {competitor!r}); import them with the customers"),
                        reason=REASON_KEY, competitor=COMPETITOR_KEY)
    return defection_reasons(pd.DataFrame(lost))


def _sales(engine: Engine, customers: frozenset | None = None) -> pd.DataFrame:
    sales = read_transactions(engine)
    if customers is not None:
        sales = sales[sales["customer_id"].isin(customers)]
    sales = sales[~sales["is_refund"].astype(bool)]
    if sales.empty:
        raise UserError(N_("no sales yet: import transactions first"))
    return sales


def retention_by_satisfaction_table(engine: Engine, *, item: str = "overall_satisfaction",
                                    window_days: int = 180,
                                    customers: frozenset | None = None) -> pd.DataFrame:
    """Retention per satisfaction level: each customer's latest answer to ``item`` given before
    the last ``window_days`` of the data, against whether the customer bought in that window
    (of the ``customers``, external ids, when given)."""
    sales = _sales(engine)
    cutoff = sales["occurred_at"].max() - pd.Timedelta(days=window_days)
    responses = read_responses(engine)
    if customers is not None:
        responses = responses[responses["customer_id"].isin(customers)]
    responses = responses[(responses["submitted_at"] <= cutoff) & responses["customer_id"].notna()
                          & responses["quality_flags"].map(lambda f: not f)]
    answers = read_answers(engine, item_codes=[item])
    joined = responses.merge(answers, on="response_pk").sort_values("submitted_at")
    if joined.empty:
        raise UserError(N_("no answers to {item!r} before {date} from known customers"),
                        item=item, date=f"{cutoff:%Y-%m-%d}")
    latest = joined.groupby("customer_id")["value_num"].last()
    bought = set(sales.loc[sales["occurred_at"] > cutoff, "customer_id"])
    retained = pd.Series([c in bought for c in latest.index], index=latest.index)
    return retention_by_satisfaction(latest, retained)


def observed_retention(engine: Engine, *, customers: frozenset | None = None) -> float:
    """Share of the customers who bought in the year before last who bought again last year
    (of the ``customers``, external ids, when given)."""
    sales = _sales(engine, customers)
    end = sales["occurred_at"].max()
    last = set(sales.loc[sales["occurred_at"] > end - pd.Timedelta(days=365), "customer_id"])
    before = set(sales.loc[(sales["occurred_at"] <= end - pd.Timedelta(days=365))
                           & (sales["occurred_at"] > end - pd.Timedelta(days=730)), "customer_id"])
    if not before:
        raise UserError(N_("retention needs two years of sales"))
    return len(before & last) / len(before)


def retention_economics_table(engine: Engine, *, delta_points: float = 5.0,
                              discount: float = 0.1, margin: float | None = None,
                              customers: frozenset | None = None) -> pd.DataFrame:
    """What raising yearly retention by ``delta_points`` points is worth to this customer base
    (the ``customers``, external ids, when given), at its observed retention and margin
    (geometric CLV, Gupta & Lehmann 2003)."""
    if not math.isfinite(discount) or discount <= -1:
        raise ValueError(f"--discount must be a yearly rate above -1 (0.1 = 10%), not {discount}")
    if not math.isfinite(delta_points):
        raise ValueError(f"--points must be a number of percentage points (5 = +5%), not "
                         f"{delta_points}")
    summary = read_customer_summary(engine)
    if customers is not None:
        summary = summary[summary.index.isin(customers)]
    if margin is None:
        revenue = summary["total_spend"].sum()
        margin = float(summary["profit"].sum() / revenue) if revenue > 0 else 1.0
    rate = observed_retention(engine, customers=customers)
    if not 0 < rate < 1:
        raise UserError(N_("the observed yearly retention is {rate}: what a change is worth "
                           "cannot be computed at a retention of 0% or 100% (the customers of "
                           "the year before last all left, or all stayed)"), rate=f"{rate:.0%}")
    if not 0 < rate + delta_points / 100 < 1:
        raise ValueError(f"--points {delta_points:g} takes the observed yearly retention of "
                         f"{rate:.1%} to {rate + delta_points / 100:.1%}; choose more than "
                         f"{-rate * 100:.1f} and less than {(1 - rate) * 100:.1f} points")
    out = retention_economics(summary, retention_now=rate, delta_points=delta_points,
                              margin=margin, discount=discount)
    return pd.concat([pd.Series({"retention_now": rate, "delta_points": delta_points,
                                 "margin": margin, "discount": discount}), out]).to_frame("value")


def survival_table(engine: Engine, *, category: str | None = None, inactive_days: int = 180,
                   at=None, all_times: bool = False) -> pd.DataFrame:
    """Kaplan–Meier survival of customer relationships, in days since the first purchase, at
    selected days (``at``; default 30, 90, 180, 365 ... up to the longest relationship) or at
    every day with an event (``all_times``), with the median in the notes.

    For contractual relationships pass the contract ``category`` (e.g. "service contract"):
    a customer has ended when no purchase in it came in the last ``inactive_days`` (the end
    is then the last purchase); the others are censored at the end of the data.
    """
    sales = _sales(engine)
    if category is not None:
        sales = sales[sales["category"] == category]
        if sales.empty:
            raise ValueError(f"no sales in category {category!r}")
    end = sales["occurred_at"].max()
    spans = sales.groupby("customer_id")["occurred_at"].agg(["min", "max"])
    ended = spans["max"] < end - pd.Timedelta(days=inactive_days)
    durations = ((spans["max"].where(ended, end) - spans["min"]).dt.days).astype(float)
    table = survival_summary(lifetimes_from_sales(durations, ended), at=at, all_times=all_times)
    table.attrs["notes"].insert(1, f"A relationship has ended when the customer bought nothing "
                                   f"in the last {inactive_days} days of the data "
                                   f"({end:%Y-%m-%d})"
                                   + (f" in {category!r}." if category else "."))
    return table


def repeat_purchase_table(engine: Engine, *, period: str = "Q",
                          within_days: int = 90) -> pd.DataFrame:
    """:func:`~patronage.analytics.retention.repeat_purchase_by_cohort` on the stored sales."""
    return repeat_purchase_by_cohort(_sales(engine), period=period, within_days=within_days)


def cohorts_table(engine: Engine, *, period: str = "Q", curve: bool = False,
                  repeat: bool = False, repeat_days: int = 90) -> pd.DataFrame:
    """The table of ``patronage analyze cohorts`` on the database: the cohort overview, or the
    retention ``curve``, or the ``repeat``-purchase detail."""
    if curve:
        return cohort_table(engine, period=period)[1]
    if repeat:
        return repeat_purchase_table(engine, period=period, within_days=repeat_days)
    return cohort_overview(engine, period=period, repeat_days=repeat_days)


def cross_buying_table(engine: Engine) -> pd.DataFrame:
    """Share of the buyers of each category (rows) who also bought each other category, with
    the number of buyers and their mean number of categories."""
    sales = _sales(engine)
    per_customer, matrix = cross_buying(sales)
    buyers = sales.groupby("category")["customer_id"].nunique()
    matrix = matrix.copy()
    matrix.insert(0, "buyers", buyers.reindex(matrix.index))
    by_category = sales.drop_duplicates(["customer_id", "category"])
    mean_categories = by_category.assign(n=by_category["customer_id"].map(per_customer)) \
        .groupby("category")["n"].mean()
    matrix.insert(1, "mean_categories", mean_categories.reindex(matrix.index))
    return matrix


__all__ = ["cohorts_table", "cross_buying_table", "defection_table", "observed_retention",
           "repeat_purchase_table", "retention_by_satisfaction_table",
           "retention_economics_table", "survival_table"]
