"""The value models fitted on sufficient statistics (issue 16: one pass in an engine, a small
fit in numpy).

BG/NBD needs, per distinct ``(frequency, recency, T)``, the number of customers sharing it;
Gamma-Gamma needs the same for ``(frequency, monetary_value)`` of the repeat buyers; the margin
needs the total spend and profit. Any engine (the operational database, DuckDB over Parquet)
computes these :class:`ValueStatistics`; :func:`fit_on_statistics` fits on them. The rows are
sorted, so two engines giving the same statistics give bit-for-bit the same fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from patronage.analytics.btyd import BetaGeo, GammaGamma

__all__ = ["WEEK", "ValueStatistics", "fit_on_statistics", "summary_statistics"]

WEEK = 7.0
_PURCHASE_KEYS = ["frequency", "recency", "T"]
_SPEND_KEYS = ["frequency", "monetary_value"]


@dataclass(frozen=True)
class ValueStatistics:
    """Sufficient statistics of the value models over one observation window (days).

    ``purchases``: distinct ``frequency, recency, T`` (days) with ``customers``; ``spend``:
    distinct ``frequency, monetary_value`` of the repeat buyers with a positive mean repeat
    spend, with ``customers``; totals of spend and profit; the first purchase day and the
    observation end."""

    purchases: pd.DataFrame
    spend: pd.DataFrame
    total_spend: float
    profit: float
    first_purchase: pd.Timestamp | None
    observation_end: pd.Timestamp | None

    @property
    def customers(self) -> int:
        return int(self.purchases["customers"].sum())

    @property
    def repeat_buyers(self) -> int:
        return int(self.spend["customers"].sum())

    @property
    def margin(self) -> float:
        """The company's profit / revenue (1 without revenue)."""
        return float(self.profit / self.total_spend) if self.total_spend > 0 else 1.0


def _grouped(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    counts = frame.groupby(keys, sort=True).size().rename("customers").reset_index()
    counts["customers"] = counts["customers"].astype("int64")
    for key in keys:
        counts[key] = counts[key].astype(float)
    return counts


def summary_statistics(summary: pd.DataFrame) -> ValueStatistics:
    """The statistics of a per-customer summary (``read_customer_summary``'s columns)."""
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    end = None
    if not summary.empty:
        end = (summary["first_purchase"] + pd.to_timedelta(summary["T"], unit="D")).max()
    return ValueStatistics(
        purchases=_grouped(summary, _PURCHASE_KEYS), spend=_grouped(repeat, _SPEND_KEYS),
        total_spend=float(summary["total_spend"].sum()), profit=float(summary["profit"].sum()),
        first_purchase=None if summary.empty else summary["first_purchase"].min(),
        observation_end=end)


def fit_on_statistics(stats: ValueStatistics) -> tuple[BetaGeo, GammaGamma | None]:
    """BG/NBD on the customers first seen before the observation end (``T > 0``; times in
    weeks) and Gamma-Gamma on the repeat buyers when there are at least 20 (else None)."""
    rows = stats.purchases[stats.purchases["T"] > 0]
    purchases = BetaGeo().fit(rows["frequency"].to_numpy(), rows["recency"].to_numpy() / WEEK,
                              rows["T"].to_numpy() / WEEK, weights=rows["customers"].to_numpy())
    spend = None
    if stats.repeat_buyers >= 20:
        spend = GammaGamma().fit(stats.spend["frequency"].to_numpy(),
                                 stats.spend["monetary_value"].to_numpy(),
                                 weights=stats.spend["customers"].to_numpy())
    return purchases, spend
