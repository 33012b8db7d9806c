"""Customer summary (frequency, recency, T, mean repeat spend) from a transaction log.

Conventions follow ``lifetimes.utils.summary_data_from_transaction_data`` (Davidson-Pilon,
lifetimes 0.11), which follow Fader, Hardie & Lee (2005):

* dates are truncated to the period ``freq`` (day, Monday-starting week or hour), and the
  observation end likewise; transactions after the observation end are dropped;
* all transactions of a customer in one period count as one purchase (their amounts are summed);
* ``frequency`` = number of purchase periods - 1 (repeat purchases), ``recency`` = last - first
  purchase period, ``T`` = observation end - first purchase period, in units of ``freq`` divided by
  ``freq_multiplier``;
* ``monetary_value`` = mean of the per-period amounts of the repeat purchases, 0 for customers
  without a repeat purchase (the ``lifetimes`` convention the spend model expects).

Everything is computed with one sort of integer (customer, period) keys and ``np.bincount`` (no
Python-level groupby), so a 10-million-row log is summarised in a few seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["calibration_holdout_summary", "customer_summary"]

_NS = {"D": 86_400 * 10**9, "W": 7 * 86_400 * 10**9, "h": 3_600 * 10**9}
_MONDAY_SHIFT_NS = 3 * 86_400 * 10**9  # 1970-01-01 was a Thursday; weeks start on Monday


def _check_frame(transactions, columns) -> None:
    if not isinstance(transactions, pd.DataFrame):
        raise ValueError("transactions must be a pandas DataFrame with one row per transaction")
    missing = [c for c in columns if c is not None and c not in transactions.columns]
    if missing:
        raise ValueError(f"transactions is missing the column(s) {missing}; it has "
                         f"{list(transactions.columns)}")


def _check_freq(freq: str, freq_multiplier) -> None:
    if freq not in _NS:
        raise ValueError(f"freq must be one of {sorted(_NS)} (day, week, hour), got {freq!r}")
    if not (np.isfinite(freq_multiplier) and freq_multiplier > 0):
        raise ValueError("freq_multiplier must be a positive number")


def _to_ns(values, datetime_format) -> np.ndarray:
    """Datetimes as int64 nanoseconds (naive wall time); unparseable or missing dates raise."""
    try:
        dates = pd.to_datetime(values, format=datetime_format)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"could not read the transaction dates: {exc}") from None
    if isinstance(dates, pd.Series):
        if dates.dt.tz is not None:
            dates = dates.dt.tz_localize(None)
        if dates.isna().any():
            raise ValueError("some transaction dates are missing; drop those rows first")
        return dates.to_numpy(dtype="datetime64[ns]").view(np.int64)
    if getattr(dates, "tz", None) is not None:
        dates = dates.tz_localize(None)
    if pd.isna(dates):
        raise ValueError("the observation or calibration end date is missing")
    return np.int64(pd.Timestamp(dates).as_unit("ns").value)


def _period(ns, freq: str):
    """Period number (floor division) of nanosecond timestamps for ``freq``."""
    shift = _MONDAY_SHIFT_NS if freq == "W" else 0
    return (ns + shift) // _NS[freq]


def _period_start(period, freq: str) -> np.ndarray:
    shift = _MONDAY_SHIFT_NS if freq == "W" else 0
    return np.asarray(period * _NS[freq] - shift, dtype=np.int64).view("datetime64[ns]")


def _amounts(transactions, col, name):
    if col is None:
        return None
    values = pd.to_numeric(transactions[col], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"the {name} column {col!r} has missing or non-numeric values")
    return values


def _customer_codes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes 0..k-1 of the customer ids in sorted id order, and the sorted unique ids.

    Integer ids with a compact range are mapped with ``np.bincount`` (no hashing or sorting of
    the rows); other ids use ``pd.factorize(sort=True)``.
    """
    values = ids.to_numpy()
    if values.dtype.kind in "iu" and values.size:
        lo, hi = int(values.min()), int(values.max())
        if hi - lo < 4 * values.size + 1024:
            offset = (values - lo).astype(np.int64)
            present = np.bincount(offset, minlength=hi - lo + 1) > 0
            mapping = np.cumsum(present) - 1
            return mapping[offset], (np.flatnonzero(present) + lo).astype(values.dtype)
    codes, uniques = pd.factorize(ids, sort=True)
    return codes.astype(np.int64), np.asarray(uniques)


