"""Importance-performance analysis (Martilla & James 1977, "Importance-performance analysis",
Journal of Marketing 41(1):77-79).

Each attribute is placed on a grid by its importance (stated, or derived from driver analysis)
and its performance (mean satisfaction). The cross-hairs are the mean or median of the plotted
attributes, or fixed values (e.g. the scale midpoint); Martilla & James note that their position
is a matter of judgement, so the choice is recorded in ``attrs``.

=====================  =====================  ======================
\\                      low performance        high performance
=====================  =====================  ======================
high importance        ``concentrate_here``   ``keep_up``
low importance         ``low_priority``       ``possible_overkill``
=====================  =====================  ======================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patronage.analytics._validation import as_float_series

QUADRANTS = ("concentrate_here", "keep_up", "low_priority", "possible_overkill")


def _cut(values: pd.Series, cut, name: str) -> float:
    if isinstance(cut, str):
        if cut == "mean":
            return float(values.mean())
        if cut == "median":
            return float(values.median())
        raise ValueError(f"{name} must be 'mean', 'median' or a number, not {cut!r}")
    if isinstance(cut, bool) or not isinstance(cut, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be 'mean', 'median' or a number, not {cut!r}")
    if not np.isfinite(cut):
        raise ValueError(f"{name} must be a finite number, not {cut!r}")
    return float(cut)


def _series(values, name: str) -> pd.Series:
    if not isinstance(values, pd.Series):
        raise ValueError(f"{name} must be a pandas Series indexed by attribute")
    if not values.index.is_unique:
        raise ValueError(f"{name} has duplicated attributes in its index")
    return as_float_series(values, name=name)


def importance_performance(importance: pd.Series, performance: pd.Series, *,
                           importance_cut="mean", performance_cut="mean",
                           competitor_performance: pd.Series | None = None) -> pd.DataFrame:
    """Importance-performance quadrants of attributes (Martilla & James 1977).

    Parameters
    ----------
    importance, performance : Series
        Indexed by attribute; aligned on the index (an attribute missing from one side, or
        NaN, gets no quadrant).
    importance_cut, performance_cut : "mean", "median" or float
        Where the cross-hairs go. "mean"/"median" are taken over the attributes that have both
        an importance and a performance. An attribute at or above a cut counts as high.
    competitor_performance : Series, optional
        A named competitor's performance on the same attributes; adds
        ``competitor_performance`` and ``gap_vs_competitor`` = own − competitor (positive =
        ahead).

    Returns
    -------
    DataFrame indexed by attribute with ``importance``, ``performance``, ``quadrant`` (one of
    ``concentrate_here``, ``keep_up``, ``low_priority``, ``possible_overkill``; NaN when either
    value is missing) and the optional competitor columns; ``attrs`` holds both cut values.
    """
    imp = _series(importance, "importance")
    perf = _series(performance, "performance")
    index = imp.index.append(perf.index.difference(imp.index, sort=False))
    out = pd.DataFrame({"importance": imp.reindex(index), "performance": perf.reindex(index)})
    out.index.name = importance.index.name or "attribute"
    both = out.notna().all(axis=1)
    if not both.any():
        raise ValueError("no attribute has both an importance and a performance value")
    icut = _cut(out.loc[both, "importance"], importance_cut, "importance_cut")
    pcut = _cut(out.loc[both, "performance"], performance_cut, "performance_cut")
    high_i = out["importance"] >= icut
    high_p = out["performance"] >= pcut
    quadrant = np.select(
        [high_i & ~high_p, high_i & high_p, ~high_i & ~high_p, ~high_i & high_p],
        list(QUADRANTS), default="",
    )
    out["quadrant"] = pd.Series(quadrant, index=index, dtype=object).where(both)
    if competitor_performance is not None:
        comp = _series(competitor_performance, "competitor_performance").reindex(index)
        out["competitor_performance"] = comp
        out["gap_vs_competitor"] = out["performance"] - comp
    out.attrs.update({"importance_cut": icut, "performance_cut": pcut})
    return out


__all__ = ["QUADRANTS", "importance_performance"]
