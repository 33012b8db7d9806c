"""Headline scores: NPS and the weighted customer satisfaction index (CSI).

Metric functions take a Series and return a scalar, so ``frame.groupby("wave")["nps"].agg(nps)``
works. Missing answers are dropped, never counted as zero; the score of no answers is NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from patronage.analytics._validation import aligned_weights, as_float_series, require_columns

PROMOTER_MIN = 9
DETRACTOR_MAX = 6


def _nps_parts(scores, weights=None) -> tuple[float, float, float, float, float]:
    series = as_float_series(scores, name="NPS scores")
    # On the arrays: a boolean Series as an indexer makes pandas hash the response ids of its
    # index, milliseconds each time on a filtered view of a million responses.
    values = series.to_numpy(dtype=float)
    w = aligned_weights(series, weights).to_numpy(dtype=float)
    keep = ~np.isnan(values)
    values, w = values[keep], w[keep]
    if ((values < 0) | (values > 10)).any():
        raise ValueError("NPS scores must lie between 0 and 10")
    total = float(w.sum())
    if len(values) == 0 or total == 0:
        return np.nan, np.nan, np.nan, 0.0, 0.0
    promoters = float(w[values >= PROMOTER_MIN].sum()) / total
    detractors = float(w[values <= DETRACTOR_MAX].sum()) / total
    passives = 1.0 - promoters - detractors
    # Kish effective sample size: equals n without weights.
    n_eff = total**2 / float((w**2).sum())
    return promoters, passives, detractors, n_eff, float(len(values))


def nps(scores, weights=None) -> float:
    """Net Promoter Score in [-100, 100]: % promoters (9–10) minus % detractors (0–6).

    Examples
    --------
    >>> nps(pd.Series([10, 9, 8, 3]))
    25.0
    """
    promoters, _, detractors, _, _ = _nps_parts(scores, weights)
    return 100.0 * (promoters - detractors)


def nps_summary(scores, weights=None, *, confidence: float = 0.95) -> pd.Series:
    """NPS with its shares and a Wald interval.

    The NPS estimate is ``p_P − p_D``; for a multinomial sample its variance is
    ``(p_P + p_D − (p_P − p_D)²) / n`` (e.g. Rocks 2016, "Interval estimation for the NPS",
    The American Statistician 70(4)). With weights, ``n`` is Kish's effective sample size.

    Returns ``n, n_effective, promoters, passives, detractors, nps, ci_low, ci_high`` (shares as
    fractions, NPS and bounds on the -100..100 scale).
    """
    return _nps_series(*_nps_parts(scores, weights), confidence=confidence)


def nps_from_totals(n: float, weight: float, weight_squares: float, promoter_weight: float,
                    detractor_weight: float, *, confidence: float = 0.95) -> pd.Series:
    """:func:`nps_summary` from its sufficient statistics, as an engine counts them in one
    pass: the number of answers ``n``, the sums of their weights and squared weights, and the
    weight sums of the promoters (9–10) and detractors (0–6)."""
    if n == 0 or weight == 0:
        return _nps_series(np.nan, np.nan, np.nan, 0.0, 0.0, confidence=confidence)
    promoters, detractors = promoter_weight / weight, detractor_weight / weight
    return _nps_series(promoters, 1.0 - promoters - detractors, detractors,
                       weight**2 / weight_squares, float(n), confidence=confidence)


def _nps_series(promoters, passives, detractors, n_eff, n, *, confidence) -> pd.Series:
    score = promoters - detractors
    if n_eff > 0:
        variance = max(promoters + detractors - score**2, 0.0) / n_eff
        half = stats.norm.ppf(0.5 + confidence / 2) * np.sqrt(variance)
    else:
        half = np.nan
    return pd.Series({
        "n": n,
        "n_effective": n_eff,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "nps": 100 * score,
        "ci_low": 100 * max(score - half, -1.0) if n_eff > 0 else np.nan,
        "ci_high": 100 * min(score + half, 1.0) if n_eff > 0 else np.nan,
    })


def rescale_0_100(values, scale_min: float, scale_max: float) -> pd.Series:
    """Map answers on ``[scale_min, scale_max]`` to 0–100 (missing stays missing)."""
    if scale_max <= scale_min:
        raise ValueError("scale_max must exceed scale_min")
    values = as_float_series(values)
    return (values - scale_min) / (scale_max - scale_min) * 100.0


def csi_scores(answers: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """Per-respondent CSI and dimension scores on 0–100.

    ``answers`` is wide: one row per response, one column per item code (missing = NaN).
    ``items`` describes the index system: ``item_code, dimension, weight, scale_min,
    scale_max``. Each respondent's index is the weighted mean of the rescaled items they answered
    (weights renormalised over answered items), so a skipped item is not a zero.

    Returns a frame indexed like ``answers`` with a ``csi`` column and one column per dimension.
    """
    require_columns(items, ["item_code", "dimension", "weight", "scale_min", "scale_max"],
                    what="index system items")
    present = items[items["item_code"].isin(answers.columns)]
    if present.empty:
        raise ValueError("none of the index system's items appear in the answers")
    # On the columns as numpy arrays: a survey of a million responses is scored in a blink.
    codes = present["item_code"].tolist()
    low = present["scale_min"].to_numpy(dtype=float)
    high = present["scale_max"].to_numpy(dtype=float)
    if (high <= low).any():
        raise ValueError("scale_max must exceed scale_min")
    if answers.dtypes.eq(float).all():  # floats: their columns taken from the array, laid
        # out as a frame's own columns (one after the other: a copy of whole columns)
        positions = answers.columns.get_indexer(codes)
        values = np.take(answers.to_numpy(dtype=float).T, positions, axis=0).T  # a new array
    else:
        values = answers[codes].to_numpy(dtype=float, copy=True)
    # In place, in the same order of operations: a million rows' temporaries cost more than
    # the arithmetic.
    scaled = np.subtract(values, low, out=values)
    scaled /= high - low
    scaled *= 100.0
    answered = ~np.isnan(scaled)
    filled = scaled
    filled[~answered] = 0.0
    # One column of item weights per score (the CSI, then each dimension): two matrix products.
    dimensions = {dimension: group.index.to_numpy() for dimension, group
                  in present.reset_index(drop=True).groupby("dimension", sort=False)}
    item_weights = present["weight"].to_numpy(dtype=float)
    spread = np.zeros((len(codes), 1 + len(dimensions)))
    spread[:, 0] = item_weights
    for column, rows in enumerate(dimensions.values(), start=1):
        spread[rows, column] = item_weights[rows]
    # einsum's plain loop, not BLAS: a threaded product of this thin shape stalls on a busy
    # machine (as in patronage.analytics.drivers).
    num = np.einsum("nk,ks->ns", filled, spread)
    den = np.einsum("nk,ks->ns", answered.astype(float), spread)
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return pd.DataFrame(scores, index=answers.index, columns=["csi", *dimensions])


def csi(answers: pd.DataFrame, items: pd.DataFrame, weights=None) -> float:
    """The customer satisfaction index (0–100): survey-weighted mean of :func:`csi_scores`."""
    per_respondent = csi_scores(answers, items)["csi"]
    w = aligned_weights(per_respondent, weights)
    keep = per_respondent.notna()
    if not keep.any() or w[keep].sum() == 0:
        return np.nan
    return float(np.average(per_respondent[keep], weights=w[keep]))


__all__ = ["csi", "csi_scores", "nps", "nps_from_totals", "nps_summary", "rescale_0_100"]
