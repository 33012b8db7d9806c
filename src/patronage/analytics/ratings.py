"""Rating-scale scores: means and top-box shares with intervals, CSAT, CES, the satisfaction
ratio and gap, the difference of two NPS, margin of error and response rate.

Weighted estimates use Kish's effective sample size ``n_eff = (Σw)² / Σw²`` for their intervals
(Kish 1965, *Survey Sampling*), which equals ``n`` without weights. Missing answers are dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from patronage.analytics._validation import aligned_weights, as_float_series
from patronage.analytics.scores import _nps_parts


def _clean(values, weights, name: str) -> tuple[pd.Series, pd.Series]:
    x = as_float_series(values, name=name)
    w = aligned_weights(x, weights)
    keep = (x.notna() & (w > 0)).to_numpy()  # an array: a mask Series looks its labels up
    return x[keep], w[keep]


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie between 0 and 1, e.g. 0.95")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def wilson_interval(share: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (Wilson 1927, JASA 22:209–212)."""
    if not n > 0 or np.isnan(share):
        return np.nan, np.nan
    z = _z(confidence)
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    # At a share of 0 (or 1) the bound is exactly 0 (or 1); the subtraction leaves float noise.
    low = 0.0 if share <= 0 else max(0.0, centre - half)
    high = 1.0 if share >= 1 else min(1.0, centre + half)
    return low, high


def mean_summary(values, weights=None, *, confidence: float = 0.95) -> pd.Series:
    """Weighted mean with a t interval on the effective sample size.

    Returns ``n, n_effective, mean, sd, ci_low, ci_high``.
    """
    x, w = _clean(values, weights, "ratings")
    n = float(len(x))
    if n == 0:
        return pd.Series({"n": 0.0, "n_effective": 0.0, "mean": np.nan, "sd": np.nan,
                          "ci_low": np.nan, "ci_high": np.nan})
    x, w = x.to_numpy(), w.to_numpy()  # arrays: numpy asks a Series for attributes that a
    # string index of a million responses then looks up among its labels
    mean = float(np.average(x, weights=w))
    n_eff = float(w.sum() ** 2 / (w**2).sum())
    var = float(np.average((x - mean) ** 2, weights=w)) * (n_eff / (n_eff - 1) if n_eff > 1 else np.nan)
    se = np.sqrt(var / n_eff) if n_eff > 1 else np.nan
    half = stats.t.ppf(0.5 + confidence / 2, n_eff - 1) * se if n_eff > 1 else np.nan
    return pd.Series({"n": n, "n_effective": n_eff, "mean": mean, "sd": np.sqrt(var),
                      "ci_low": mean - half, "ci_high": mean + half})


def top_box(values, weights=None, *, scale_max: float = 5, boxes: int = 2) -> float:
    """Share of answers in the top ``boxes`` categories (e.g. 4–5 on a 1–5 scale)."""
    x, w = _clean(values, weights, "ratings")
    if w.sum() == 0:
        return np.nan
    return float(w[(x > scale_max - boxes).to_numpy()].sum() / w.sum())  # an array mask


def csat(values, weights=None, *, scale=(1, 5), boxes: int = 2,
         confidence: float = 0.95) -> pd.Series:
    """Customer satisfaction: mean and top-``boxes``-box share with intervals.

    ``scale`` is the answer range, e.g. (1, 5) or (1, 10). Returns ``n, n_effective, mean,
    mean_ci_low, mean_ci_high, top_box, top_box_ci_low, top_box_ci_high`` (top box as a fraction,
    Wilson interval).
    """
    low, high = scale
    x, w = _clean(values, weights, "CSAT ratings")
    if ((x < low) | (x > high)).any():
        raise ValueError(f"CSAT ratings must lie between {low} and {high}")
    summary = mean_summary(x, w, confidence=confidence)
    share = top_box(x, w, scale_max=high, boxes=boxes)
    lo, hi = wilson_interval(share, summary["n_effective"], confidence)
    return pd.Series({"n": summary["n"], "n_effective": summary["n_effective"],
                      "mean": summary["mean"], "mean_ci_low": summary["ci_low"],
                      "mean_ci_high": summary["ci_high"], "top_box": share,
                      "top_box_ci_low": lo, "top_box_ci_high": hi})


def ces(values, weights=None, *, scale=(1, 7), confidence: float = 0.95) -> pd.Series:
    """Customer effort score: mean effort (1 = very easy … 7 = very hard by default) with its
    interval and the share answering on the easy side (below the scale's midpoint)."""
    low, high = scale
    x, w = _clean(values, weights, "CES ratings")
    if ((x < low) | (x > high)).any():
        raise ValueError(f"CES ratings must lie between {low} and {high}")
    summary = mean_summary(x, w, confidence=confidence)
    easy = float(w[x < (low + high) / 2].sum() / w.sum()) if w.sum() else np.nan
    return pd.Series({"n": summary["n"], "mean": summary["mean"], "ci_low": summary["ci_low"],
                      "ci_high": summary["ci_high"], "easy_share": easy})


