"""Shewhart control charts and the Western Electric run rules.

* :func:`p_chart` — the fraction nonconforming per sample, with limits
  ``p̄ ± 3·√(p̄(1 − p̄)/nᵢ)`` that vary with each sample's size (Montgomery, *Introduction to
  Statistical Quality Control*, §7.2); ``p̄`` is the total nonconforming over the total inspected
  unless a standard value is given.
* :func:`xbar_s_chart` — subgroup means and standard deviations: ``x̿ ± A₃·s̄`` and
  ``B₃·s̄, B₄·s̄`` with the constants from ``c₄(n)`` (Montgomery §6.3); with equal subgroup
  sizes ``s̄`` is the mean of the subgroup deviations, with unequal sizes the pooled deviation
  ``√(Σ(nᵢ − 1)sᵢ² / Σ(nᵢ − 1))`` and ``x̿`` the size-weighted mean (Montgomery eqs. 6.30–6.31),
  each subgroup getting the limits of its own size.
* :func:`individuals_chart` — single values and their moving ranges of two:
  ``x̄ ± 3·MR̄/d₂`` with ``d₂ = 1.128``, and ``D₄·MR̄`` with ``D₄ = 3.267`` (Montgomery §6.4).
* :func:`run_rules` — the Western Electric rules (Western Electric *Statistical Quality Control
  Handbook*, 1956; Montgomery §5.3.6) on standardised points: 1) one point beyond 3σ; 2) two of
  three consecutive points beyond 2σ on the same side; 3) four of five beyond 1σ on the same
  side; 4) eight in a row on one side of the centre line. A point is flagged by the rule whose
  run ends on it.

Every chart is a DataFrame with one row per sample: ``value``, ``center``, ``lcl``, ``ucl``,
``sigma`` (of the plotted statistic at that sample), ``n`` and ``rules`` (a tuple of the rule
numbers the point breaks, empty when none); ``signal`` is true when it breaks any.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import gammaln

#: The Western Electric rules as the pages name them.
RULES = {1: "one point beyond 3 sigma",
         2: "two of three points beyond 2 sigma on one side",
         3: "four of five points beyond 1 sigma on one side",
         4: "eight points in a row on one side of the centre line"}
D2_TWO = 1.128  # d₂ for moving ranges of two
D4_TWO = 3.267  # D₄ for moving ranges of two


def c4(n) -> np.ndarray:
    """The unbiasing constant ``c₄(n) = √(2/(n − 1))·Γ(n/2)/Γ((n − 1)/2)`` for n ≥ 2."""
    n = np.asarray(n, dtype=float)
    if np.any(n < 2):
        raise ValueError("c4 needs subgroups of at least 2")
    return np.sqrt(2.0 / (n - 1.0)) * np.exp(gammaln(n / 2.0) - gammaln((n - 1.0) / 2.0))


def run_rules(z) -> list[tuple[int, ...]]:
    """The Western Electric rules each standardised point ``z = (value − centre)/σ`` breaks.

    A NaN point (no data) breaks none and interrupts no run: runs are counted over the points
    that exist.
    """
    z = np.asarray(z, dtype=float)
    present = np.flatnonzero(~np.isnan(z))
    values = z[present]
    flags: list[set[int]] = [set() for _ in range(len(z))]
    for k, value in enumerate(values):
        found = flags[present[k]]
        if abs(value) > 3:
            found.add(1)
        for rule, window, need, level in ((2, 3, 2, 2.0), (3, 5, 4, 1.0)):
            if k + 1 < window:
                continue
            run = values[k + 1 - window:k + 1]
            for side in (1, -1):
                if side * value > level and np.sum(side * run > level) >= need:
                    found.add(rule)
        if k + 1 >= 8:
            run = values[k - 7:k + 1]
            if np.all(run > 0) or np.all(run < 0):
                found.add(4)
    return [tuple(sorted(f)) for f in flags]


def _chart(value, center, sigma, n, *, lower=None, upper=None, width: float = 3.0
           ) -> pd.DataFrame:
    value = np.asarray(value, dtype=float)
    center = np.broadcast_to(np.asarray(center, dtype=float), value.shape).copy()
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), value.shape).copy()
    lcl, ucl = center - width * sigma, center + width * sigma
    if lower is not None:
        lcl = np.maximum(lcl, lower)
    if upper is not None:
        ucl = np.minimum(ucl, upper)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sigma > 0, (value - center) / sigma, np.nan)
    rules = run_rules(z)
    return pd.DataFrame({"value": value, "center": center, "lcl": lcl, "ucl": ucl,
                         "sigma": sigma, "n": np.asarray(n, dtype=float), "rules": rules,
                         "signal": [bool(r) for r in rules]})


def p_chart(nonconforming, sizes, *, center: float | None = None) -> pd.DataFrame:
    """The p chart of ``nonconforming`` out of ``sizes`` per sample (limits vary with n).

    ``center`` is a standard ``p``; without one ``p̄ = Σdᵢ/Σnᵢ`` of these samples. Samples of
    size 0 are kept as NaN points. Limits are clipped to [0, 1].
    """
    d = np.asarray(nonconforming, dtype=float)
    n = np.asarray(sizes, dtype=float)
    if d.shape != n.shape:
        raise ValueError("nonconforming and sizes must have the same length")
    if np.any(n < 0) or np.any(d < 0) or np.any(d > n):
        raise ValueError("each sample needs 0 <= nonconforming <= size")
    if center is None:
        if n.sum() == 0:
            raise ValueError("a p chart needs at least one inspected unit")
        center = float(d.sum() / n.sum())
    if not 0 <= center <= 1:
        raise ValueError("the centre of a p chart is a share between 0 and 1")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, d / n, np.nan)
        sigma = np.where(n > 0, math.sqrt(center * (1 - center)) / np.sqrt(n), np.nan)
    return _chart(p, center, sigma, n, lower=0.0, upper=1.0)


def xbar_s_chart(subgroups) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The X̄ and S charts of ``subgroups`` (a sequence of arrays, each of at least 2 values)."""
    groups = [np.asarray(g, dtype=float) for g in subgroups]
    groups = [g[~np.isnan(g)] for g in groups]
    if not groups or any(len(g) < 2 for g in groups):
        raise ValueError("an X-bar/S chart needs subgroups of at least 2 values each")
    n = np.array([len(g) for g in groups], dtype=float)
    means = np.array([g.mean() for g in groups])
    sds = np.array([g.std(ddof=1) for g in groups])
    if np.all(n == n[0]):
        grand, s_bar = float(means.mean()), float(sds.mean())
    else:
        grand = float(np.sum(n * means) / n.sum())
        s_bar = float(math.sqrt(np.sum((n - 1) * sds ** 2) / np.sum(n - 1)))
    c = c4(n)
    # σ̂ = s̄/c₄: the X̄ limits are x̿ ± 3σ̂/√n (= A₃ s̄), the S limits s̄ ± 3 s̄ √(1 − c₄²)/c₄.
    xbar = _chart(means, grand, s_bar / (c * np.sqrt(n)), n)
    s = _chart(sds, s_bar, s_bar * np.sqrt(1 - c ** 2) / c, n, lower=0.0)
    return xbar, s


