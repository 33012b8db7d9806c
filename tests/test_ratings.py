"""Rating scores, weighting and comparisons, each against an established library or a
published figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.oneway import anova_oneway
from statsmodels.stats.proportion import proportion_confint

from patronage.analytics import (
    compare_groups,
    crosstab_test,
    csat,
    design_weights,
    holm,
    margin_of_error,
    mean_summary,
    nps_difference,
    nps_from_totals,
    nps_summary,
    poststratify,
    rake,
    response_rate,
    satisfaction_gap,
    wave_trend,
    wilson_interval,
)


def test_nps_interval_covers_95_percent_in_simulation():
    """Coverage of the Wald interval of :func:`nps_summary` (Rocks 2016, The American
    Statistician 70(4)) at n = 400 with true shares P 0.45 / passive 0.25 / D 0.30 (true NPS 15):
    the issue's requirement is 95% ± 1.5% over 3,000 simulated surveys."""
    rng = np.random.default_rng(20261123)
    truth, hits, reps = 15.0, 0, 3000
    categories = rng.choice([10, 8, 3], p=[0.45, 0.25, 0.30], size=(reps, 400))
    for row in categories:
        summary = nps_summary(pd.Series(row))
        hits += summary["ci_low"] <= truth <= summary["ci_high"]
    assert abs(hits / reps - 0.95) <= 0.015


def test_wilson_interval_matches_statsmodels():
    for count, n in [(0, 20), (7, 20), (180, 200), (55, 100)]:
        ours = wilson_interval(count / n, n)
        ref = proportion_confint(count, n, alpha=0.05, method="wilson")
        assert ours == pytest.approx(ref, abs=1e-12)


def test_mean_summary_unweighted_is_the_t_interval():
    x = pd.Series([3, 4, 5, 5, 2, np.nan, 4, 1])
    summary = mean_summary(x)
    clean = x.dropna()
    low, high = stats.t.interval(0.95, len(clean) - 1, loc=clean.mean(), scale=stats.sem(clean))
    assert summary["n"] == 7  # the missing answer is missing, not zero
    assert (summary["ci_low"], summary["ci_high"]) == pytest.approx((low, high))


def test_csat_top_two_box_and_range_check():
    result = csat(pd.Series([5, 4, 3, 2, 5, 4, np.nan]), scale=(1, 5))
    assert result["top_box"] == pytest.approx(4 / 6)
    assert result["mean"] == pytest.approx(23 / 6)
    with pytest.raises(ValueError, match="between 1 and 5"):
        csat(pd.Series([6, 4]))


def test_satisfaction_ratio_and_gap_by_hand():
    b = pd.DataFrame({"delivery": [8, 6, np.nan], "price": [5, 7, 6]})
    a = pd.DataFrame({"delivery": [6, 6, 9], "price": [7, 7, 7]})
    out = satisfaction_gap(b, a)
    # delivery: both answered by respondents 1–2 → b̄ = 7, ā = 6 → C = 7/6, gap +1
    assert out.loc["delivery", "ratio"] == pytest.approx(7 / 6)
    assert out.loc["delivery", "gap"] == pytest.approx(1.0)
    assert out.loc["delivery", "verdict"] == "delighted"
    assert out.loc["price", "ratio"] == pytest.approx(6 / 7)
    assert out.loc["price", "verdict"] == "dissatisfied"


def test_nps_difference_variance_adds():
    a = pd.Series([10] * 50 + [8] * 20 + [3] * 30)   # NPS 20
    b = pd.Series([10] * 60 + [8] * 20 + [3] * 20)   # NPS 40
    d = nps_difference(a, b)
    var = (0.5 + 0.3 - 0.2**2) / 100 + (0.6 + 0.2 - 0.4**2) / 100
    assert d["difference"] == pytest.approx(20.0)
    assert d["z"] == pytest.approx(0.2 / np.sqrt(var))
    assert d["p_value"] == pytest.approx(2 * stats.norm.sf(0.2 / np.sqrt(var)))


def test_margin_of_error_classic_figures():
    # The familiar "±3.1 points" of a 1,000-person poll at 95%.
    assert margin_of_error(1000) == pytest.approx(0.0310, abs=5e-5)
    assert margin_of_error(1000, population=2000) < margin_of_error(1000)
    assert response_rate(250, 1050, ineligible=50) == pytest.approx(0.25)


def test_holm_matches_statsmodels():
    p = [0.01, 0.04, 0.03, 0.20, 0.005]
    expected = multipletests(p, method="holm")[1]
    assert holm(p).to_numpy() == pytest.approx(expected)


def test_crosstab_chi2_and_cramers_v_match_scipy():
    rng = np.random.default_rng(1)
    rows = pd.Series(rng.choice(["East", "North", "South"], size=300))
    cols = pd.Series(np.where(rng.random(300) < 0.3 + 0.2 * (rows == "East"), "promoter", "other"))
    result = crosstab_test(rows, cols)
    table = pd.crosstab(rows, cols).to_numpy()
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    assert (result["chi2"], result["p_value"], result["dof"]) == pytest.approx((chi2, p, dof))
    assert result["cramers_v"] == pytest.approx(
        stats.contingency.association(table, method="cramer", correction=False))


