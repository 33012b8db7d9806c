"""Retention views of the stored panel: defection reasons, retention by satisfaction level and
what a change in retention is worth (SPEC §3)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, select

from patronage.analytics import defection_reasons, retention_by_satisfaction, retention_economics
from patronage.storage import read_answers, read_responses, read_transactions
from patronage.storage.schema import customers
from patronage.storage.summary import read_customer_summary

#: Keys of ``customers.attributes`` recording a defection (from lost-customer interviews).
REASON_KEY, COMPETITOR_KEY = "defection_reason", "defected_to"


def defection_table(engine: Engine) -> pd.DataFrame:
    """Counts and shares of defection reasons and destination competitors of lost customers
    (recorded in the customer attributes ``defection_reason`` and ``defected_to``)."""
    with engine.connect() as conn:
        rows = conn.execute(select(customers.c.external_id, customers.c.attributes)).all()
    lost = [{"customer_id": ext, "reason": attrs.get(REASON_KEY),
             "competitor": attrs.get(COMPETITOR_KEY)}
            for ext, attrs in rows if isinstance(attrs, dict)
            and (attrs.get(REASON_KEY) or attrs.get(COMPETITOR_KEY))]
    if not lost:
        raise ValueError("no defected customers are recorded (customer attributes "
                         f"{REASON_KEY!r} and {COMPETITOR_KEY!r}); import them with the customers")
    return defection_reasons(pd.DataFrame(lost))


def _sales(engine: Engine) -> pd.DataFrame:
    sales = read_transactions(engine)
    sales = sales[~sales["is_refund"].astype(bool)]
    if sales.empty:
        raise ValueError("no sales yet: import transactions first")
    return sales


def retention_by_satisfaction_table(engine: Engine, *, item: str = "overall_satisfaction",
                                    window_days: int = 180) -> pd.DataFrame:
    """Retention per satisfaction level: each customer's latest answer to ``item`` given before
    the last ``window_days`` of the data, against whether the customer bought in that window."""
    sales = _sales(engine)
    cutoff = sales["occurred_at"].max() - pd.Timedelta(days=window_days)
    responses = read_responses(engine)
    responses = responses[(responses["submitted_at"] <= cutoff) & responses["customer_id"].notna()
                          & responses["quality_flags"].map(lambda f: not f)]
    answers = read_answers(engine, item_codes=[item])
    joined = responses.merge(answers, on="response_pk").sort_values("submitted_at")
    if joined.empty:
        raise ValueError(f"no answers to {item!r} before {cutoff:%Y-%m-%d} from known customers")
    latest = joined.groupby("customer_id")["value_num"].last()
    bought = set(sales.loc[sales["occurred_at"] > cutoff, "customer_id"])
    retained = pd.Series([c in bought for c in latest.index], index=latest.index)
    return retention_by_satisfaction(latest, retained)


def observed_retention(engine: Engine) -> float:
    """Share of the customers who bought in the year before last who bought again last year."""
    sales = _sales(engine)
    end = sales["occurred_at"].max()
    last = set(sales.loc[sales["occurred_at"] > end - pd.Timedelta(days=365), "customer_id"])
    before = set(sales.loc[(sales["occurred_at"] <= end - pd.Timedelta(days=365))
                           & (sales["occurred_at"] > end - pd.Timedelta(days=730)), "customer_id"])
    if not before:
        raise ValueError("retention needs two years of sales")
    return len(before & last) / len(before)


def retention_economics_table(engine: Engine, *, delta_points: float = 5.0,
                              discount: float = 0.1, margin: float | None = None) -> pd.DataFrame:
    """What raising yearly retention by ``delta_points`` points is worth to this customer base,
    at the observed retention and the company's margin (geometric CLV, Gupta & Lehmann 2003)."""
    summary = read_customer_summary(engine)
    if margin is None:
        revenue = summary["total_spend"].sum()
        margin = float(summary["profit"].sum() / revenue) if revenue > 0 else 1.0
    rate = observed_retention(engine)
    out = retention_economics(summary, retention_now=rate, delta_points=delta_points,
                              margin=margin, discount=discount)
    return pd.concat([pd.Series({"retention_now": rate, "delta_points": delta_points,
                                 "margin": margin, "discount": discount}), out]).to_frame("value")


__all__ = ["defection_table", "observed_retention", "retention_by_satisfaction_table",
           "retention_economics_table"]
