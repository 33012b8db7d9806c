"""The measured effect of an improvement action: a metric before and after, for the customers the
action targeted against the rest.

* :func:`difference_in_differences` — where a comparison group exists (the targeted segment
  and the other customers, both before and after): the OLS regression
  ``y ~ after + treated + after:treated`` whose interaction coefficient is the effect, with
  heteroskedasticity-robust (HC1, White 1980 with the ``n / (n − k)`` correction of MacKinnon &
  White 1985) standard errors and normal-theory intervals and p-values, as
  ``statsmodels.formula.api.ols(...).fit(cov_type="HC1")`` reports them.
* :func:`mean_change` — no comparison group: the targeted customers' mean after against
  before, Welch's unequal-variance t test and interval (Welch 1947).
* :func:`nps_change` — no comparison group, NPS: the difference of two independent NPS with a
  two-sided z test (:func:`~patronage.analytics.ratings.nps_difference`).
* :func:`share_change` — no comparison group, a 0/1 outcome (an event within a service standard
  or not): the difference of two independent proportions, the two-sided z test with the pooled
  proportion and the Wald interval (Agresti, *Categorical Data Analysis*, 3rd ed., §1.4 and
  §2.2.3), as ``statsmodels.stats.proportion.proportions_ztest`` and
  ``confint_proportions_2indep(method="wald")`` report them.

NPS enters a regression as each answer coded +100 (promoter, 9–10), 0 (passive) or −100
(detractor, 0–6), whose mean is the NPS (:func:`nps_points`). Answers are unweighted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from patronage.analytics.ratings import nps_difference
from patronage.analytics.scores import DETRACTOR_MAX, PROMOTER_MIN

METHODS = ("did", "welch", "z", "prop")


@dataclass(frozen=True)
class Effect:
    """A measured change: ``change`` (after − before; with a comparison group, the targeted
    customers' change minus the others') with its ``ci_low``/``ci_high`` interval and two-sided
    ``p_value``; the targeted group's ``before``/``after`` means and counts, and the comparison
    group's (NaN / 0 without one); ``intervals`` of each of those means by name
    (``"before"``, ``"after"``, ``"other_before"``, ``"other_after"``)."""

    method: str
    change: float
    ci_low: float
    ci_high: float
    p_value: float
    before: float
    after: float
    n_before: int
    n_after: int
    other_before: float = np.nan
    other_after: float = np.nan
    n_other_before: int = 0
    n_other_after: int = 0
    #: 95% intervals (low, high) of the four means: Student's t on each group's answers.
    intervals: dict = field(default_factory=dict)

    def significant(self, alpha: float = 0.05) -> bool:
        return bool(self.p_value == self.p_value and self.p_value < alpha)

    @property
    def smallest_n(self) -> int:
        """The smallest of the groups the effect rests on."""
        counts = [self.n_before, self.n_after]
        if self.method == "did":
            counts += [self.n_other_before, self.n_other_after]
        return int(min(counts))


def _values(values, name: str) -> np.ndarray:
    array = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)
    array = array[~np.isnan(array)]
    if len(array) < 2:
        raise ValueError(f"{name} needs at least two answers; got {len(array)}")
    return array


def nps_points(scores) -> pd.Series:
    """NPS answers (0–10) as +100 (promoters), 0 (passives), −100 (detractors); missing stays
    missing. Their mean is the NPS."""
    values = pd.to_numeric(pd.Series(scores), errors="coerce").astype(float)
    if ((values < 0) | (values > 10)).any():
        raise ValueError("NPS scores must lie between 0 and 10")
    points = pd.Series(0.0, index=values.index)
    points[values >= PROMOTER_MIN] = 100.0
    points[values <= DETRACTOR_MAX] = -100.0
    return points.where(values.notna())


def mean_interval(values, confidence: float = 0.95) -> tuple[float, float]:
    """The Student's t interval of the mean of ``values`` (NaN for fewer than two)."""
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    if len(array) < 2:
        return np.nan, np.nan
    half = float(stats.t.ppf(0.5 + confidence / 2, len(array) - 1)
                 * array.std(ddof=1) / np.sqrt(len(array)))
    return float(array.mean()) - half, float(array.mean()) + half


def _z(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + confidence / 2))


