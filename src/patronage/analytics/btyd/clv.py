"""Customer lifetime value from a purchase model and a spend model, and holdout validation.

CLV is the discounted sum over future months of expected purchases times expected spend times the
margin (Fader, Hardie & Lee 2005, "RFM and CLV", section 4; computed per month as in
``lifetimes.utils._customer_lifetime_value``):

    CLV = sum_{k=1}^{time} margin * E[M | x, m] * (E[X(k f)] - E[X((k-1) f)]) / (1 + d)^k,

where ``f`` is the number of model time units per month (4.345 weeks, 30 days, 720 hours) and
``E[X(t)]`` the conditional expected purchases in (T, T+t].
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patronage.analytics.btyd._base import as_array, first_series

__all__ = ["customer_lifetime_value", "holdout_comparison", "lifetime_value_factor"]

_UNITS_PER_MONTH = {"W": 4.345, "M": 1.0, "D": 30.0, "h": 720.0, "H": 720.0}


def _check_horizon(time, discount_rate: float, freq: str) -> None:
    """Refuse a horizon that is not a whole number of months, a discount rate of -100 % or
    less, or an unknown time unit."""
    if freq not in _UNITS_PER_MONTH:
        raise ValueError(f"freq must be one of {sorted(_UNITS_PER_MONTH)}, got {freq!r}")
    if int(time) != time or time < 1:
        raise ValueError("time must be a positive whole number of months")
    if not (np.isfinite(discount_rate) and discount_rate > -1):
        raise ValueError("discount_rate must be a number > -1 (a monthly rate such as 0.01)")


def customer_lifetime_value(transaction_model, spend_model, frequency, recency, T,
                            monetary_value, time: int = 12, discount_rate: float = 0.01,
                            margin: float = 1.0, freq: str = "W"):
    """Discounted expected profit of each customer over the next ``time`` months.

    Parameters
    ----------
    transaction_model : fitted BetaGeo or ParetoNBD (anything with ``expected_purchases``).
    spend_model : fitted GammaGamma, or None to take ``monetary_value`` as the expected spend.
    frequency, recency, T, monetary_value : per-customer summary (``T`` in units of ``freq``).
    time : number of months.
    discount_rate : monthly discount rate (0.01 = 1% a month).
    margin : share of spend kept as profit (1.0 gives revenue, as ``lifetimes``).
    freq : time unit of recency and T: "W", "D", "h" or "M".

    Returns a Series indexed like ``frequency`` (an array when no Series is given).
    """
    _check_horizon(time, discount_rate, freq)
    if not np.isfinite(margin):
        raise ValueError("margin must be a finite number (share of spend kept as profit)")
    if not hasattr(transaction_model, "expected_purchases"):
        raise ValueError("transaction_model must be a fitted BetaGeo or ParetoNBD model")
    if spend_model is None:
        spend = as_array(monetary_value, "monetary_value")
    else:
        spend = np.asarray(spend_model.conditional_expected_average_profit(frequency,
                                                                           monetary_value))
    factor = _UNITS_PER_MONTH[freq]
    x, tx, age = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    total = np.zeros(np.shape(x))
    previous = np.zeros(np.shape(x))
    for month in range(1, int(time) + 1):
        cumulative = np.asarray(transaction_model.expected_purchases(month * factor, x, tx, age))
        total = total + spend * (cumulative - previous) / (1.0 + discount_rate) ** month
        previous = cumulative
    result = margin * total
    like = first_series(frequency, recency, T, monetary_value)
    if isinstance(like, pd.Series):
        return pd.Series(result, index=like.index, name="clv")
    return result


def lifetime_value_factor(transaction_model, frequency, T, time: int = 12,
                          discount_rate: float = 0.01, freq: str = "W") -> np.ndarray:
    """The discounted expected purchases of a customer still alive at ``T``,

        F(x, T) = sum_{k=1}^{time} (A(k f) - A((k-1) f)) / (1 + d)^k,
        A(t) = E[X(T, T+t) | x, T, alive],

    so that ``customer_lifetime_value = margin * E[M | x, m] * P(alive) * F(x, T)`` for a
    BG/NBD model. ``F`` depends on ``(x, T)`` only: an engine tabulates it once per distinct
    pair and computes the per-customer value in one pass."""
    _check_horizon(time, discount_rate, freq)
    if not hasattr(transaction_model, "expected_purchases_if_alive"):
        raise ValueError("transaction_model must be a fitted BetaGeo model")
    factor = _UNITS_PER_MONTH[freq]
    x, age = (np.asarray(v, dtype=float) for v in (frequency, T))
    total = np.zeros(np.shape(x))
    previous = np.zeros(np.shape(x))
    for month in range(1, int(time) + 1):
        cumulative = np.asarray(transaction_model.expected_purchases_if_alive(month * factor, x,
                                                                              age))
        total = total + (cumulative - previous) / (1.0 + discount_rate) ** month
        previous = cumulative
    return total


def holdout_comparison(model, calibration_summary: pd.DataFrame, holdout_frequency,
                       duration=None, max_frequency: int = 7) -> pd.DataFrame:
    """Mean actual vs predicted holdout purchases by calibration frequency (FHL 2005, Fig. 5).

    ``calibration_summary`` needs ``frequency_cal``, ``recency_cal`` and ``T_cal`` (as from
    :func:`calibration_holdout_summary`); ``holdout_frequency`` is a column name of it or a
    Series of holdout purchases aligned on its index; ``duration`` (holdout length in model
    time units) defaults to the ``duration_holdout`` column.

    Returns one row per calibration frequency 0, 1, ..., ``max_frequency``+ and a final row
    ``all``, with the number of customers, mean actual and predicted holdout purchases and the
    mean absolute error of the customer-level predictions.
    """
    if not isinstance(calibration_summary, pd.DataFrame):
        raise ValueError(
            "calibration_summary must be a DataFrame (see calibration_holdout_summary)")
    need = ["frequency_cal", "recency_cal", "T_cal"]
    missing = [c for c in need if c not in calibration_summary.columns]
    if missing:
        raise ValueError(f"calibration_summary is missing {missing}; build it with "
                         "calibration_holdout_summary")
    if isinstance(holdout_frequency, str):
        actual = calibration_summary[holdout_frequency].to_numpy(dtype=float)
    else:
        if isinstance(holdout_frequency, pd.Series):
            series = holdout_frequency.reindex(calibration_summary.index)
        else:
            values = np.asarray(holdout_frequency, dtype=float).reshape(-1)
            if values.size != len(calibration_summary):
                raise ValueError("holdout_frequency must have one value per calibration customer")
            series = pd.Series(values, index=calibration_summary.index)
        if series.isna().any():
            raise ValueError("holdout_frequency has no value for some calibration customers; "
                             "use 0 for customers without holdout purchases")
        actual = series.to_numpy(dtype=float)
    if duration is None:
        if "duration_holdout" not in calibration_summary.columns:
            raise ValueError("give duration (holdout length) or a duration_holdout column")
        duration = calibration_summary["duration_holdout"].to_numpy(dtype=float)
    predicted = np.asarray(model.expected_purchases(
        duration, calibration_summary["frequency_cal"].to_numpy(dtype=float),
        calibration_summary["recency_cal"].to_numpy(dtype=float),
        calibration_summary["T_cal"].to_numpy(dtype=float)), dtype=float)
    freq = calibration_summary["frequency_cal"].to_numpy(dtype=float)
    bucket = np.minimum(freq, max_frequency).astype(int)
    labels = [str(k) for k in range(max_frequency)] + [f"{max_frequency}+"]
    frame = pd.DataFrame({"bucket": bucket, "actual": actual, "predicted": predicted,
                          "abs_error": np.abs(actual - predicted)})
    grouped = frame.groupby("bucket").agg(customers=("actual", "size"), actual=("actual", "mean"),
                                          predicted=("predicted", "mean"),
                                          mae=("abs_error", "mean"))
    grouped = grouped.reindex(range(max_frequency + 1))
    grouped["customers"] = grouped["customers"].fillna(0).astype(int)
    grouped.index = pd.Index(labels, name="frequency_cal")
    overall = pd.DataFrame({"customers": [len(frame)], "actual": [actual.mean()],
                            "predicted": [predicted.mean()], "mae": [frame["abs_error"].mean()]},
                           index=pd.Index(["all"], name="frequency_cal"))
    return pd.concat([grouped, overall])