def satisfaction_gap(perception: pd.DataFrame, expectation: pd.DataFrame,
                     weights=None) -> pd.DataFrame:
    """Per attribute, the satisfaction ratio ``C = b / a`` and the gap ``b − a``.

    ``perception`` (b) and ``expectation`` (a) are wide frames with the same attribute columns,
    one row per respondent. Means use respondents who answered both. ``C > 1`` (gap > 0) means
    delighted, near 1 satisfied, below 1 dissatisfied.
    """
    common = [c for c in perception.columns if c in expectation.columns]
    if not common:
        raise ValueError("perception and expectation share no attribute columns")
    rows = []
    for column in common:
        b = as_float_series(perception[column], name=column)
        a = as_float_series(expectation[column], name=f"{column} expectation").reindex(b.index)
        w = aligned_weights(b, weights)
        keep = (b.notna() & a.notna() & (w > 0)).to_numpy()  # arrays (see mean_summary)
        b, a, w = b.to_numpy(), a.to_numpy(), w.to_numpy()
        if not keep.any():
            rows.append({"attribute": column, "n": 0, "perception": np.nan,
                         "expectation": np.nan, "ratio": np.nan, "gap": np.nan})
            continue
        mb = float(np.average(b[keep], weights=w[keep]))
        ma = float(np.average(a[keep], weights=w[keep]))
        rows.append({"attribute": column, "n": int(keep.sum()), "perception": mb,
                     "expectation": ma, "ratio": mb / ma if ma else np.nan, "gap": mb - ma})
    out = pd.DataFrame(rows).set_index("attribute")
    out["verdict"] = np.select([out["gap"] > 0, out["ratio"] >= 0.95],
                               ["delighted", "satisfied"], "dissatisfied")
    out.loc[out["gap"].isna(), "verdict"] = None
    return out


def nps_difference(scores_a, scores_b, weights_a=None, weights_b=None, *,
                   confidence: float = 0.95) -> pd.Series:
    """Difference of two independent NPS (``b − a``) with its interval and a two-sided z test.

    The variance of each NPS is ``(p_P + p_D − (p_P − p_D)²) / n_eff``; for independent groups
    (two waves, two segments) the variances add.
    """
    pa, _, da, na, _ = _nps_parts(scores_a, weights_a)
    pb, _, db, nb, _ = _nps_parts(scores_b, weights_b)
    if na == 0 or nb == 0:
        raise ValueError("both groups need at least one NPS answer")
    var = (pa + da - (pa - da) ** 2) / na + (pb + db - (pb - db) ** 2) / nb
    diff = (pb - db) - (pa - da)
    se = np.sqrt(var)
    z = diff / se if se > 0 else np.nan
    half = _z(confidence) * se
    return pd.Series({"nps_a": 100 * (pa - da), "nps_b": 100 * (pb - db), "difference": 100 * diff,
                      "ci_low": 100 * (diff - half), "ci_high": 100 * (diff + half), "z": z,
                      "p_value": float(2 * stats.norm.sf(abs(z))) if se > 0 else np.nan})


def margin_of_error(n: float, *, share: float = 0.5, population: float | None = None,
                    confidence: float = 0.95) -> float:
    """Half-width of the interval of a proportion from ``n`` answers (worst case ``share`` = 0.5),
    with the finite population correction when ``population`` is given."""
    if n <= 0:
        raise ValueError("n must be positive")
    fpc = 1.0
    if population is not None:
        if population < n:
            raise ValueError("population must be at least n")
        fpc = np.sqrt((population - n) / (population - 1)) if population > 1 else 0.0
    return float(_z(confidence) * np.sqrt(share * (1 - share) / n) * fpc)


def response_rate(responses: float, invited: float, *, ineligible: float = 0) -> float:
    """Completed responses over eligible invitations (AAPOR RR1-style: ineligible invitations,
    e.g. bounced addresses, are left out of the base)."""
    base = invited - ineligible
    if base <= 0:
        raise ValueError("there must be more invitations than ineligible ones")
    if responses > base:
        raise ValueError("more responses than eligible invitations")
    return float(responses / base)


__all__ = [
    "ces",
    "csat",
    "margin_of_error",
    "mean_summary",
    "nps_difference",
    "response_rate",
    "satisfaction_gap",
    "top_box",
    "wilson_interval",
]
