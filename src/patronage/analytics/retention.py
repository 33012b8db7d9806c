"""Behavioural loyalty from transactions: acquisition cohorts, retention curves, repeat purchase,
Kaplan-Meier survival of customer lifetimes, cross-buying and share of wallet.

References
----------
* Cohort retention tables: Fader & Hardie (2010), "Customer-base valuation in a contractual
  setting: the perils of ignoring heterogeneity", Marketing Science 29(1), 85-93 (retention
  curves by cohort); Gupta et al. (2006), "Modeling customer lifetime value", J. Service
  Research 9(2), 139-155.
* Kaplan & Meier (1958), JASA 53, 457-481; Greenwood (1926) variance; log-log ("exponential
  Greenwood") confidence interval, Kalbfleisch & Prentice (2002), "The Statistical Analysis of
  Failure Time Data", 2nd ed., section 1.4.
* Cross-buying: Kumar, George & Pancras (2008), "Cross-buying in retailing: drivers and
  consequences", J. Retailing 84(1), 15-27.
* Share of wallet: Keiningham, Perkins-Munn & Evans (2003), J. Service Research 6(1), 37-50.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse, stats

from patronage.analytics.btyd.summary import customer_summary
from patronage.analytics.rfm import _check_transactions, _sales_only

__all__ = ["cohort_matrix", "cohort_matrix_from_counts", "cross_buying", "kaplan_meier",
           "logrank_test", "median_survival", "repeat_purchase_by_cohort",
           "repeat_purchase_from_counts", "repeat_purchase_rate", "retention_curve",
           "share_of_wallet", "survival_at"]

_PERIODS = {"D", "W", "M", "Q", "Y"}


def _period_ordinals(dates: pd.Series, period: str) -> np.ndarray:
    """Integer period numbers of ``dates`` (consecutive periods differ by 1)."""
    if period not in _PERIODS:
        raise ValueError(f"period must be one of {sorted(_PERIODS)} (day, week, month, quarter, "
                         f"year), got {period!r}")
    try:
        parsed = pd.to_datetime(dates)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"could not read the transaction dates: {exc}") from None
    if parsed.isna().any():
        raise ValueError("some transaction dates are missing; drop those rows first")
    if parsed.dt.tz is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed.dt.to_period(period).array.asi8


def cohort_matrix(transactions: pd.DataFrame, *, period: str = "M",
                  observation_end=None) -> pd.DataFrame:
    """Acquisition cohorts (period of the first purchase) x periods since acquisition.

    A customer is *active* in a period when she makes at least one purchase in it (refund rows
    are ignored).  Returns a DataFrame indexed by cohort (a ``Period``) with columns
    ``cohort_size`` and a two-level block ``("active", k)`` / ``("retention", k)`` for
    ``k = 0, 1, ...`` periods since acquisition, where retention = active / cohort size.
    Cells a cohort has not reached by the observation end (default: the last transaction's
    period) are NaN, not 0.
    """
    _check_transactions(transactions)
    sales = _sales_only(transactions)
    if sales.empty:
        raise ValueError("transactions holds no purchases")
    ordinal = _period_ordinals(sales["occurred_at"], period)
    if observation_end is None:
        end = int(ordinal.max())
    else:
        end = int(pd.Period(pd.Timestamp(observation_end), freq=period).ordinal)
        keep = ordinal <= end
        sales, ordinal = sales.loc[keep], ordinal[keep]
    codes, _ = pd.factorize(sales["customer_id"])
    if (codes < 0).any():
        raise ValueError("some rows have no customer_id; drop them first")
    pairs = pd.DataFrame({"c": codes, "p": ordinal}).drop_duplicates()
    first = pairs.groupby("c")["p"].transform("min").to_numpy()
    pairs["cohort"] = first
    pairs["k"] = pairs["p"].to_numpy() - first
    counts = pairs.groupby(["cohort", "k"]).size().rename("active").reset_index()
    return cohort_matrix_from_counts(counts, period=period, end=end)


def cohort_matrix_from_counts(counts: pd.DataFrame, *, period: str, end: int) -> pd.DataFrame:
    """:func:`cohort_matrix` from its sufficient statistics, as an engine counts them:
    ``counts`` has one row per (``cohort``, ``k``) with ``active``, the number of the cohort's
    customers buying ``k`` periods after acquisition (cohorts as period ordinals of ``period``,
    ``end`` the ordinal of the observation end)."""
    active = counts.pivot(index="cohort", columns="k", values="active").fillna(0)
    active = active.reindex(columns=range(int(counts["k"].max()) + 1), fill_value=0)
    active = active.sort_index().astype(float)
    active.columns.name = "k"
    reached = (active.index.to_numpy()[:, None] + active.columns.to_numpy()[None, :]) <= end
    active = active.where(reached)
    size = active[0]
    retention = active.div(size, axis=0)
    out = pd.concat({"active": active, "retention": retention}, axis=1)
    out.insert(0, ("cohort_size", ""), size)
    out.index = pd.PeriodIndex.from_ordinals(active.index.to_numpy(), freq=period)
    out.index.name = "cohort"
    out.columns.names = [None, "periods_since_acquisition"]
    return out


def retention_curve(cohorts: pd.DataFrame, *, period: str = "M") -> pd.DataFrame:
    """Retention and churn per period since acquisition, pooled over cohorts.

    ``cohorts`` is the output of :func:`cohort_matrix` (or transactions, which are passed to it
    with ``period``).  For each ``k`` only the cohorts observed at ``k`` count; ``retention_k``
    = sum of active customers / sum of cohort sizes, i.e. the cohort-size-weighted mean of the
    cohort retention shares.  ``period_retention_k`` = retention_k / retention_{k-1} computed
    on the same cohorts, and ``churn`` = 1 - period_retention (negative when more customers
    come back than lapse, which happens in non-contractual settings).

    Returns a DataFrame indexed by ``k`` with ``cohorts`` (number observed), ``customers``,
    ``active``, ``retention``, ``period_retention`` and ``churn``.
    """
    if isinstance(cohorts, pd.DataFrame) and "customer_id" in cohorts.columns:
        cohorts = cohort_matrix(cohorts, period=period)
    if not (isinstance(cohorts, pd.DataFrame) and "active" in cohorts.columns
            and "cohort_size" in cohorts.columns):
        raise ValueError("cohorts must be the DataFrame returned by cohort_matrix (or "
                         "transactions with customer_id and occurred_at)")
    active = cohorts["active"]
    size = cohorts["cohort_size"].squeeze(axis=1) if isinstance(
        cohorts["cohort_size"], pd.DataFrame) else cohorts["cohort_size"]
    observed = active.notna()
    sizes = observed.mul(size, axis=0)
    total_active = active.sum(axis=0, min_count=1)
    total_size = sizes.sum(axis=0)
    retention = total_active / total_size
    prev = active.shift(1, axis=1).where(observed)
    prev_total = prev.sum(axis=0, min_count=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        period_retention = (total_active / prev_total).where(prev_total > 0)
    out = pd.DataFrame({"cohorts": observed.sum(axis=0).astype(int),
                        "customers": total_size, "active": total_active,
                        "retention": retention, "period_retention": period_retention,
                        "churn": 1.0 - period_retention})
    out.index.name = "periods_since_acquisition"
    return out


def repeat_purchase_rate(data: pd.DataFrame) -> float:
    """Share of customers who bought on at least two different days.

    ``data`` is transactions (``customer_id``, ``occurred_at``) or a customer summary with a
    ``frequency`` column (repeat purchases, as :func:`customer_summary` with ``freq="D"``).
    """
    if isinstance(data, pd.DataFrame) and "frequency" in data.columns:
        freq = pd.to_numeric(data["frequency"], errors="coerce")
    else:
        _check_transactions(data)
        sales = _sales_only(data)
        if sales.empty:
            raise ValueError("transactions holds no purchases")
        freq = customer_summary(sales, "customer_id", "occurred_at", freq="D")["frequency"]
    freq = freq.dropna()
    if freq.empty:
        raise ValueError("no customers to compute a repeat purchase rate for")
    return float((freq > 0).mean())


def kaplan_meier(durations, observed, *, confidence: float = 0.95) -> pd.DataFrame:
    """Kaplan-Meier estimate of the survival (retention) function.

    ``durations`` are customer lifetimes (e.g. months from acquisition to cancellation or to
    the end of observation) and ``observed`` is True where the end was a defection (event) and
    False where the customer was still active (right-censored).

    At each distinct time ``t``: S(t) = prod_{t_i <= t} (1 - d_i / n_i); Greenwood's
    variance Var S = S^2 sum d_i / (n_i (n_i - d_i)); log-log interval
    S^exp(+-z sqrt(V)) with V = sum d_i / (n_i (n_i - d_i)) / (log S)^2 (Kalbfleisch &
    Prentice 2002, eq. 1.15).  The interval is (S, S) before the first event and NaN once
    S reaches 0.

    Returns a DataFrame with ``time, at_risk, events, censored, survival, se, ci_low,
    ci_high``, one row per distinct time.
    """
    t = np.asarray(durations, dtype=float)
    e = np.asarray(observed)
    if t.ndim != 1 or e.shape != t.shape:
        raise ValueError("durations and observed must be 1-d and of the same length")
    if t.size == 0:
        raise ValueError("no durations given")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("durations must be finite numbers >= 0 (drop missing rows first)")
    if e.dtype.kind not in "biu" or not np.isin(e, [0, 1]).all():
        raise ValueError("observed must be True/False (or 1/0): True where the customer "
                         "defected, False where still active (censored)")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1, e.g. 0.95")
    e = e.astype(bool)
    times, inverse = np.unique(t, return_inverse=True)
    events = np.bincount(inverse, weights=e, minlength=times.size)
    leaving = np.bincount(inverse, minlength=times.size).astype(float)
    at_risk = leaving[::-1].cumsum()[::-1]
    survival = np.cumprod(1.0 - events / at_risk)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(events > 0, events / (at_risk * (at_risk - events)), 0.0)
        green = np.cumsum(term)
        se = survival * np.sqrt(green)
        z = stats.norm.ppf(0.5 + confidence / 2)
        log_s = np.log(survival)
        spread = z * np.sqrt(green) / np.abs(log_s)
        low = survival ** np.exp(spread)
        high = survival ** np.exp(-spread)
    flat = green == 0
    low = np.where(flat, survival, low)
    high = np.where(flat, survival, high)
    dead = survival <= 0
    se = np.where(dead, np.nan, se)
    low = np.where(dead, np.nan, low)
    high = np.where(dead, np.nan, high)
    return pd.DataFrame({"time": times, "at_risk": at_risk, "events": events,
                         "censored": leaving - events, "survival": survival, "se": se,
                         "ci_low": low, "ci_high": high})


def survival_at(table: pd.DataFrame, times) -> np.ndarray:
    """The Kaplan-Meier step function of ``table`` (from :func:`kaplan_meier`) at ``times``:
    1 before the first time, the last estimate at or before each time; NaN after the last
    observed time when that was a censored customer (not estimable; ``lifelines`` carries
    the last estimate on)."""
    t = np.asarray(times, dtype=float)
    known = table["time"].to_numpy(dtype=float)
    if not known.size:
        return np.full(t.shape, np.nan)
    values = np.concatenate([[1.0], table["survival"].to_numpy(dtype=float)])
    out = values[np.searchsorted(known, t, side="right")]
    return np.where((t > known.max()) & (values[-1] > 0), np.nan, out)


def median_survival(table: pd.DataFrame) -> float:
    """The median lifetime: the first time the Kaplan-Meier estimate falls to 0.5 or below
    (``inf`` when it never does in the data, the ``lifelines`` convention)."""
    below = table.loc[table["survival"] <= 0.5, "time"]
    return float(below.iloc[0]) if len(below) else float("inf")


def logrank_test(durations, observed, groups) -> dict:
    """Log-rank test that the survival functions of ``groups`` are equal (Mantel 1966; Peto &
    Peto 1972): observed against expected events per group over the distinct event times, with
    the hypergeometric covariance; chi-square with (groups - 1) degrees of freedom.

    Returns ``chi2``, ``df``, ``p_value`` and per group ``observed`` and ``expected`` events.
    """
    t = np.asarray(durations, dtype=float)
    e = np.asarray(observed).astype(bool)
    g = pd.Series(np.asarray(groups, dtype=object))
    if not t.size == e.size == g.size:
        raise ValueError("durations, observed and groups must have the same length")
    codes, labels = pd.factorize(g, sort=True)
    k = len(labels)
    if k < 2:
        raise ValueError("the log-rank test needs at least two groups")
    times, inverse = np.unique(t, return_inverse=True)
    leaving = np.zeros((times.size, k))
    deaths = np.zeros((times.size, k))
    np.add.at(leaving, (inverse, codes), 1.0)
    np.add.at(deaths, (inverse, codes), e.astype(float))
    at_risk = leaving[::-1].cumsum(axis=0)[::-1]
    n, d = at_risk.sum(axis=1), deaths.sum(axis=1)
    share = at_risk / n[:, None]
    expected = (d[:, None] * share).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
    covariance = (np.einsum("t,ti,ij->ij", spread, share, np.eye(k))
                  - np.einsum("t,ti,tj->ij", spread, share, share))
    diff = deaths.sum(axis=0) - expected
    reduced = covariance[:-1, :-1]
    chi2 = float(diff[:-1] @ np.linalg.pinv(reduced) @ diff[:-1])
    df = int(np.linalg.matrix_rank(reduced))
    return {"chi2": chi2, "df": df,
            "p_value": float(stats.chi2.sf(chi2, df)) if df else float("nan"),
            "observed": dict(zip(map(str, labels), map(float, deaths.sum(axis=0)))),
            "expected": dict(zip(map(str, labels), map(float, expected)))}


def cross_buying(transactions: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """Distinct categories bought per customer and the category co-purchase matrix.

    Returns ``(n_categories, co_purchase)``: ``n_categories`` is a Series per customer;
    ``co_purchase.loc[A, B]`` is the share of customers who bought in category A who also
    bought in category B (diagonal 1; not symmetric).  Refund rows and rows without a
    category are ignored.
    """
    _check_transactions(transactions, ("customer_id", "occurred_at", "category"))
    sales = _sales_only(transactions)
    sales = sales.loc[sales["category"].notna().to_numpy()]
    if sales.empty:
        raise ValueError("no purchase has a category; cross-buying needs the category column")
    cust, cust_ids = pd.factorize(sales["customer_id"], sort=True)
    cat, cat_ids = pd.factorize(sales["category"], sort=True)
    ones = np.ones(cust.size, dtype=np.float64)
    indicator = sparse.csr_matrix((ones, (cust, cat)), shape=(cust_ids.size, cat_ids.size))
    indicator.data[:] = 1.0  # duplicates were summed; a purchase in a category counts once
    n_categories = pd.Series(np.asarray(indicator.sum(axis=1)).ravel(),
                             index=pd.Index(cust_ids, name="customer_id"),
                             name="n_categories")
    both = (indicator.T @ indicator).toarray()
    buyers = np.diag(both)
    co = both / buyers[:, None]
    labels = pd.Index(cat_ids, name="category")
    return n_categories, pd.DataFrame(co, index=labels, columns=labels.rename("also_bought"))


def repeat_purchase_by_cohort(transactions: pd.DataFrame, *, period: str = "Q",
                              within_days: int = 90, observation_end=None) -> pd.DataFrame:
    """Repeat-purchase rate per acquisition cohort: the share of a cohort's customers who
    bought again (on a later day than their first purchase) within ``within_days`` days.

    ``transactions`` needs ``customer_id`` and ``occurred_at`` (refund rows, when flagged in
    ``is_refund``, are left out). A customer counts only once her ``within_days`` after the
    first purchase lie inside the data (first purchase day + ``within_days`` <= the last day,
    or ``observation_end``): customers acquired later are not yet known to have repeated or
    not, so a cohort none of whose windows is complete has a missing rate, never 0.

    Returns one row per cohort (a ``Period`` of ``period``: "M", "Q" or "Y") and a final row
    ``all``: ``customers``, ``observed`` (customers whose window is complete),
    ``repeat_customers`` (of those, who bought again within it), ``repeat_rate`` =
    repeat_customers / observed, and ``repeat_rate_to_date``, the share of all the cohort's
    customers who bought again by the end of the data (the repeat purchase rate of
    :func:`patronage.analytics.repeat_purchase_rate`, which favours older cohorts).
    """
    if period not in ("M", "Q", "Y"):
        raise ValueError(f"period must be M, Q or Y (month, quarter, year), not {period!r}")
    if isinstance(within_days, bool) or int(within_days) != within_days or within_days < 1:
        raise ValueError(f"the repeat window must be a whole number of days >= 1, not "
                         f"{within_days!r}")
    sales = transactions
    if "is_refund" in sales.columns:
        sales = sales[~sales["is_refund"].fillna(False).astype(bool)]
    sales = sales.dropna(subset=["customer_id", "occurred_at"])
    if sales.empty:
        raise ValueError("no sales yet: import transactions first")
    day = pd.to_datetime(sales["occurred_at"]).dt.normalize()
    if day.dt.tz is not None:
        day = day.dt.tz_localize(None)
    end = day.max() if observation_end is None else pd.Timestamp(observation_end).normalize()
    keep = (day <= end).to_numpy()
    customer, day = sales["customer_id"][keep], day[keep]
    first = day.groupby(customer).min()
    later = (day > customer.map(first)).to_numpy()
    second = day[later].groupby(customer[later]).min().reindex(first.index)
    gap = (second - first).dt.days
    observed = first + pd.Timedelta(days=int(within_days)) <= end
    frame = pd.DataFrame({"cohort": first.dt.to_period(period), "observed": observed,
                          "repeat": observed & (gap <= within_days), "ever": gap.notna()})
    table = frame.groupby("cohort").agg(customers=("observed", "size"),
                                        observed=("observed", "sum"),
                                        repeat_customers=("repeat", "sum"),
                                        ever=("ever", "sum"))
    table.index = table.index.astype(str)
    return repeat_purchase_from_counts(table)


def repeat_purchase_from_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """:func:`repeat_purchase_by_cohort` from its counts per cohort (index: the cohort as text,
    in order; ``customers``, ``observed``, ``repeat_customers`` and ``ever``, those who bought
    again by the end of the data), as an engine counts them."""
    table = counts[["customers", "observed", "repeat_customers", "ever"]].copy()
    table.loc["all"] = table.sum()
    table = table.astype(int)
    table["repeat_rate"] = (table["repeat_customers"] / table["observed"]).where(
        table["observed"] > 0)
    table["repeat_rate_to_date"] = table.pop("ever") / table["customers"]
    table.index.name = "cohort"
    return table


def share_of_wallet(spend_with_us, total_category_spend) -> pd.Series:
    """Share of each customer's category spend that goes to us: spend_with_us / total.

    Both inputs are Series indexed by customer (aligned on the index of ``spend_with_us``);
    the total usually comes from a survey question.  The share is NaN where either amount is
    unknown or the total is not positive (unknown, never 0), and capped at 1 where a stated
    total is below the spend we observed.
    """
    spend = pd.Series(spend_with_us, copy=True)
    total = pd.Series(total_category_spend, copy=True)
    try:
        spend = spend.astype(float)
        total = total.astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"spend amounts must be numeric: {exc}") from None
    if (spend < 0).any():
        raise ValueError("spend_with_us has negative values; net refunds per customer first")
    total = total.reindex(spend.index)
    valid = spend.notna() & total.notna() & (total > 0)
    share = (spend / total.where(valid)).clip(upper=1.0)
    return share.where(valid).rename("share_of_wallet")
