"""Did a campaign work? The target group against a control group held out at random from the
same list: the difference of two proportions (customers who bought again) and of two means
(revenue per customer), each with a confidence interval and a test.

* Proportions: ``diff = p_target − p_control``; the Wald interval ``diff ± z·√(p₁q₁/n₁ +
  p₀q₀/n₀)`` and Newcombe's hybrid score interval built from the two Wilson intervals
  (Newcombe 1998, *Statistics in Medicine* 17(8), 873–890, method 10), which keeps its
  coverage with small groups and rates near 0 or 1; the two-sided z test with the pooled
  proportion (Agresti 2013, *Categorical Data Analysis*, 3rd ed., §2.1–2.2; the same test as
  ``statsmodels.stats.proportion.proportions_ztest``).
* Means: Welch's t test with Welch–Satterthwaite degrees of freedom (Welch 1947,
  *Biometrika* 34(1/2), 28–35) and the matching t interval.

A result is marked ``small`` when a group has fewer than ``min_n`` customers or fewer than five
successes or failures (the normal approximation's usual rule), so that a page says the
estimate is unreliable instead of printing it as if it were not.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["mean_difference", "proportion_difference", "wilson_interval"]


def _z(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    return float(stats.norm.ppf(1 - alpha / 2))


def wilson_interval(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson's score interval of one proportion ``x / n`` (Wilson 1927, *JASA* 22, 209–212)."""
    if n <= 0:
        return (math.nan, math.nan)
    z = _z(alpha)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _check_counts(x: int, n: int, name: str) -> None:
    if n < 0 or x < 0 or x > n:
        raise ValueError(f"{name}: successes must be between 0 and the group size; got {x}/{n}")


def proportion_difference(x_target: int, n_target: int, x_control: int, n_control: int, *,
                          alpha: float = 0.05, min_n: int = 30) -> dict:
    """The target's rate minus the control's, with Wald and Newcombe intervals and the pooled
    two-sided z test. Returns a dict: ``rate_target``, ``rate_control``, ``diff``,
    ``wald_low``/``wald_high``, ``low``/``high`` (Newcombe), ``z``, ``p_value``, ``small``.
    A group of size zero gives NaN figures (and ``small``)."""
    _check_counts(x_target, n_target, "target")
    _check_counts(x_control, n_control, "control")
    nan = math.nan
    small = (min(n_target, n_control) < min_n
             or min(x_target, n_target - x_target, x_control, n_control - x_control) < 5)
    if n_target == 0 or n_control == 0:
        return {"rate_target": x_target / n_target if n_target else nan,
                "rate_control": x_control / n_control if n_control else nan, "diff": nan,
                "wald_low": nan, "wald_high": nan, "low": nan, "high": nan, "z": nan,
                "p_value": nan, "small": True}
    z_crit = _z(alpha)
    p1, p0 = x_target / n_target, x_control / n_control
    diff = p1 - p0
    se = math.sqrt(p1 * (1 - p1) / n_target + p0 * (1 - p0) / n_control)
    l1, u1 = wilson_interval(x_target, n_target, alpha)
    l0, u0 = wilson_interval(x_control, n_control, alpha)
    low = diff - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    pooled = (x_target + x_control) / (n_target + n_control)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_target + 1 / n_control))
    z = diff / se0 if se0 > 0 else nan
    p_value = float(2 * stats.norm.sf(abs(z))) if se0 > 0 else nan
    return {"rate_target": p1, "rate_control": p0, "diff": diff,
            "wald_low": diff - z_crit * se, "wald_high": diff + z_crit * se,
            "low": low, "high": high, "z": z, "p_value": p_value, "small": bool(small)}


def mean_difference(target, control, *, alpha: float = 0.05, min_n: int = 30) -> dict:
    """Mean of ``target`` minus mean of ``control`` (e.g. revenue per customer, zeros
    included), with Welch's t test and interval. Returns ``mean_target``, ``mean_control``,
    ``diff``, ``se``, ``df``, ``low``, ``high``, ``t``, ``p_value``, ``small``; NaN where a
    group has fewer than two values or both have no spread."""
    a = np.asarray(target, dtype=float)
    b = np.asarray(control, dtype=float)
    if np.isnan(a).any() or np.isnan(b).any():
        raise ValueError("target and control must not contain missing values")
    nan = math.nan
    out = {"mean_target": float(a.mean()) if a.size else nan,
           "mean_control": float(b.mean()) if b.size else nan, "diff": nan, "se": nan,
           "df": nan, "low": nan, "high": nan, "t": nan, "p_value": nan,
           "small": bool(min(a.size, b.size) < min_n)}
    if a.size:
        out["diff"] = out["mean_target"] - (out["mean_control"] if b.size else nan)
    if a.size < 2 or b.size < 2:
        out["small"] = True
        return out
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    if se == 0:
        return out
    df = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    t = out["diff"] / se
    crit = float(stats.t.ppf(1 - alpha / 2, df))
    out.update(se=se, df=df, t=t, p_value=float(2 * stats.t.sf(abs(t), df)),
               low=out["diff"] - crit * se, high=out["diff"] + crit * se)
    return out
