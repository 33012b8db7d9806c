"""Key-account health: the latent-switching signal of an account's spend against its own
history, the visit plan's status, and a status (healthy / watch / at risk) with its reasons.

Latent switching (also called partial or silent defection) is a customer who still buys, but
less: a business account moving part of its volume to a competitor before it leaves. Buckinx &
Van den Poel (2005, *European Journal of Operational Research* 164(1), 252–268) define partial
defection as a customer's spend falling against that customer's own past behaviour, not
against other customers. :func:`spend_trend` measures exactly that: the spend in the last
``window_days`` before ``today`` compared with the spend in each earlier window of the same
length over the account's last ``history_windows`` windows (eight 90-day windows = 24 months):

* ``ratio`` = recent spend / the mean of the earlier windows;
* ``z`` = (recent − mean) / sample standard deviation of the earlier windows (a Shewhart-style
  control-chart reading of the account against its own variation: Montgomery, *Introduction to
  Statistical Quality Control*, 7th ed., ch. 6);
* ``percentile`` = share of the earlier windows whose spend was at most the recent spend
  (0 = lower than ever before).

An account is flagged (``drop``) when it has at least ``min_windows`` earlier windows since its
first purchase, and its recent spend is below ``max_ratio`` of its own mean **and** at least
``z_cut`` standard deviations below it (both, so that a steady account with little variation
is not flagged for a small dip, nor a volatile one for an ordinary low quarter). Windows that
end before the account's first purchase are not part of its history.

Refunds count with their sign (a refunded order is no spend). The function is pure: it takes
the sales and returns one row per customer.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from patronage.analytics._validation import require_columns

__all__ = ["REASONS", "STATUSES", "health_status", "spend_trend", "visit_status"]

#: Status of an account, best first.
STATUSES = ("healthy", "watch", "at_risk")
#: Reason codes of a status, in the order they are listed.
REASONS = ("spend_drop", "spend_softening", "visit_overdue_long", "visit_overdue",
           "never_visited", "detractor", "open_cases")


def _day(value) -> pd.Timestamp:
    if value is None:
        raise ValueError("today must be a date")
    return pd.Timestamp(value).normalize()


def spend_trend(sales: pd.DataFrame, today: date | datetime | str, *, window_days: int = 90,
                history_windows: int = 8, min_windows: int = 4, max_ratio: float = 0.6,
                z_cut: float = 1.0) -> pd.DataFrame:
    """The latent-switching signal per customer of ``sales`` (columns ``customer_id``,
    ``occurred_at``, ``amount``; ``is_refund`` optional).

    The recent window is the ``window_days`` calendar days up to and including ``today``;
    earlier window ``k`` (1 … ``history_windows``) is the ``window_days`` days before window
    ``k − 1``. Sales after ``today`` are left out. Returns a DataFrame indexed by ``customer_id`` with ``recent``,
    ``baseline`` (mean of the earlier windows), ``sd``, ``windows`` (how many earlier windows
    count), ``ratio``, ``z``, ``percentile`` and ``drop`` (see the module docstring). With fewer
    than two earlier windows ``sd`` and ``z`` are NaN; with a zero baseline ``ratio`` is NaN.
    """
    if not isinstance(sales, pd.DataFrame):
        raise ValueError("sales must be a DataFrame with customer_id, occurred_at and amount")
    require_columns(sales, ["customer_id", "occurred_at", "amount"], what="sales")
    if int(window_days) < 1 or int(history_windows) < 1:
        raise ValueError("window_days and history_windows must be at least 1")
    today = _day(today)
    width = int(window_days)
    columns = ["recent", "baseline", "sd", "windows", "ratio", "z", "percentile", "drop"]
    if sales.empty:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="customer_id"))
    # days before today of each sale, by calendar day (a sale today is 0 days back)
    back = ((today - pd.to_datetime(sales["occurred_at"]).dt.normalize()).dt.days).to_numpy()
    amount = pd.to_numeric(sales["amount"], errors="coerce").fillna(0.0).astype(float)
    if "is_refund" in sales:
        refund = sales["is_refund"].fillna(False).astype(bool)
        amount = amount.where(~refund, -amount.abs())
    ids = sales["customer_id"].to_numpy()
    first = pd.Series(back, index=ids).groupby(level=0).max()  # days back of the first sale
    first = first[first >= 0]
    # window 0 is the recent one (0 .. width-1 days back); k = 1 .. history_windows earlier
    window = np.floor_divide(back, width)
    keep = (back >= 0) & (window <= history_windows)
    spend = pd.DataFrame({"customer_id": ids[keep], "window": window[keep],
                          "amount": amount.to_numpy()[keep]})
    grid = (spend.groupby(["customer_id", "window"])["amount"].sum().unstack(fill_value=0.0)
            .reindex(index=first.index, columns=range(history_windows + 1), fill_value=0.0))
    grid.index.name = "customer_id"
    recent = grid[0].astype(float)
    history = grid.drop(columns=0).to_numpy(dtype=float)
    # window k's last day is k*width days back: it counts once the customer had bought by then
    last_day_back = np.arange(1, history_windows + 1) * width
    counted = first.to_numpy()[:, None] >= last_day_back[None, :]
    history = np.where(counted, history, np.nan)
    windows = counted.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        baseline = np.nanmean(np.where(windows[:, None] > 0, history, 0.0), axis=1)
        baseline = np.where(windows > 0, baseline, np.nan)
        sd = np.array([np.std(row[~np.isnan(row)], ddof=1) if n >= 2 else np.nan
                       for row, n in zip(history, windows, strict=True)])
        ratio = np.where(baseline > 0, recent.to_numpy() / baseline, np.nan)
        z = np.where(sd > 0, (recent.to_numpy() - baseline) / sd, np.nan)
        below = np.nansum(history <= recent.to_numpy()[:, None], axis=1)
        percentile = np.where(windows > 0, below / np.maximum(windows, 1), np.nan)
    drop = (windows >= min_windows) & (ratio < max_ratio) & (z <= -z_cut)
    return pd.DataFrame({"recent": recent.to_numpy(), "baseline": baseline, "sd": sd,
                         "windows": windows.astype(int), "ratio": ratio, "z": z,
                         "percentile": percentile, "drop": drop.astype(bool)},
                        index=grid.index)


def visit_status(last_visit, every_days, today) -> dict:
    """Where an account stands on its visit plan: ``due_on`` (the last visit plus
    ``every_days``; today when it was never visited), ``overdue_days`` (days past ``due_on``,
    0 when not due yet, None without a plan) and ``never`` (planned, never visited)."""
    today = _day(today)
    if every_days is None or (isinstance(every_days, float) and np.isnan(every_days)):
        return {"due_on": None, "overdue_days": None, "never": False}
    every = int(every_days)
    if every < 1:
        raise ValueError("every_days must be at least 1")
    if last_visit is None or pd.isna(last_visit):
        return {"due_on": today.date(), "overdue_days": 0, "never": True}
    due = _day(last_visit) + pd.Timedelta(days=every)
    return {"due_on": due.date(), "overdue_days": max(0, int((today - due).days)),
            "never": False}


def health_status(*, drop: bool = False, ratio: float | None = None, overdue_days=None,
                  every_days=None, never_visited: bool = False, open_cases: int = 0,
                  last_nps: float | None = None, soft_ratio: float = 0.8) -> tuple[str, list]:
    """``(status, reasons)`` of one account.

    At risk: the spend drop flag; a visit overdue by more than a whole plan period; a detractor
    (last NPS 0–6) with a case still open. Watch: spend below ``soft_ratio`` of its own mean
    without the flag, a visit overdue or never made, a detractor, an open case. Else healthy.
    Reasons are codes of :data:`REASONS`, the gravest first.
    """
    reasons: list[str] = []
    detractor = last_nps is not None and not pd.isna(last_nps) and float(last_nps) <= 6
    overdue = 0 if overdue_days is None or pd.isna(overdue_days) else int(overdue_days)
    long_overdue = bool(every_days) and overdue > int(every_days)
    if drop:
        reasons.append("spend_drop")
    elif ratio is not None and not pd.isna(ratio) and ratio < soft_ratio:
        reasons.append("spend_softening")
    if long_overdue:
        reasons.append("visit_overdue_long")
    elif overdue > 0:
        reasons.append("visit_overdue")
    if never_visited:
        reasons.append("never_visited")
    if detractor:
        reasons.append("detractor")
    if open_cases:
        reasons.append("open_cases")
    grave = drop or long_overdue or (detractor and open_cases > 0)
    status = "at_risk" if grave else "watch" if reasons else "healthy"
    return status, reasons
