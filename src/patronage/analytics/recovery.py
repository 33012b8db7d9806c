"""Comparing groups of customers after a complaint: the service-recovery paradox.

McCollough, Berry & Yadav (2000, *Journal of Service Research* 3(2):121-137) and the meta-analysis
of de Matos, Henrique & Rossi (2007, *Journal of Service Research* 10(1):60-77) ask whether
customers whose complaint was resolved well end up *more* satisfied or loyal than customers who
never had a problem. The test here compares the groups' later satisfaction (a mean, with a t
interval, and Welch's unequal-variance t test) or retention (a share, with a Wilson interval, and
a two-proportion z test).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from patronage.analytics.ratings import wilson_interval


def _clean(groups: pd.Series, outcome: pd.Series) -> pd.DataFrame:
    if not isinstance(groups, pd.Series) or not isinstance(outcome, pd.Series):
        raise ValueError("groups and outcome must be pandas Series on the same index")
    frame = pd.DataFrame({"group": groups, "y": pd.to_numeric(outcome, errors="coerce")})
    return frame.dropna()


def group_outcomes(groups: pd.Series, outcome: pd.Series, *, binary: bool = False,
                   confidence: float = 0.95) -> pd.DataFrame:
    """Per group: ``n``, ``mean`` (a share when ``binary``), ``ci_low``, ``ci_high``.

    Missing outcomes are left out, never counted as zero. Means get a t interval, shares a
    Wilson interval.
    """
    frame = _clean(groups, outcome)
    rows = {}
    for name, part in frame.groupby("group", sort=False):
        y = part["y"].to_numpy(dtype=float)
        n = len(y)
        mean = float(y.mean())
        if binary:
            low, high = wilson_interval(mean, n, confidence)
        elif n > 1:
            half = stats.t.ppf(0.5 + confidence / 2, n - 1) * y.std(ddof=1) / np.sqrt(n)
            low, high = mean - half, mean + half
        else:
            low = high = np.nan
        rows[name] = {"n": n, "mean": mean, "ci_low": low, "ci_high": high}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("group")


def compare_two(groups: pd.Series, outcome: pd.Series, a, b, *, binary: bool = False,
                confidence: float = 0.95) -> dict:
    """Group ``a`` minus group ``b``: ``difference``, its interval and the test's ``p_value``.

    Means: Welch's t test (Welch 1947) with the Welch–Satterthwaite degrees of freedom. Shares:
    the pooled two-proportion z test, with a Wald interval for the difference.
    """
    frame = _clean(groups, outcome)
    ya = frame.loc[frame["group"] == a, "y"].to_numpy(dtype=float)
    yb = frame.loc[frame["group"] == b, "y"].to_numpy(dtype=float)
    if len(ya) < 2 or len(yb) < 2:
        raise ValueError(f"each group needs at least 2 customers with an outcome; {a!r} has "
                         f"{len(ya)}, {b!r} has {len(yb)}")
    diff = float(ya.mean() - yb.mean())
    if binary:
        pa, pb, na, nb = ya.mean(), yb.mean(), len(ya), len(yb)
        pooled = (ya.sum() + yb.sum()) / (na + nb)
        se0 = np.sqrt(pooled * (1 - pooled) * (1 / na + 1 / nb))
        p_value = float(2 * stats.norm.sf(abs(diff) / se0)) if se0 > 0 else np.nan
        se = np.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)
        z = stats.norm.ppf(0.5 + confidence / 2)
        low, high = diff - z * se, diff + z * se
    else:
        va, vb = ya.var(ddof=1) / len(ya), yb.var(ddof=1) / len(yb)
        se = np.sqrt(va + vb)
        df = (va + vb) ** 2 / (va ** 2 / (len(ya) - 1) + vb ** 2 / (len(yb) - 1))
        t = diff / se if se > 0 else np.nan
        p_value = float(2 * stats.t.sf(abs(t), df)) if se > 0 else np.nan
        half = stats.t.ppf(0.5 + confidence / 2, df) * se
        low, high = diff - half, diff + half
    return {"a": a, "b": b, "difference": diff, "ci_low": float(low), "ci_high": float(high),
            "p_value": p_value, "n_a": int(len(ya)), "n_b": int(len(yb))}


__all__ = ["compare_two", "group_outcomes"]