def difference_in_differences(y, after, treated, *, confidence: float = 0.95) -> Effect:
    """The effect of a change on the treated group: the coefficient of ``after:treated`` in the
    OLS regression ``y ~ after + treated + after:treated`` with HC1 robust standard errors.

    ``y`` are the answers, ``after`` and ``treated`` 0/1 (or booleans) of the same length;
    missing answers are dropped. Each of the four cells needs at least two answers.
    """
    frame = pd.DataFrame({"y": pd.to_numeric(pd.Series(np.asarray(y, dtype=float)),
                                             errors="coerce"),
                          "after": np.asarray(after, dtype=float),
                          "treated": np.asarray(treated, dtype=float)}).dropna()
    cells = frame.groupby(["treated", "after"])["y"].agg(["mean", "size"])
    for cell in ((1.0, 0.0), (1.0, 1.0), (0.0, 0.0), (0.0, 1.0)):
        if cell not in cells.index or cells.loc[cell, "size"] < 2:
            raise ValueError("each of the four groups (targeted and others, before and after) "
                             "needs at least two answers")
    X = np.column_stack([np.ones(len(frame)), frame["after"], frame["treated"],
                         frame["after"] * frame["treated"]])
    y_values = frame["y"].to_numpy()
    n, k = X.shape
    bread = np.linalg.pinv(X.T @ X)
    beta = bread @ X.T @ y_values
    residuals = y_values - X @ beta
    meat = (X * residuals[:, None] ** 2).T @ X
    covariance = bread @ meat @ bread * n / (n - k)
    estimate, se = float(beta[3]), float(np.sqrt(max(covariance[3, 3], 0.0)))
    half = _z(confidence) * se
    p_value = float(2 * stats.norm.sf(abs(estimate / se))) if se > 0 else np.nan
    return Effect("did", estimate, estimate - half, estimate + half, p_value,
                  before=float(cells.loc[(1.0, 0.0), "mean"]),
                  after=float(cells.loc[(1.0, 1.0), "mean"]),
                  n_before=int(cells.loc[(1.0, 0.0), "size"]),
                  n_after=int(cells.loc[(1.0, 1.0), "size"]),
                  other_before=float(cells.loc[(0.0, 0.0), "mean"]),
                  other_after=float(cells.loc[(0.0, 1.0), "mean"]),
                  n_other_before=int(cells.loc[(0.0, 0.0), "size"]),
                  n_other_after=int(cells.loc[(0.0, 1.0), "size"]),
                  intervals={name: mean_interval(frame.loc[(frame["treated"] == t)
                                                           & (frame["after"] == a), "y"],
                                                 confidence)
                             for name, t, a in (("before", 1, 0), ("after", 1, 1),
                                                ("other_before", 0, 0), ("other_after", 0, 1))})


def mean_change(before, after, *, confidence: float = 0.95) -> Effect:
    """Mean after − mean before with Welch's t test and its interval (Welch–Satterthwaite
    degrees of freedom)."""
    a, b = _values(before, "before"), _values(after, "after")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    change, se = float(b.mean() - a.mean()), float(np.sqrt(va + vb))
    if se > 0:
        df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
        half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
        p_value = float(2 * stats.t.sf(abs(change / se), df))
    else:
        half, p_value = np.nan, np.nan
    return Effect("welch", change, change - half, change + half, p_value,
                  before=float(a.mean()), after=float(b.mean()), n_before=len(a), n_after=len(b),
                  intervals={"before": mean_interval(a, confidence),
                             "after": mean_interval(b, confidence)})


def nps_change(before, after, *, confidence: float = 0.95) -> Effect:
    """NPS after − NPS before with the two-sided z test of two independent NPS."""
    a, b = _values(before, "before"), _values(after, "after")
    found = nps_difference(a, b, confidence=confidence)
    return Effect("z", float(found["difference"]), float(found["ci_low"]),
                  float(found["ci_high"]), float(found["p_value"]), before=float(found["nps_a"]),
                  after=float(found["nps_b"]), n_before=len(a), n_after=len(b),
                  intervals={"before": mean_interval(nps_points(a), confidence),
                             "after": mean_interval(nps_points(b), confidence)})


def _shares(values, name: str) -> np.ndarray:
    array = _values(values, name)
    if not np.isin(array, (0.0, 1.0)).all():
        raise ValueError(f"{name} must be 0 or 1 for each event")
    return array


def share_interval(successes: float, n: int, *, scale: float = 1.0,
                   confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a share (Wilson 1927; Agresti & Coull 1998), which stays
    within 0 and 1, times ``scale``; NaN for no events."""
    if n <= 0:
        return np.nan, np.nan
    z, p = _z(confidence), successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half) * scale, float(centre + half) * scale


def share_change(before, after, *, scale: float = 1.0, confidence: float = 0.95) -> Effect:
    """The share of 1s after − before (two independent samples of 0/1 outcomes): the two-sided z
    test with the pooled share and the unpooled (Wald) interval, each share with its Wilson
    interval (:func:`share_interval`); ``scale`` multiplies the shares, the change and the
    intervals (100: percentage points)."""
    a, b = _shares(before, "before"), _shares(after, "after")
    p_a, p_b = float(a.mean()), float(b.mean())
    n_a, n_b = len(a), len(b)
    pooled = (a.sum() + b.sum()) / (n_a + n_b)
    se_null = float(np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b)))
    change = p_b - p_a
    p_value = float(2 * stats.norm.sf(abs(change) / se_null)) if se_null > 0 else np.nan
    half = _z(confidence) * float(np.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b))

    return Effect("prop", change * scale, (change - half) * scale, (change + half) * scale,
                  p_value, before=p_a * scale, after=p_b * scale, n_before=n_a, n_after=n_b,
                  intervals={name: share_interval(float(v.sum()), len(v), scale=scale,
                                                  confidence=confidence)
                             for name, v in (("before", a), ("after", b))})


__all__ = ["METHODS", "Effect", "difference_in_differences", "mean_change", "mean_interval",
           "nps_change", "nps_points", "share_change", "share_interval"]