def individuals_chart(values) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The individuals (I) and moving-range (MR) charts of ``values`` (at least 2).

    The MR chart has one row per value; the first has no moving range (NaN)."""
    x = np.asarray(values, dtype=float)
    if len(x) < 2 or np.any(np.isnan(x)):
        raise ValueError("an individuals chart needs at least 2 values, none missing")
    mr = np.abs(np.diff(x))
    mr_bar = float(mr.mean())
    sigma = mr_bar / D2_TWO
    ichart = _chart(x, float(x.mean()), sigma, np.ones(len(x)))
    # The MR chart: centre MR̄, UCL D₄·MR̄, LCL 0; σ of a moving range = (D₄ − 1)/3 · MR̄.
    mrs = np.concatenate([[np.nan], mr])
    mrchart = _chart(mrs, mr_bar, (D4_TWO - 1) / 3 * mr_bar, np.full(len(x), 2.0), lower=0.0)
    mrchart["rules"] = [(1,) if v > D4_TWO * mr_bar + 1e-12 else () for v in mrs]
    mrchart["signal"] = [bool(r) for r in mrchart["rules"]]
    return ichart, mrchart


__all__ = ["D2_TWO", "D4_TWO", "RULES", "c4", "individuals_chart", "p_chart", "run_rules",
           "xbar_s_chart"]