def _purchase_periods(codes, period, n_customers):
    """Per customer: number of distinct purchase periods, first and last period.

    One in-place sort of the (customer, period) keys; no per-group Python work.
    """
    count = np.zeros(n_customers, dtype=np.int64)
    first = np.zeros(n_customers, dtype=np.int64)
    last = np.zeros(n_customers, dtype=np.int64)
    if period.size == 0:
        return count, first, last
    base = int(period.min())
    span = int(period.max()) - base + 1
    small = n_customers * span < 2**32  # 32-bit keys sort about twice as fast
    dtype = np.uint32 if small else np.int64
    key = codes.astype(dtype) * dtype(span) + (period - base).astype(dtype)
    key.sort()
    new = np.empty(key.size, dtype=bool)
    new[0] = True
    np.not_equal(key[1:], key[:-1], out=new[1:])
    distinct = key[new]
    count = np.bincount(distinct // dtype(span), minlength=n_customers)
    present = count > 0
    starts = np.cumsum(count) - count
    first[present] = (distinct[starts[present]] % dtype(span)).astype(np.int64) + base
    last[present] = (distinct[starts[present] + count[present] - 1] % dtype(span)).astype(
        np.int64) + base
    return count, first, last


def _summarise(codes, n_customers, period, end_period, amount, cost, freq_multiplier):
    """Per-customer statistics from integer customer codes and period numbers (already filtered)."""
    count, first, last = _purchase_periods(codes, period, n_customers)
    out = {
        "frequency": (count - 1).astype(float),
        "recency": (last - first) / freq_multiplier,
        "T": (end_period - first) / freq_multiplier,
    }
    stats = {"first": first, "last": last}
    if amount is not None:
        repeat = period != first[codes]
        repeat_total = np.bincount(codes, weights=np.where(repeat, amount, 0.0),
                                   minlength=n_customers)
        stats["total"] = np.bincount(codes, weights=amount, minlength=n_customers)
        repeats = count - 1
        out["monetary_value"] = np.where(repeats > 0, repeat_total / np.maximum(repeats, 1), 0.0)
        if cost is not None:
            stats["cost"] = np.bincount(codes, weights=cost, minlength=n_customers)
    return out, stats


def customer_summary(transactions: pd.DataFrame, customer_id_col: str, datetime_col: str,
                     monetary_value_col: str | None = None, cost_col: str | None = None, *,
                     datetime_format: str | None = None, observation_period_end=None,
                     freq: str = "D", freq_multiplier: float = 1.0) -> pd.DataFrame:
    """One row per customer: ``frequency``, ``recency``, ``T`` [, ``monetary_value``], plus
    ``first_purchase`` and ``last_purchase`` (period starts) [, ``total_spend``, ``profit``].

    ``total_spend`` sums every transaction in the window (first purchase included); ``profit`` is
    ``total_spend`` minus the summed ``cost_col``.  The index is the sorted customer ids.  The
    first four columns equal ``lifetimes.utils.summary_data_from_transaction_data`` with the same
    arguments (see the module docstring for the conventions).
    """
    _check_frame(transactions, [customer_id_col, datetime_col, monetary_value_col, cost_col])
    _check_freq(freq, freq_multiplier)
    if cost_col is not None and monetary_value_col is None:
        raise ValueError("cost_col needs monetary_value_col too (profit = spend - cost)")
    ns = _to_ns(transactions[datetime_col], datetime_format)
    period = _period(ns, freq)
    if observation_period_end is None:
        if period.size == 0:
            raise ValueError("transactions is empty")
        end_period = int(period.max())
    else:
        end_period = int(_period(_to_ns(observation_period_end, datetime_format), freq))
    keep = period <= end_period
    ids = transactions[customer_id_col]
    if ids.isna().any():
        raise ValueError(f"some rows have no {customer_id_col!r}; drop them first")
    amount = _amounts(transactions, monetary_value_col, "monetary value")
    cost = _amounts(transactions, cost_col, "cost")
    if not keep.all():
        ids, period = ids[keep], period[keep]
        amount = None if amount is None else amount[keep]
        cost = None if cost is None else cost[keep]
    codes, uniques = _customer_codes(ids)
    out, stats = _summarise(codes, len(uniques), period, end_period, amount, cost,
                            freq_multiplier)
    frame = pd.DataFrame(out, index=pd.Index(uniques, name=customer_id_col))
    frame["first_purchase"] = _period_start(stats["first"], freq)
    frame["last_purchase"] = _period_start(stats["last"], freq)
    if amount is not None:
        frame["total_spend"] = stats["total"]
        if cost is not None:
            frame["profit"] = stats["total"] - stats["cost"]
    return frame


def calibration_holdout_summary(transactions: pd.DataFrame, customer_id_col: str,
                                datetime_col: str, calibration_period_end,
                                observation_period_end=None,
                                monetary_value_col: str | None = None, *,
                                datetime_format: str | None = None, freq: str = "D",
                                freq_multiplier: float = 1.0) -> pd.DataFrame:
    """Calibration summary (columns suffixed ``_cal``) and holdout outcomes per customer.

    As ``lifetimes.utils.calibration_and_holdout_data``: calibration uses transactions up to
    ``calibration_period_end``; the holdout counts, for customers seen in calibration, the
    purchase periods in (calibration end, observation end] (``frequency_holdout``), the mean raw
    transaction amount there (``monetary_value_holdout``, 0 when none) and the holdout length
    ``duration_holdout`` in periods.
    """
    _check_frame(transactions, [customer_id_col, datetime_col, monetary_value_col])
    _check_freq(freq, freq_multiplier)
    ns = _to_ns(transactions[datetime_col], datetime_format)
    obs_ns = ns.max() if observation_period_end is None else _to_ns(observation_period_end,
                                                                     datetime_format)
    cal_ns = _to_ns(calibration_period_end, datetime_format)
    if cal_ns >= obs_ns:
        raise ValueError("calibration_period_end must be before observation_period_end")
    in_cal = ns <= cal_ns
    in_hold = (ns > cal_ns) & (ns <= obs_ns)
    if not in_hold.any():
        raise ValueError("no transactions fall in the holdout period; check the two end dates")
    if not in_cal.any():
        raise ValueError("no transactions fall in the calibration period")
    cal = customer_summary(transactions[in_cal], customer_id_col, datetime_col,
                           monetary_value_col, datetime_format=datetime_format,
                           observation_period_end=calibration_period_end, freq=freq,
                           freq_multiplier=freq_multiplier)
    cal = cal[[c for c in ("frequency", "recency", "T", "monetary_value") if c in cal.columns]]
    cal.columns = [f"{c}_cal" for c in cal.columns]
    hold_ids = transactions[customer_id_col].to_numpy()[in_hold]
    codes = cal.index.get_indexer(hold_ids)
    known = codes >= 0
    hold_codes = codes[known]
    hold_period = _period(ns[in_hold][known], freq)
    n = len(cal)
    cal["frequency_holdout"] = _purchase_periods(hold_codes.astype(np.int64), hold_period,
                                                 n)[0].astype(float)
    if monetary_value_col is not None:
        amount = _amounts(transactions, monetary_value_col, "monetary value")[in_hold][known]
        tx_count = np.bincount(hold_codes, minlength=n)
        spend = np.bincount(hold_codes, weights=amount, minlength=n)
        cal["monetary_value_holdout"] = np.where(tx_count > 0, spend / np.maximum(tx_count, 1),
                                                 0.0)
    duration = _period(obs_ns, freq) - _period(cal_ns, freq)
    cal["duration_holdout"] = float(duration) / freq_multiplier
    return cal