def test_group_comparisons_match_reference_implementations():
    rng = np.random.default_rng(2)
    values = pd.Series(np.concatenate([rng.normal(7, 1, 40), rng.normal(7.5, 2, 60),
                                       rng.normal(6.8, 1.5, 30)]))
    groups = pd.Series(["a"] * 40 + ["b"] * 60 + ["c"] * 30)
    three = compare_groups(values, groups)
    ref = anova_oneway([values[groups == g] for g in "abc"], use_var="equal")
    assert three["statistic"] == pytest.approx(ref.statistic)
    assert three["p_value"] == pytest.approx(ref.pvalue)
    two = compare_groups(values[groups != "c"], groups[groups != "c"])
    welch = anova_oneway([values[groups == g] for g in "ab"], use_var="unequal")
    # Welch's ANOVA with two groups is Welch's t test squared.
    assert two["statistic"] ** 2 == pytest.approx(welch.statistic)
    assert two["p_value"] == pytest.approx(welch.pvalue)


def test_wave_trend_flags_a_real_change_only():
    rng = np.random.default_rng(3)
    scores = pd.Series(np.concatenate([rng.choice([10, 8, 3], p=[.3, .4, .3], size=500),
                                       rng.choice([10, 8, 3], p=[.3, .4, .3], size=500),
                                       rng.choice([10, 8, 3], p=[.5, .3, .2], size=500)]))
    waves = pd.Series(["Q1"] * 500 + ["Q2"] * 500 + ["Q3"] * 500)
    trend = wave_trend(scores, waves, kind="nps")
    assert np.isnan(trend.loc["Q1", "p_value"])
    assert trend.loc["Q3", "p_holm"] < 0.001 < trend.loc["Q2", "p_holm"]


def test_design_weights_sum_to_the_population():
    sample = pd.DataFrame({"region": ["E"] * 10 + ["W"] * 30})
    w = design_weights(sample, "region", {"E": 500, "W": 600})
    assert w.sum() == pytest.approx(1100)
    assert w.iloc[0] == pytest.approx(50)


def test_raking_matches_margins_and_keeps_the_odds_ratio():
    """IPF converges to the table with the target margins and the seed's odds ratio
    (Bishop, Fienberg & Holland 1975, *Discrete Multivariate Analysis*, ch. 3)."""
    seed_counts = {("m", "y"): 30, ("m", "o"): 10, ("f", "y"): 20, ("f", "o"): 40}
    sample = pd.DataFrame([k for k, n in seed_counts.items() for _ in range(n)],
                          columns=["sex", "age"])
    w = rake(sample, {"sex": pd.Series({"m": 0.5, "f": 0.5}),
                      "age": pd.Series({"y": 300, "o": 700})})
    cells = w.groupby([sample["sex"], sample["age"]]).sum() / w.sum()
    assert cells.groupby(level=0).sum().to_numpy() == pytest.approx([0.5, 0.5])
    assert cells.xs("y", level=1).sum() == pytest.approx(0.3)
    odds = (cells["m", "y"] * cells["f", "o"]) / (cells["m", "o"] * cells["f", "y"])
    assert odds == pytest.approx((30 * 40) / (10 * 20))
    one = rake(sample, {"sex": pd.Series({"m": 1, "f": 3})})
    assert one.to_numpy() == pytest.approx(
        poststratify(sample, "sex", pd.Series({"m": 1, "f": 3})).to_numpy())
    with pytest.raises(ValueError, match="no respondents"):
        rake(sample, {"sex": pd.Series({"m": 1, "f": 1, "x": 1})})


def test_nps_from_totals_is_nps_summary_on_its_sufficient_statistics():
    """What an engine counts in one pass (answers; weight sums of all, promoters, detractors;
    squared weights) gives the summary of the answers themselves, interval included (the
    Rocks 2016 Wald interval with Kish's effective n); no answers give the empty summary."""
    rng = np.random.default_rng(16)
    scores = pd.Series(rng.integers(0, 11, 500).astype(float))
    weights = pd.Series(rng.uniform(0.2, 3.0, 500))
    expected = nps_summary(scores, weights)
    ours = nps_from_totals(500, weights.sum(), (weights**2).sum(),
                           weights[scores >= 9].sum(), weights[scores <= 6].sum())
    pd.testing.assert_series_equal(ours, expected, rtol=1e-12)
    assert 0 < expected["n_effective"] < 500 and expected["ci_low"] < expected["nps"]
    empty = nps_from_totals(0, 0.0, 0.0, 0.0, 0.0)
    pd.testing.assert_series_equal(empty, nps_summary(pd.Series([], dtype=float)))
