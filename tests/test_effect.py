"""The measured effect of an action (analytics/effect.py) against statsmodels on the same data.

References: the difference-in-differences regression ``y ~ after + treated + after:treated`` with
HC1 robust standard errors as statsmodels fits it (``smf.ols(...).fit(cov_type="HC1")``;
MacKinnon & White 1985, J. Econometrics 29); Welch's test as
``statsmodels.stats.weightstats.ttest_ind(usevar="unequal")`` and its interval as
``CompareMeans.tconfint_diff(usevar="unequal")``; each group's mean interval as
``DescrStatsW.tconfint_mean()``; the NPS difference's z test equals the
regression of the ±100 coded answers on ``after`` with HC0 (White 1980) standard errors, whose
variance is each group's (biased) variance over its n; the difference of two proportions (a
service standard's share of events within it, before and after) as
``statsmodels.stats.proportion.proportions_ztest`` (pooled z test) and
``confint_proportions_2indep(method="wald", compare="diff")`` report them (Agresti,
*Categorical Data Analysis*, 3rd ed., §2.2.3), each share's Wilson interval as
``proportion_confint(method="wilson")``, and the difference in differences of a 0/1
outcome (the linear probability model) as statsmodels fits it with HC1 errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patronage.analytics.effect import (
    difference_in_differences, mean_change, nps_change, nps_points, share_change,
    share_interval,
)

smf = pytest.importorskip("statsmodels.formula.api")
weightstats = pytest.importorskip("statsmodels.stats.weightstats")


def _panel(seed: int = 3, effect: float = 0.6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for treated in (0, 1):
        for after in (0, 1):
            n = 80 + 30 * treated + 17 * after
            spread = 1.0 + 0.8 * treated  # unequal variances: robust SE matter
            mean = 7.0 + 0.3 * after - 0.4 * treated + effect * treated * after
            rows.append(pd.DataFrame({"y": np.clip(rng.normal(mean, spread, n).round(), 1, 10),
                                      "after": after, "treated": treated}))
    return pd.concat(rows, ignore_index=True)


def test_difference_in_differences_matches_statsmodels_hc1():
    data = _panel()
    fit = smf.ols("y ~ after + treated + after:treated", data=data).fit(cov_type="HC1")
    found = difference_in_differences(data["y"], data["after"], data["treated"])
    assert found.method == "did"
    assert found.change == pytest.approx(fit.params["after:treated"], rel=1e-10)
    low, high = fit.conf_int().loc["after:treated"]
    assert (found.ci_low, found.ci_high) == (pytest.approx(low, rel=1e-9),
                                             pytest.approx(high, rel=1e-9))
    assert found.p_value == pytest.approx(fit.pvalues["after:treated"], rel=1e-8)
    cell = data.groupby(["treated", "after"])["y"]
    assert found.before == pytest.approx(cell.mean()[(1, 0)])
    assert found.after == pytest.approx(cell.mean()[(1, 1)])
    assert (found.n_before, found.n_after, found.n_other_before, found.n_other_after) == (
        110, 127, 80, 97)
    assert found.smallest_n == 80
    treated_after = data.loc[(data["treated"] == 1) & (data["after"] == 1), "y"]
    low, high = weightstats.DescrStatsW(treated_after.to_numpy()).tconfint_mean()
    assert found.intervals["after"] == (pytest.approx(low), pytest.approx(high))
    assert set(found.intervals) == {"before", "after", "other_before", "other_after"}
    assert found.significant() == (fit.pvalues["after:treated"] < 0.05)


def test_difference_in_differences_of_nps_points_matches_statsmodels():
    rng = np.random.default_rng(11)
    data = pd.DataFrame({"after": rng.integers(0, 2, 600), "treated": rng.integers(0, 2, 600)})
    data["score"] = np.clip(rng.integers(4, 11, 600) + data["after"] * data["treated"], 0, 10)
    data["y"] = nps_points(data["score"])
    fit = smf.ols("y ~ after + treated + after:treated", data=data).fit(cov_type="HC1")
    found = difference_in_differences(data["y"], data["after"], data["treated"])
    assert found.change == pytest.approx(fit.params["after:treated"], rel=1e-10)
    assert found.p_value == pytest.approx(fit.pvalues["after:treated"], rel=1e-8)


def test_nps_points_code_promoters_passives_and_detractors():
    assert nps_points([10, 9, 8, 7, 6, 0, None]).tolist()[:6] == [100, 100, 0, 0, -100, -100]
    assert nps_points([None]).isna().all()
    with pytest.raises(ValueError):
        nps_points([11])


def test_mean_change_is_welchs_test_as_statsmodels_reports_it():
    rng = np.random.default_rng(5)
    before, after = rng.normal(6.8, 1.0, 45), rng.normal(7.4, 2.0, 70)
    found = mean_change(before, after)
    t, p, df = weightstats.ttest_ind(after, before, usevar="unequal")
    assert found.p_value == pytest.approx(p, rel=1e-10)
    compared = weightstats.CompareMeans(weightstats.DescrStatsW(after),
                                        weightstats.DescrStatsW(before))
    low, high = compared.tconfint_diff(usevar="unequal")
    assert (found.ci_low, found.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert found.change == pytest.approx(after.mean() - before.mean())
    assert (found.method, found.n_before, found.n_after) == ("welch", 45, 70)


def test_nps_change_is_the_z_test_of_the_coded_answers_with_hc0_errors():
    rng = np.random.default_rng(8)
    before, after = rng.integers(0, 11, 150), np.clip(rng.integers(0, 11, 180) + 1, 0, 10)
    found = nps_change(before, after)
    data = pd.DataFrame({"y": nps_points(np.r_[before, after]),
                         "after": np.r_[np.zeros(150), np.ones(180)]})
    fit = smf.ols("y ~ after", data=data).fit(cov_type="HC0")
    assert found.change == pytest.approx(fit.params["after"], rel=1e-10)
    assert found.p_value == pytest.approx(fit.pvalues["after"], rel=1e-8)
    low, high = fit.conf_int().loc["after"]
    assert (found.ci_low, found.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert found.before == pytest.approx(nps_points(before).mean())


def test_too_few_answers_are_refused():
    with pytest.raises(ValueError, match="four groups"):
        difference_in_differences([1, 2, 3, 4, 5], [0, 0, 1, 1, 1], [1, 1, 1, 1, 0])
    with pytest.raises(ValueError, match="at least two"):
        mean_change([5.0], [6.0, 7.0])


def test_share_change_is_the_two_proportion_z_test_as_statsmodels_reports_it():
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    rng = np.random.default_rng(15)
    before, after = rng.random(240) < 0.74, rng.random(310) < 0.82
    found = share_change(before, after)
    count, nobs = [after.sum(), before.sum()], [len(after), len(before)]
    _z, p = proportion.proportions_ztest(count, nobs)
    assert found.p_value == pytest.approx(p, rel=1e-10)
    low, high = proportion.confint_proportions_2indep(count[0], nobs[0], count[1], nobs[1],
                                                      method="wald", compare="diff")
    assert (found.ci_low, found.ci_high) == (pytest.approx(low, rel=1e-10),
                                             pytest.approx(high, rel=1e-10))
    assert found.change == pytest.approx(after.mean() - before.mean())
    assert (found.method, found.n_before, found.n_after) == ("prop", 240, 310)
    points = share_change(before, after, scale=100)
    assert points.change == pytest.approx(100 * found.change)
    assert points.ci_low == pytest.approx(100 * low) and points.p_value == found.p_value
    assert points.before == pytest.approx(100 * before.mean())
    # Each share's interval is Wilson's, as statsmodels gives it, and stays within 0–100.
    low, high = proportion.proportion_confint(after.sum(), len(after), method="wilson")
    assert points.intervals["after"] == (pytest.approx(100 * low), pytest.approx(100 * high))
    assert share_interval(40, 40, scale=100)[1] == pytest.approx(100)
    assert share_interval(39, 40, scale=100)[1] < 100
    with pytest.raises(ValueError, match="0 or 1"):
        share_change([0, 1, 2], [1, 1])


def test_difference_in_differences_of_a_share_in_points_matches_statsmodels():
    rng = np.random.default_rng(16)
    data = pd.DataFrame({"after": rng.integers(0, 2, 800), "treated": rng.integers(0, 2, 800)})
    chance = 0.7 + 0.05 * data["after"] + 0.08 * data["after"] * data["treated"]
    data["y"] = 100.0 * (rng.random(800) < chance)
    fit = smf.ols("y ~ after + treated + after:treated", data=data).fit(cov_type="HC1")
    found = difference_in_differences(data["y"], data["after"], data["treated"])
    assert found.change == pytest.approx(fit.params["after:treated"], rel=1e-10)
    assert found.p_value == pytest.approx(fit.pvalues["after:treated"], rel=1e-8)
