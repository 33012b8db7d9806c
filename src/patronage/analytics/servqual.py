"""SERVQUAL: service quality as perception minus expectation over five dimensions.

Parasuraman, Zeithaml & Berry (1988), "SERVQUAL: a multiple-item scale for measuring consumer
perceptions of service quality", *Journal of Retailing* 64(1):12–40. The 22 items fall into
tangibles (1–4), reliability (5–9), responsiveness (10–13), assurance (14–17) and empathy
(18–22). The SERVQUAL score of an item is ``P − E``; a negative score is a shortfall (gap 5,
the customer gap). The importance-weighted score uses the 100 points each respondent allocates
over the five dimensions (Parasuraman, Zeithaml & Berry 1991, *Journal of Retailing* 67(4)).
Gap 1 compares customers' expectations with management's perception of them, from an internal
survey of the same items.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patronage.analytics._validation import aligned_weights

#: Item numbers of each dimension (PZB 1988).
SERVQUAL_DIMENSIONS = {
    "tangibles": (1, 2, 3, 4),
    "reliability": (5, 6, 7, 8, 9),
    "responsiveness": (10, 11, 12, 13),
    "assurance": (14, 15, 16, 17),
    "empathy": (18, 19, 20, 21, 22),
}


def servqual_items(prefix: str = "sq") -> dict[str, list[str]]:
    """Column names per dimension under the convention ``<prefix><number>`` (``sq1`` … ``sq22``)."""
    return {d: [f"{prefix}{i}" for i in numbers] for d, numbers in SERVQUAL_DIMENSIONS.items()}


def _weighted_mean(frame: pd.DataFrame, w: pd.Series) -> pd.Series:
    mask = frame.notna()
    total = (mask * w.to_numpy()[:, None]).sum()
    return (frame.fillna(0).mul(w.to_numpy(), axis=0).sum() / total.where(total > 0))


def servqual_gaps(perception: pd.DataFrame, expectation: pd.DataFrame,
                  dimensions: dict[str, list[str]] | None = None, weights=None) -> dict:
    """Item and dimension scores ``P − E``.

    ``perception`` and ``expectation`` are wide frames (one row per respondent) with the item
    columns named in ``dimensions`` (default :func:`servqual_items`). A respondent's item counts
    only when both P and E were answered. Returns ``items`` (perception, expectation, gap, n,
    dimension per item), ``dimensions`` (the mean of the item means per dimension) and
    ``overall`` (the unweighted mean of the dimension gaps).
    """
    dimensions = dimensions or servqual_items()
    columns = [c for items in dimensions.values() for c in items]
    missing = [c for c in columns if c not in perception.columns or c not in expectation.columns]
    if missing:
        raise ValueError(f"SERVQUAL columns missing from perception or expectation: {missing}")
    p = perception[columns].astype(float)
    e = expectation[columns].astype(float).reindex(p.index)
    both = p.notna() & e.notna()
    p, e = p.where(both), e.where(both)
    w = aligned_weights(p.iloc[:, 0], weights)
    item_dim = {c: d for d, items in dimensions.items() for c in items}
    items = pd.DataFrame({"dimension": pd.Series(item_dim), "perception": _weighted_mean(p, w),
                          "expectation": _weighted_mean(e, w), "n": both.sum()})
    items["gap"] = items["perception"] - items["expectation"]
    dims = items.groupby("dimension", sort=False)[["perception", "expectation", "gap"]].mean()
    dims = dims.reindex(list(dimensions))
    return {"items": items, "dimensions": dims, "overall": float(dims["gap"].mean())}


def weighted_servqual(dimension_gaps: pd.Series, points: pd.DataFrame) -> float:
    """Importance-weighted SERVQUAL score: Σ_d (mean points_d / 100) · gap_d.

    ``points`` holds each respondent's allocation of 100 points over the dimensions (columns
    named like ``dimension_gaps``' index); rows that do not sum to 100 (± 1) are rejected.
    """
    points = points[list(dimension_gaps.index)].astype(float)
    sums = points.sum(axis=1)
    bad = points.index[(sums - 100).abs() > 1].tolist()
    if bad:
        raise ValueError(f"importance points must sum to 100 per respondent; rows {bad[:10]} do not")
    share = points.mean() / 100.0
    return float((share * dimension_gaps).sum())


def gap1(customer_expectation: pd.DataFrame, management_expectation: pd.DataFrame,
         dimensions: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """Gap 1 per dimension: management's perception of customers' expectations minus the
    customers' stated expectations (negative = management underestimates them)."""
    dimensions = dimensions or servqual_items()
    rows = {}
    for name, items in dimensions.items():
        cust = float(np.nanmean(customer_expectation[items].astype(float).mean()))
        mgmt = float(np.nanmean(management_expectation[items].astype(float).mean()))
        rows[name] = {"customers": cust, "management": mgmt, "gap1": mgmt - cust}
    return pd.DataFrame(rows).T.rename_axis("dimension")


__all__ = ["SERVQUAL_DIMENSIONS", "gap1", "servqual_gaps", "servqual_items", "weighted_servqual"]
