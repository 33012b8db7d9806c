"""Customer value segments: value tiers, the whale curve of customer profitability, the
satisfaction x loyalty quadrants, advocacy types, retention by satisfaction and the value of a
retention change.

References
----------
* Kaplan, R. S. & Cooper, R. (1998). Cost & Effect. Harvard Business School Press, ch. 10
  (the "whale curve": cumulative profit by customers sorted from most to least profitable rises
  well above 100% and falls back to 100%).
* Jones, T. O. & Sasser, W. E. (1995). Why satisfied customers defect. Harvard Business Review
  73(6), 88-99 (apostles, mercenaries, hostages, defectors).
* Gupta, S. & Lehmann, D. R. (2003). Customers as assets. J. Interactive Marketing 17(1), 9-24
  (CLV = m r / (1 + i - r)).
* Reichheld, F. F. & Sasser, W. E. (1990). Zero defections: quality comes to services. HBR
  68(5), 105-111.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patronage.analytics._validation import as_float_series, require_columns
from patronage.analytics.ratings import wilson_interval

__all__ = ["advocacy_segments", "allocate_cost_to_serve", "jones_sasser",
           "retention_by_satisfaction", "retention_economics", "value_tiers", "whale_curve",
           "whale_figures"]

_DEFAULT_TIERS = {"platinum": 0.01, "gold": 0.05, "silver": 0.20}


def value_tiers(clv, *, deciles: bool = True, tiers=None, rest: str = "bronze") -> pd.DataFrame:
    """Value decile and tier of each customer from a value Series (CLV, profit, spend).

    Customers are ranked from the highest value down (ties by row order, ``method="first"``).
    ``decile`` 1 holds the top 10% (balanced: sizes differ by at most one).  ``tiers`` maps a
    tier name to the cumulative top share it reaches: the default
    ``{"platinum": 0.01, "gold": 0.05, "silver": 0.20}`` makes the top 1% platinum, the next
    4% gold, the next 15% silver and everyone else ``rest``.  Missing values get NaN.
    """
    values = as_float_series(clv, name="clv")
    tiers = dict(_DEFAULT_TIERS if tiers is None else tiers)
    shares = np.array(list(tiers.values()), dtype=float)
    if not tiers or np.any(~np.isfinite(shares)) or np.any(shares <= 0) or np.any(shares > 1):
        raise ValueError("tiers must map tier names to top shares in (0, 1], e.g. "
                         "{'platinum': 0.01, 'gold': 0.05, 'silver': 0.2}")
    order = np.argsort(shares, kind="stable")
    names = np.array(list(tiers), dtype=object)[order]
    shares = shares[order]
    n = int(values.notna().sum())
    rank = values.rank(method="first", ascending=False).to_numpy()
    out = pd.DataFrame({"value": values, "rank": rank}, index=values.index)
    top_share = rank / max(n, 1)
    # Tier = first (smallest) share the customer's top share fits in; rounding guard 1e-12.
    slot = np.searchsorted(shares, top_share - 1e-12, side="left")
    labels = np.append(names, rest).astype(object)
    tier = labels[np.minimum(slot, names.size)]
    out["tier"] = np.where(np.isnan(rank), np.nan, tier).astype(object)
    if deciles:
        out["decile"] = pd.Series(np.ceil(rank * 10 / max(n, 1)), index=values.index).astype(
            "Int64")
    return out


def whale_curve(profit_per_customer) -> pd.DataFrame:
    """Whale curve: cumulative profit (% of total) against the cumulative share of customers
    sorted from the most to the least profitable (Kaplan & Cooper 1998).

    Returns one row per customer in that order plus a leading origin row: ``customer``,
    ``profit``, ``customers_pct`` (0..100) and ``cumulative_profit_pct``.  The curve peaks
    where the unprofitable customers start and ends at 100%.  Needs a positive total profit.
    """
    profit = as_float_series(profit_per_customer, name="profit_per_customer").dropna()
    if profit.empty:
        raise ValueError("profit_per_customer has no values")
    total = float(profit.sum())
    if not total > 0:
        raise ValueError(f"total profit is {total:.2f}; a whale curve needs a positive total "
                         "(percentages of a loss are meaningless)")
    ordered = profit.sort_values(ascending=False, kind="stable")
    n = ordered.size
    return pd.DataFrame({
        "customer": np.concatenate([[np.nan], ordered.index.to_numpy(dtype=object)]),
        "profit": np.concatenate([[0.0], ordered.to_numpy()]),
        "customers_pct": np.arange(n + 1) * 100.0 / n,
        "cumulative_profit_pct": np.concatenate([[0.0], ordered.cumsum().to_numpy()])
        * 100.0 / total,
    })


def _share_for(cumulative_pct: np.ndarray, target: float) -> float:
    """Smallest % of customers whose cumulative share reaches ``target`` %."""
    reached = np.flatnonzero(cumulative_pct >= target - 1e-9)
    return float(reached[0] * 100.0 / (cumulative_pct.size - 1))


def whale_figures(profit_per_customer, revenue_per_customer=None, *, top: float = 0.20,
                  bottom: float = 0.30) -> dict:
    """Headline numbers of the whale curve and the 80/20 and 80/20/30 rules.

    Returns a dict with

    * ``peak_profit_pct``: the highest cumulative profit, % of total profit, and
      ``peak_customers_pct`` the % of customers (most profitable first) where it is reached;
    * ``unprofitable_customers_pct``: % of customers with negative profit;
    * ``customers_pct_for_80pct_profit`` (and ``..._revenue`` when revenue is given): the
      smallest % of customers producing 80% of the total;
    * ``top_profit_pct``: % of total profit made by the top ``top`` (20%) of customers;
    * ``bottom_profit_pct``: % of total profit made by the bottom ``bottom`` (30%), negative
      when they destroy value (the "80/20/30" rule: top 20% earn 150-300% of profit, bottom 30%
      lose half of it; Kaplan & Cooper 1998).

    Group sizes are rounded to whole customers (``round(top * n)``).
    """
    for name, share in (("top", top), ("bottom", bottom)):
        if not 0 < share < 1:
            raise ValueError(f"{name} must be a share between 0 and 1 (e.g. 0.2)")
    curve = whale_curve(profit_per_customer)
    cum = curve["cumulative_profit_pct"].to_numpy()
    n = cum.size - 1
    peak = int(np.argmax(cum))
    k_top = int(round(top * n))
    k_bottom = int(round(bottom * n))
    out = {
        "customers": n,
        "total_profit": float(curve["profit"].sum()),
        "peak_profit_pct": float(cum[peak]),
        "peak_customers_pct": float(curve["customers_pct"].iloc[peak]),
        "unprofitable_customers_pct": float((curve["profit"].iloc[1:] < 0).mean() * 100.0),
        "customers_pct_for_80pct_profit": _share_for(cum, 80.0),
        "top_profit_pct": float(cum[k_top]),
        "bottom_profit_pct": float(cum[n] - cum[n - k_bottom]),
    }
    if revenue_per_customer is not None:
        revenue = as_float_series(revenue_per_customer, name="revenue_per_customer").dropna()
        if revenue.empty or not revenue.sum() > 0:
            raise ValueError("revenue_per_customer needs a positive total")
        cum_rev = np.concatenate([[0.0], revenue.sort_values(ascending=False).cumsum()
                                  .to_numpy()]) * 100.0 / float(revenue.sum())
        out["customers_pct_for_80pct_revenue"] = _share_for(cum_rev, 80.0)
    return out


def _unit_costs(frame: pd.DataFrame, cost, column: str, what: str) -> np.ndarray:
    if isinstance(cost, dict):
        require_columns(frame, ["customer_id", column], what=what)
        unknown = sorted(set(frame[column].dropna().astype(str)) - set(map(str, cost)))
        if unknown:
            raise ValueError(f"no cost given for {what} {column} {unknown}; add them to the "
                             "cost dict")
        values = frame[column].astype(str).map({str(k): float(v) for k, v in cost.items()})
        return values.to_numpy(dtype=float)
    require_columns(frame, ["customer_id"], what=what)
    if not (np.isscalar(cost) and np.isfinite(float(cost)) and float(cost) >= 0):
        raise ValueError(f"the cost per {what} row must be a number >= 0 or a dict by {column}")
    return np.full(len(frame), float(cost))


def allocate_cost_to_serve(touchpoints, cases, customers, *, cost_per_touchpoint,
                           cost_per_case) -> pd.DataFrame:
    """Activity-based cost to serve per customer when no cost is recorded (Kaplan & Cooper
    1998, ch. 10): number of touchpoints x cost per touchpoint + number of cases x cost per
    case.

    ``touchpoints`` (``customer_id``, ``kind``) and ``cases`` (``customer_id``, ``type``) may
    be None; the costs are numbers or dicts by touchpoint ``kind`` / case ``type``.
    ``customers`` lists every customer to report (those without activity cost 0).  Returns
    ``touchpoint_cost``, ``case_cost`` and ``cost_to_serve`` indexed by customer.
    """
    index = pd.Index(pd.unique(pd.Series(customers).to_numpy()), name="customer_id")
    out = pd.DataFrame(index=index)
    for frame, cost, column, name in ((touchpoints, cost_per_touchpoint, "kind", "touchpoint"),
                                      (cases, cost_per_case, "type", "case")):
        if frame is None:
            out[f"{name}_cost"] = 0.0
            continue
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"{name}s must be a DataFrame with a customer_id column or None")
        unit = _unit_costs(frame, cost, column, name)
        total = pd.Series(unit).groupby(frame["customer_id"].to_numpy()).sum()
        stray = total.index.difference(index)
        if len(stray):
            raise ValueError(f"{len(stray)} {name} customer(s) are not in customers, e.g. "
                             f"{list(stray[:3])}")
        out[f"{name}_cost"] = total.reindex(index, fill_value=0.0).to_numpy()
    out["cost_to_serve"] = out["touchpoint_cost"] + out["case_cost"]
    return out


def _aligned(first, second, names) -> tuple[pd.Series, pd.Series]:
    a = as_float_series(first, name=names[0])
    b = as_float_series(second, name=names[1])
    if not a.index.equals(b.index):
        b = b.reindex(a.index)
    return a, b


def jones_sasser(satisfaction, loyalty, *, sat_cut: float, loyal_cut: float) -> pd.Series:
    """Satisfaction x loyalty quadrant of each customer (Jones & Sasser 1995).

    High means ``>= cut``.  Apostles: high satisfaction and loyalty; mercenaries: satisfied but
    not loyal; hostages: loyal but dissatisfied; defectors: low on both.  Jones & Sasser count
    only the *completely* satisfied (top box) as high, so ``sat_cut`` is usually the scale top.
    NaN where either answer is missing.  Series are aligned on the satisfaction index.
    """
    sat, loyal = _aligned(satisfaction, loyalty, ("satisfaction", "loyalty"))
    high_s = (sat >= sat_cut).to_numpy()
    high_l = (loyal >= loyal_cut).to_numpy()
    quadrant = np.select([high_s & high_l, high_s & ~high_l, ~high_s & high_l],
                         ["apostle", "mercenary", "hostage"], default="defector").astype(object)
    quadrant[(sat.isna() | loyal.isna()).to_numpy()] = np.nan
    return pd.Series(quadrant, index=sat.index, name="quadrant")


def advocacy_segments(recommend, switching_cost, price_sensitivity, *,
                      recommend_cut: float = 9, switching_cut: float = 4,
                      price_cut: float = 4) -> pd.Series:
    """Brand advocates, brand users and brand comparers (key accounts).

    Rules, first match wins, all cuts inclusive:

    1. ``advocate``: likelihood to recommend >= ``recommend_cut`` (an NPS promoter, 9-10 on
       0-10) and price sensitivity < ``price_cut`` -- convinced the brand is best;
    2. ``user``: switching cost >= ``switching_cut`` (e.g. agree 4-5 on a 1-5 "changing
       supplier would be costly" item) -- stays because leaving is hard;
    3. ``comparer``: everyone else -- price- and performance-sensitive, open to switching.

    NaN where any signal is missing.  Series are aligned on the index of ``recommend``.
    """
    rec = as_float_series(recommend, name="recommend")
    switch = as_float_series(switching_cost, name="switching_cost").reindex(rec.index)
    price = as_float_series(price_sensitivity, name="price_sensitivity").reindex(rec.index)
    advocate = ((rec >= recommend_cut) & (price < price_cut)).to_numpy()
    user = (switch >= switching_cut).to_numpy()
    kind = np.select([advocate, user], ["advocate", "user"], default="comparer").astype(object)
    kind[(rec.isna() | switch.isna() | price.isna()).to_numpy()] = np.nan
    return pd.Series(kind, index=rec.index, name="advocacy")


def retention_by_satisfaction(satisfaction, retained, *, confidence: float = 0.95
                              ) -> pd.DataFrame:
    """Share of customers still active later, per satisfaction level, with Wilson intervals.

    ``satisfaction`` is each customer's latest answer, ``retained`` a True/False flag (active
    in a later window), both indexed by customer.  Shows the "satisfaction trap" (Jones &
    Sasser 1995): retention usually jumps only at the top box.  Returns ``n``, ``retained``,
    ``retention``, ``ci_low``, ``ci_high`` per level (customers missing either are left out).
    """
    sat = as_float_series(satisfaction, name="satisfaction")
    flag = pd.Series(retained, copy=True).reindex(sat.index)
    keep = sat.notna() & flag.notna()
    if not keep.any():
        raise ValueError("no customer has both a satisfaction answer and a retention flag")
    values = flag[keep]
    if not values.isin([0, 1, True, False]).all():
        raise ValueError("retained must be True/False (or 1/0) per customer")
    grouped = values.astype(float).groupby(sat[keep])
    out = pd.DataFrame({"n": grouped.size().astype(float), "retained": grouped.sum()})
    out["retention"] = out["retained"] / out["n"]
    bounds = [wilson_interval(s, n, confidence) for s, n in zip(out["retention"], out["n"])]
    out["ci_low"] = [b[0] for b in bounds]
    out["ci_high"] = [b[1] for b in bounds]
    out.index.name = "satisfaction"
    return out


def retention_economics(margin_per_period, *, retention_now, delta_points: float,
                        margin: float = 1.0, discount: float = 0.1) -> pd.Series:
    """What raising retention by ``delta_points`` percentage points is worth.

    Each customer's value is the geometric CLV ``m r / (1 + d - r)`` (Gupta & Lehmann 2003,
    eq. 2: constant margin ``m`` per period received at the end of each period survived,
    retention ``r`` per period, discount rate ``d`` per period), with
    ``m = margin * margin_per_period``.  ``margin_per_period`` is a Series of spend (or profit,
    with ``margin=1``) per customer per period -- or a ``customer_summary`` (``freq="D"``)
    whose ``total_spend`` is annualised as ``total_spend * 365.25 / (T + 1)``, the period
    then being a year.  ``retention_now`` is a rate in (0, 1) or a Series per customer.

    Returns ``customers``, ``base_value``, ``new_value``, ``difference``, ``pct_change``.
    """
    if isinstance(margin_per_period, pd.DataFrame):
        require_columns(margin_per_period, ["total_spend", "T"], what="the customer summary")
        spend = (margin_per_period["total_spend"].astype(float) * 365.25
                 / (margin_per_period["T"].astype(float) + 1.0))
    else:
        spend = as_float_series(margin_per_period, name="margin_per_period")
    m = (spend * float(margin)).dropna()
    if m.empty:
        raise ValueError("no customer has a margin per period")
    if isinstance(retention_now, pd.Series):
        r = as_float_series(retention_now, name="retention_now").reindex(m.index)
        if r.isna().any():
            raise ValueError("retention_now has no rate for some customers")
        r = r.to_numpy()
    else:
        r = np.full(m.size, float(retention_now))
    if np.any((r <= 0) | (r >= 1)):
        raise ValueError("retention_now must be a rate strictly between 0 and 1 (0.8 = 80%)")
    if not np.isfinite(discount) or discount <= -1:
        raise ValueError("discount must be a rate per period > -1 (0.1 = 10%)")
    r_new = r + float(delta_points) / 100.0
    if np.any((r_new <= 0) | (r_new >= 1)):
        raise ValueError(f"retention + {delta_points} points leaves (0, 1); delta_points is in "
                         "percentage points (5 = +0.05)")
    values = m.to_numpy()
    base = float(np.sum(values * r / (1.0 + discount - r)))
    new = float(np.sum(values * r_new / (1.0 + discount - r_new)))
    pct = (new - base) / abs(base) * 100.0 if base != 0 else np.nan
    return pd.Series({"customers": float(m.size), "base_value": base, "new_value": new,
                      "difference": new - base, "pct_change": pct})
