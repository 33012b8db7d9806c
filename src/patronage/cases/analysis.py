"""Complaint analysis: how many cases and where, how fast they are handled, whether service
levels are kept, what recovery costs, whether detractors get a case, and the recovery paradox.

Every table carries its n. Times are wall-clock hours from opening (or from the answer, for
detractors) to the first reply or the resolution.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from patronage.analytics.ratings import wilson_interval
from patronage.analytics.recovery import compare_two, group_outcomes
from patronage.messages import N_, UserError
from patronage.storage.schema import answers, cases, customers, responses, transactions
from patronage.storage.schema_cases import case_categories, case_remedies

BY = ("category", "touchpoint", "region", "product", "month", "type", "severity", "channel")
GROUPS = ("resolved_well", "never_complained", "resolved_badly")


def _frame(result) -> pd.DataFrame:
    """The rows of ``result`` as a frame with its column names (from tuples: building one dict
    per row first took most of the page's time)."""
    columns = list(result.keys())
    return pd.DataFrame([tuple(row) for row in result], columns=columns)


def _cases(engine: Engine) -> pd.DataFrame:
    c = cases.c
    query = (select(c.id, c.customer_id, c.type, c.status, c.category, c.severity, c.channel,
                    c.touchpoint_kind.label("touchpoint"), c.opened_at, c.first_responded_at,
                    c.first_response_due_at, c.resolution_due_at, c.resolved_at, c.closed_at,
                    c.round, c.response_id, customers.c.region,
                    case_categories.c.name_en.label("category_name"))
             .join(customers, customers.c.id == c.customer_id)
             .outerjoin(case_categories, case_categories.c.code == c.category))
    with engine.connect() as conn:
        frame = _frame(conn.execute(query))
        customers_total = conn.execute(select(func.count()).select_from(customers)).scalar()
        by_region = dict(conn.execute(select(customers.c.region, func.count())
                                      .group_by(customers.c.region)).all())
    if frame.empty:
        raise UserError(N_("There are no cases yet."))
    for column in ("opened_at", "first_responded_at", "first_response_due_at",
                   "resolution_due_at", "resolved_at", "closed_at"):
        frame[column] = pd.to_datetime(frame[column])
    frame["done_at"] = frame["resolved_at"].fillna(frame["closed_at"])
    frame.attrs.update(customers=int(customers_total), by_region=by_region)
    return frame


def volume(engine: Engine, by: str = "category") -> pd.DataFrame:
    """Cases per group and per 1,000 customers: of the region for ``by="region"``, of the
    product's buyers for ``by="product"`` (a case counts for the last product its customer
    bought before it was opened), else of all customers."""
    if by not in BY:
        raise UserError(N_("Group cases by one of {known}; not {by!r}."), known=", ".join(BY),
                        by=str(by)[:30])
    frame = _cases(engine)
    if by == "product":
        key, buyers = _last_product(engine, frame)
    else:
        key = frame["opened_at"].dt.strftime("%Y-%m") if by == "month" else frame[by]
    counts = key.fillna("-").value_counts().sort_index()
    if by == "region":
        base = pd.Series(frame.attrs["by_region"]).reindex(counts.index)
    elif by == "product":
        base = buyers.reindex(counts.index)
    else:
        base = pd.Series(frame.attrs["customers"], index=counts.index)
    out = pd.DataFrame({"cases": counts.astype(int), "customers": base.astype("Int64"),
                        "per_1000_customers": 1000 * counts / base})
    out.index.name = by
    return out


def _last_product(engine: Engine, frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per case, the last product its customer bought before the case; buyers per product."""
    t = transactions.c
    with engine.connect() as conn:
        sales = _frame(conn.execute(
            select(t.customer_id, t.occurred_at, t.product)
            .where(~t.is_refund, t.product.is_not(None))))
    if sales.empty:
        return pd.Series(np.nan, index=frame.index, dtype=object), pd.Series(dtype=float)
    sales["occurred_at"] = pd.to_datetime(sales["occurred_at"])
    sales = sales.sort_values("occurred_at")
    left = frame[["customer_id", "opened_at"]].reset_index().sort_values("opened_at")
    matched = pd.merge_asof(left, sales, left_on="opened_at", right_on="occurred_at",
                            by="customer_id", direction="backward")
    key = matched.set_index("index")["product"].reindex(frame.index)
    return key, sales.groupby("product")["customer_id"].nunique().astype(float)


def handling(engine: Engine) -> pd.DataFrame:
    """Hours to the first reply and to the resolution (n, median, quartiles, p90), service-level
    compliance with a Wilson interval, reopen rate and the cost of recovery."""
    frame = _cases(engine)
    rows = {}
    for name, start, end in (("first_response_hours", "opened_at", "first_responded_at"),
                             ("resolution_hours", "opened_at", "done_at")):
        hours = ((frame[end] - frame[start]).dt.total_seconds() / 3600).dropna()
        rows[name] = {"n": len(hours), "value": hours.median(), "q1": hours.quantile(0.25),
                      "q3": hours.quantile(0.75), "p90": hours.quantile(0.9)}
    timed = frame.dropna(subset=["resolution_due_at", "done_at"])
    kept = (timed["done_at"] <= timed["resolution_due_at"]).astype(float)
    low, high = wilson_interval(kept.mean() if len(kept) else np.nan, len(kept))
    rows["sla_compliance"] = {"n": len(kept), "value": kept.mean() if len(kept) else np.nan,
                              "q1": low, "q3": high}
    done = frame.dropna(subset=["done_at"])
    reopened = (done["round"] > 1).astype(float)
    low, high = wilson_interval(reopened.mean() if len(done) else np.nan, len(done))
    rows["reopen_rate"] = {"n": len(done), "value": reopened.mean() if len(done) else np.nan,
                           "q1": low, "q3": high}
    with engine.connect() as conn:
        cost, n_remedies = conn.execute(
            select(func.coalesce(func.sum(case_remedies.c.amount), 0), func.count())
            .where(case_remedies.c.status == "approved")).one()
    rows["recovery_cost"] = {"n": int(n_remedies), "value": float(cost)}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "measure"
    return out.rename(columns={"q1": "low_or_q1", "q3": "high_or_q3"})


def detractor_coverage(engine: Engine, *, threshold: float = 6,
                       item: str = "nps") -> pd.DataFrame:
    """Detractors (``item <= threshold``) with a known customer: how many got a case, and how
    many hours after their answer (median)."""
    r, a = responses.c, answers.c
    with engine.connect() as conn:
        rows = _frame(conn.execute(
            select(r.id, r.submitted_at, func.min(cases.c.opened_at).label("case_at"))
            .join(answers, a.response_id == r.id)
            .outerjoin(cases, cases.c.response_id == r.id)
            .where(a.item_code == item, a.value_num <= threshold, r.customer_id.is_not(None))
            .group_by(r.id, r.submitted_at)))
    if rows.empty:
        raise UserError(N_("No detractors with a known customer have answered yet."))
    got = rows["case_at"].notna()
    low, high = wilson_interval(got.mean(), len(rows))
    hours = ((pd.to_datetime(rows["case_at"]) - pd.to_datetime(rows["submitted_at"]))
             .dt.total_seconds() / 3600).dropna()
    return pd.DataFrame({"n": [len(rows)], "with_case": [int(got.sum())], "share": [got.mean()],
                         "ci_low": [low], "ci_high": [high],
                         "median_hours_to_case": [hours.median() if len(hours) else np.nan]})


def _outcomes(engine: Engine, item: str, window: timedelta) -> tuple[pd.DataFrame, datetime]:
    r, a = responses.c, answers.c
    with engine.connect() as conn:
        later = _frame(conn.execute(
            select(r.customer_id, r.submitted_at, a.value_num)
            .join(answers, a.response_id == r.id)
            .where(a.item_code == item, r.customer_id.is_not(None))))
        bought = _frame(conn.execute(
            select(transactions.c.customer_id, transactions.c.occurred_at)
            .where(~transactions.c.is_refund)))
        pks = [int(x) for x in conn.execute(select(customers.c.id)).scalars()]
    end = max(pd.to_datetime(bought["occurred_at"]).max() if len(bought) else pd.NaT,
              pd.to_datetime(later["submitted_at"]).max() if len(later) else pd.NaT)
    return {"answers": later, "bought": bought, "customers": pks}, end


def recovery_paradox(engine: Engine, *, item: str = "nps", window_days: int = 180,
                     retention: bool = False) -> pd.DataFrame:
    """Later satisfaction (the first ``item`` answer after the reference moment) or retention
    (a purchase within ``window_days`` after it) of customers whose complaint was resolved well
    (on time, never reopened), resolved badly (late, reopened or unresolved after 30 days) and
    who never had a case. The reference moment is the resolution, or for customers without a
    case the median resolution. Each group with its n and interval; the last rows compare
    resolved-well with never-complained and with resolved-badly."""
    frame = _cases(engine)
    data, end = _outcomes(engine, item, timedelta(days=window_days))
    first = frame.sort_values("opened_at").groupby("customer_id").first()
    late = first["done_at"] > first["resolution_due_at"]
    stale = first["done_at"].isna() & (first["opened_at"] < end - pd.Timedelta(days=30))
    bad = late.fillna(False) | (first["round"] > 1) | stale
    well = first["done_at"].notna() & ~bad
    group = pd.Series(np.where(well, "resolved_well", np.where(bad, "resolved_badly", None)),
                      index=first.index)
    moment = first["done_at"].fillna(first["opened_at"] + pd.Timedelta(days=30))
    reference = moment[group.notna()].median()
    never = [pk for pk in data["customers"] if pk not in first.index]
    group = pd.concat([group.dropna(), pd.Series("never_complained", index=never)])
    moment = pd.concat([moment, pd.Series(reference, index=never)]).reindex(group.index)
    outcome = (_retained(data["bought"], moment, window_days, end) if retention
               else _later_answer(data["answers"], moment))
    table = group_outcomes(group, outcome, binary=retention).reindex(
        [g for g in GROUPS if g in set(group)])
    tests = []
    for other in ("never_complained", "resolved_badly"):
        try:
            tests.append(compare_two(group, outcome, "resolved_well", other, binary=retention))
        except ValueError:
            continue
    for test in tests:
        table.loc[f"resolved_well - {test['b']}"] = {
            "n": test["n_a"] + test["n_b"], "mean": test["difference"],
            "ci_low": test["ci_low"], "ci_high": test["ci_high"]}
        table.loc[f"resolved_well - {test['b']}", "p_value"] = test["p_value"]
    table.attrs.update(item=item if not retention else f"purchase within {window_days} days")
    return table


def _later_answer(answers_frame: pd.DataFrame, moment: pd.Series) -> pd.Series:
    if answers_frame.empty:
        return pd.Series(np.nan, index=moment.index)
    frame = answers_frame.assign(submitted_at=pd.to_datetime(answers_frame["submitted_at"]))
    frame = frame[frame["customer_id"].isin(moment.index)]
    frame = frame[frame["submitted_at"] > frame["customer_id"].map(moment)]
    first = frame.sort_values("submitted_at").groupby("customer_id")["value_num"].first()
    return first.reindex(moment.index)


def _retained(bought: pd.DataFrame, moment: pd.Series, window_days: int, end) -> pd.Series:
    window = pd.Timedelta(days=window_days)
    observed = moment[moment + window <= end]  # only customers followed for the whole window
    if observed.empty:  # nobody yet (pandas cannot map by an empty series of times)
        return pd.Series(np.nan, index=moment.index)
    if bought.empty:
        return pd.Series(0.0, index=observed.index)
    frame = bought.assign(occurred_at=pd.to_datetime(bought["occurred_at"]))
    frame = frame[frame["customer_id"].isin(observed.index)]
    start = frame["customer_id"].map(observed)
    inside = frame[(frame["occurred_at"] > start) & (frame["occurred_at"] <= start + window)]
    return observed.index.to_series().isin(inside["customer_id"]).astype(float) \
        .reindex(moment.index)


__all__ = ["BY", "GROUPS", "detractor_coverage", "handling", "recovery_paradox", "volume"]
