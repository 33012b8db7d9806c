"""Two groups side by side (the Overview's comparison mode): Welch's t test on (weighted) means
against SciPy and statsmodels, and the z test of an NPS difference, whose multinomial variance
is checked by simulation."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.weightstats import ttest_ind as sm_ttest_ind

from patronage.analytics.compare import mean_difference, nps_test
from patronage.reporting.compare import previous_period


def test_mean_difference_is_welchs_t_test_of_scipy():
    """Welch (1947), Biometrika 34:28–35, as computed by ``scipy.stats.ttest_ind(equal_var=False)``
    and by statsmodels' ``ttest_ind(usevar="unequal")``."""
    rng = np.random.default_rng(14)
    a = rng.normal(68, 12, 45)
    b = rng.normal(63, 20, 28)
    found = mean_difference(a, b)
    reference = stats.ttest_ind(a, b, equal_var=False)
    assert found["t"] == pytest.approx(reference.statistic)
    assert found["p_value"] == pytest.approx(reference.pvalue)
    assert found["df"] == pytest.approx(reference.df)
    t, p, df = sm_ttest_ind(a, b, usevar="unequal")
    assert (found["t"], found["p_value"], found["df"]) == pytest.approx((t, p, df))
    assert found["difference"] == pytest.approx(a.mean() - b.mean())
    assert (found["n_a"], found["n_b"]) == (45, 28)


def test_mean_difference_drops_missing_answers_and_uses_weights():
    a = pd.Series([70.0, np.nan, 80.0, 75.0, 60.0])
    b = pd.Series([50.0, 55.0, np.nan, 65.0])
    found = mean_difference(a, b)
    reference = stats.ttest_ind(a.dropna(), b.dropna(), equal_var=False)
    assert found["p_value"] == pytest.approx(reference.pvalue)
    # Equal weights of any size change nothing (Kish's effective size is then n).
    same = mean_difference(a, b, pd.Series(2.5, index=a.index), pd.Series(0.4, index=b.index))
    assert same["p_value"] == pytest.approx(reference.pvalue)
    # Unequal weights: the weighted means, as numpy's average gives them.
    wa = pd.Series([1.0, 1.0, 3.0, 1.0, 0.5])
    weighted = mean_difference(a, b, wa, None)
    keep = a.notna()
    assert weighted["mean_a"] == pytest.approx(np.average(a[keep], weights=wa[keep]))
    assert weighted["p_value"] != pytest.approx(reference.pvalue)


def test_mean_difference_of_a_group_too_small_to_test():
    found = mean_difference([70.0], [50.0, 60.0, 65.0])
    assert found["mean_a"] == 70.0 and np.isnan(found["p_value"]) and np.isnan(found["t"])
    empty = mean_difference([], [50.0, 60.0])
    assert empty["n_a"] == 0 and np.isnan(empty["difference"])


def test_nps_test_variance_is_the_multinomial_one():
    """Var(p̂⁺ − p̂⁻) = (p⁺ + p⁻ − (p⁺ − p⁻)²) / n (the variance of a difference of two shares
    of one multinomial sample), the two groups' variances adding: z and the p-value follow."""
    a = pd.Series([10] * 60 + [8] * 20 + [3] * 20)   # NPS 40
    b = pd.Series([9] * 50 + [7] * 20 + [0] * 30)    # NPS 20
    found = nps_test(a, b)
    var = (0.6 + 0.2 - 0.4**2) / 100 + (0.5 + 0.3 - 0.2**2) / 100
    assert found["difference"] == pytest.approx(20.0)
    assert (found["nps_a"], found["nps_b"]) == pytest.approx((40.0, 20.0))
    assert found["z"] == pytest.approx(0.2 / np.sqrt(var))
    assert found["p_value"] == pytest.approx(2 * stats.norm.sf(0.2 / np.sqrt(var)))


def test_nps_test_variance_and_size_hold_in_simulation():
    """Simulated surveys (fixed seed): the spread of the observed NPS differences matches the
    multinomial variance, and with equal true NPS the test rejects about 5% of the time."""
    rng = np.random.default_rng(20261205)
    shares_a, shares_b = [0.45, 0.25, 0.30], [0.35, 0.35, 0.30]   # true NPS 15 and 5
    n_a, n_b, reps = 300, 200, 2000
    draws_a = rng.choice([10, 8, 3], p=shares_a, size=(reps, n_a))
    draws_b = rng.choice([10, 8, 3], p=shares_b, size=(reps, n_b))
    differences = np.array([nps_test(x, y)["difference"] for x, y in
                            zip(draws_a[:800], draws_b[:800], strict=True)])
    def var(p, d, n):
        return (p + d - (p - d) ** 2) / n
    expected = 100 * np.sqrt(var(0.45, 0.30, n_a) + var(0.35, 0.30, n_b))
    assert differences.mean() == pytest.approx(10.0, abs=0.5)
    assert differences.std(ddof=1) == pytest.approx(expected, rel=0.07)
    null_b = rng.choice([10, 8, 3], p=shares_a, size=(reps, n_b))
    rejected = np.mean([nps_test(x, y)["p_value"] < 0.05 for x, y in
                        zip(draws_a, null_b, strict=True)])
    assert rejected == pytest.approx(0.05, abs=0.015)


def test_nps_test_with_an_empty_group_shows_the_other():
    found = nps_test(pd.Series([10, 9, 3]), pd.Series([], dtype=float))
    assert found["nps_a"] == pytest.approx(100 / 3) and np.isnan(found["nps_b"])
    assert np.isnan(found["p_value"]) and found["n_b"] == 0


def test_previous_period_of_the_same_length():
    assert previous_period(date(2026, 7, 1), date(2026, 9, 30)) == (date(2026, 4, 1),
                                                                     date(2026, 6, 30))
    assert previous_period(date(2026, 3, 1), date(2026, 3, 31)) == (date(2026, 2, 1),
                                                                     date(2026, 2, 28))
    assert previous_period(date(2026, 1, 1), date(2026, 12, 31)) == (date(2025, 1, 1),
                                                                      date(2025, 12, 31))
    assert previous_period(date(2026, 3, 5), date(2026, 3, 11)) == (date(2026, 2, 26),
                                                                    date(2026, 3, 4))
