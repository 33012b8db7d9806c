"""Lifecycle after the repeat-purchase stage: latent switching (customers drifting away, judged
against their own baseline and the BG/NBD purchase model) and the reasons and destinations of
customers who defected.

Latent switching: a customer is flagged when, over the last
``window`` before ``observation_end``,

* she bought fewer times than the fitted BG/NBD model expects given her history up to the
  window start -- expected count ``E[X(T, T+t) | x, t_x, T]`` (Fader, Hardie & Lee 2005,
  eq. 10) and a Poisson lower tail ``P(N <= actual | mean = expected) < alpha``; or
* her average purchase amount in the window fell by at least ``spend_drop`` against her own
  average before the window (e.g. a key account whose spend falls by a third),

**and** her probability of being alive (FHL 2005, eq. 11) is lower at the observation end than
at the window start.  Purchases are counted as distinct purchase days, as in
:func:`patronage.analytics.btyd.customer_summary` with ``freq="D"``, so the model must be
fitted on a daily summary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from patronage.analytics._validation import require_columns
from patronage.analytics.btyd.summary import customer_summary
from patronage.analytics.rfm import _check_transactions, _sales_only

__all__ = ["REASON_CODES", "defection_reasons", "latent_switching"]


def _window_days(window) -> float:
    try:
        delta = pd.Timedelta(window)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"window must be a duration such as '90D': {exc}") from None
    days = delta / pd.Timedelta(days=1)
    if not days >= 1 or days != int(days):
        raise ValueError("window must be a whole number of days, at least one ('90D')")
    return float(days)


def _mean_amount(sales: pd.DataFrame, mask: np.ndarray, index: pd.Index) -> pd.Series:
    part = sales.loc[mask]
    amounts = pd.to_numeric(part["amount"], errors="coerce")
    return amounts.groupby(part["customer_id"].to_numpy()).mean().reindex(index)


#: Machine-readable reason parts, in the order they appear in ``reason_code`` and ``reason``.
REASON_CODES = ("fewer_purchases", "lower_spend")


def _reasons(count_flag, spend_flag, actual, expected, change, days):
    """The reason per customer twice: codes joined by ``;`` (``"fewer_purchases;lower_spend"``)
    for programs and translations, and the same reason as English text."""
    codes = np.full(count_flag.size, "", dtype=object)
    text = np.full(count_flag.size, "", dtype=object)
    for i in np.flatnonzero(count_flag | spend_flag):
        parts, words = [], []
        if count_flag[i]:
            times = "time" if actual[i] == 1 else "times"
            parts.append("fewer_purchases")
            words.append(f"bought {int(actual[i])} {times} in the last {int(days)} days, "
                         f"model expected {expected[i]:.1f}")
        if spend_flag[i]:
            parts.append("lower_spend")
            words.append(f"spend down {-change[i] * 100:.0f}% against own average")
        codes[i] = ";".join(parts)
        text[i] = "; ".join(words)
    return codes, text


def latent_switching(transactions: pd.DataFrame, model, *, observation_end, window="90D",
                     spend_drop: float = 1 / 3, alpha: float = 0.05, clv=None,
                     all_customers: bool = False) -> pd.DataFrame:
    """Customers showing latent switching, most valuable first.

    Parameters
    ----------
    transactions : DataFrame
        ``customer_id``, ``occurred_at``, ``amount`` [, ``is_refund``]; refunds are ignored.
    model : fitted :class:`~patronage.analytics.btyd.BetaGeo` (or any model with
        ``expected_purchases`` and ``probability_alive``) fitted on a daily summary.
    observation_end : date-like
        End of observation; the window is the ``window`` days up to it.
    window : str or Timedelta
        Length of the recent window, whole days ("90D").
    spend_drop : float
        Fall of the mean purchase amount, as a share of the customer's earlier mean, that
        counts as a decline (1/3 by default).
    alpha : float
        Level of the Poisson lower-tail test on the purchase count.
    clv : Series, optional
        Expected CLV per customer used as ``value_at_risk``; default the trailing-12-month
        spend up to ``observation_end``.
    all_customers : bool
        Return every customer known at the window start with a ``flagged`` column instead of
        the flagged ones only.

    Returns
    -------
    DataFrame indexed by customer: ``purchases_window``, ``expected_window``, ``p_value``,
    ``spend_before``, ``spend_recent``, ``spend_change`` (relative), ``p_alive_before``,
    ``p_alive_now``, ``value_at_risk``, ``window_days``, ``reason_code`` and ``reason``.

    ``reason_code`` is machine-readable: the parts of :data:`REASON_CODES` that apply, joined
    by ``;`` (``"fewer_purchases"``, ``"lower_spend"`` or ``"fewer_purchases;lower_spend"``;
    empty when the customer is not flagged).  With ``purchases_window``, ``expected_window``,
    ``window_days`` and ``spend_change`` it carries everything needed to word the reason in
    another language.  ``reason`` is the same in English, e.g. "bought 1 time in the last 90
    days, model expected 4.2; spend down 45% against own average".
    """
    _check_transactions(transactions, ("customer_id", "occurred_at", "amount"))
    if not (hasattr(model, "expected_purchases") and hasattr(model, "probability_alive")):
        raise ValueError("model must be a fitted BetaGeo (expected_purchases, probability_alive)")
    if not 0 < spend_drop < 1:
        raise ValueError("spend_drop must be a share between 0 and 1 (1/3 = down by a third)")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1 (e.g. 0.05)")
    days = _window_days(window)
    if observation_end is None:
        raise ValueError("observation_end is required (the date the analysis looks back from)")
    end = pd.Timestamp(observation_end).floor("D")
    start = end - pd.Timedelta(days=days)
    sales = _sales_only(transactions)
    dates = pd.to_datetime(sales["occurred_at"])
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)
    before = (dates < start + pd.Timedelta(days=1)).to_numpy()  # days up to the window start
    if not before.any():
        raise ValueError("no purchase before the window start; use a shorter window")
    base = customer_summary(sales.loc[before], "customer_id", "occurred_at",
                            observation_period_end=start, freq="D")
    now = customer_summary(sales, "customer_id", "occurred_at", observation_period_end=end,
                           freq="D").reindex(base.index)
    actual = (now["frequency"] - base["frequency"]).to_numpy()
    expected = np.asarray(model.expected_purchases(days, base["frequency"].to_numpy(),
                                                   base["recency"].to_numpy(),
                                                   base["T"].to_numpy()), dtype=float)
    p_value = stats.poisson.cdf(actual, expected)
    p_before = np.asarray(model.probability_alive(base["frequency"].to_numpy(),
                                                  base["recency"].to_numpy(),
                                                  base["T"].to_numpy()), dtype=float)
    p_now = np.asarray(model.probability_alive(now["frequency"].to_numpy(),
                                               now["recency"].to_numpy(),
                                               now["T"].to_numpy()), dtype=float)
    in_window = (~before) & (dates < end + pd.Timedelta(days=1)).to_numpy()
    spend_before = _mean_amount(sales, before, base.index)
    spend_recent = _mean_amount(sales, in_window, base.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = (spend_recent / spend_before - 1.0).where(spend_before > 0)
    change_arr = change.to_numpy(dtype=float)
    count_flag = p_value < alpha
    spend_flag = np.nan_to_num(change_arr, nan=0.0) <= -spend_drop
    falling = p_now < p_before
    flagged = (count_flag | spend_flag) & falling
    if clv is not None:
        value = pd.Series(clv, copy=True).astype(float).reindex(base.index)
    else:
        year = (dates > end - pd.Timedelta(days=365)).to_numpy() & (
            dates < end + pd.Timedelta(days=1)).to_numpy()
        part = sales.loc[year]
        value = pd.to_numeric(part["amount"], errors="coerce").groupby(
            part["customer_id"].to_numpy()).sum().reindex(base.index, fill_value=0.0)
    reason_code, reason = _reasons(count_flag & falling, spend_flag & falling, actual, expected,
                                   change_arr, days)
    out = pd.DataFrame({
        "purchases_window": actual, "expected_window": expected, "p_value": p_value,
        "spend_before": spend_before.to_numpy(), "spend_recent": spend_recent.to_numpy(),
        "spend_change": change_arr, "p_alive_before": p_before, "p_alive_now": p_now,
        "value_at_risk": value.to_numpy(dtype=float), "window_days": int(days),
        "reason_code": reason_code, "reason": reason,
    }, index=base.index)
    if all_customers:
        out["flagged"] = flagged
        return out
    out = out.loc[flagged]
    return out.sort_values("value_at_risk", ascending=False, kind="stable")


def defection_reasons(defected: pd.DataFrame) -> pd.DataFrame:
    """Counts and shares of defection reasons and destination competitors.

    ``defected`` has one row per lost customer with ``reason`` and ``competitor`` (from lost-
    customer interviews or the case log; a list of reasons per row is allowed).  Returns a
    DataFrame indexed by (``dimension``, ``value``) with ``count`` and ``share`` (share of the
    rows where that dimension was recorded, most frequent first); unrecorded values are one
    ``"(not recorded)"`` row with share NaN.
    """
    if not isinstance(defected, pd.DataFrame):
        raise ValueError("defected must be a DataFrame with reason and competitor columns")
    require_columns(defected, ["reason", "competitor"], what="defected")
    if defected.empty:
        raise ValueError("defected has no rows")
    blocks = []
    for dim in ("reason", "competitor"):
        values = defected[dim].explode()
        known = values.dropna()
        known = known[known.astype(str).str.strip() != ""]
        counts = known.astype(str).value_counts()
        frame = pd.DataFrame({"count": counts.astype(float),
                              "share": counts / max(len(known), 1)})
        missing = len(values) - len(known)
        if missing:
            frame.loc["(not recorded)"] = [float(missing), np.nan]
        frame.index = pd.MultiIndex.from_product([[dim], frame.index],
                                                 names=["dimension", "value"])
        blocks.append(frame)
    return pd.concat(blocks)
