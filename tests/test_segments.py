"""Value tiers, whale curve, quadrants and retention economics (patronage.analytics.segments)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from patronage.analytics.segments import (
    advocacy_segments,
    allocate_cost_to_serve,
    jones_sasser,
    retention_by_satisfaction,
    retention_economics,
    value_tiers,
    whale_curve,
    whale_figures,
)


def test_value_tiers_sizes_and_order():
    rng = np.random.default_rng(5)
    clv = pd.Series(rng.lognormal(5, 1, 1000))
    clv.iloc[3] = np.nan
    out = value_tiers(clv)
    # 999 valued customers: top 1% = 9 (rank/999 <= 0.01), 5% = 49, 20% = 199.
    counts = out["tier"].value_counts()
    assert counts["platinum"] == 9 and counts["gold"] == 40 and counts["silver"] == 150
    assert counts["bronze"] == 800 and pd.isna(out["tier"].iloc[3])
    assert out["decile"].value_counts().max() - out["decile"].value_counts().min() <= 1
    assert out.loc[clv.idxmax(), "tier"] == "platinum" and out.loc[clv.idxmax(), "decile"] == 1
    # every platinum customer is worth more than every gold one
    assert out.loc[out.tier == "platinum", "value"].min() > out.loc[out.tier == "gold",
                                                                      "value"].max()
    with pytest.raises(ValueError, match="tiers"):
        value_tiers(clv, tiers={"x": 1.5})


PROFIT = pd.Series({"a": 50.0, "b": 30.0, "c": 20.0, "d": 10.0, "e": -5.0, "f": -5.0})


def test_whale_curve_hand_example():
    # Kaplan & Cooper (1998) whale curve: cumulative profit 50, 80, 100, 110, 105, 100 (% of
    # the total 100) rises above 100% and falls back.
    curve = whale_curve(PROFIT)
    np.testing.assert_allclose(curve["cumulative_profit_pct"], [0, 50, 80, 100, 110, 105, 100])
    np.testing.assert_allclose(curve["customers_pct"], np.arange(7) * 100 / 6)
    assert curve["customer"].iloc[1] == "a"


def test_whale_figures_hand_example():
    fig = whale_figures(PROFIT, revenue_per_customer=pd.Series([40, 30, 10, 10, 5, 5]))
    assert fig["peak_profit_pct"] == pytest.approx(110)
    assert fig["peak_customers_pct"] == pytest.approx(400 / 6)
    assert fig["customers_pct_for_80pct_profit"] == pytest.approx(200 / 6)
    assert fig["customers_pct_for_80pct_revenue"] == pytest.approx(300 / 6)  # 40+30+10 = 80
    assert fig["top_profit_pct"] == pytest.approx(50)  # round(0.2 * 6) = 1 customer
    assert fig["bottom_profit_pct"] == pytest.approx(-10)  # round(0.3 * 6) = 2 customers
    assert fig["unprofitable_customers_pct"] == pytest.approx(200 / 6)
    with pytest.raises(ValueError, match="positive total"):
        whale_figures(pd.Series([-1.0, 0.5]))


def test_allocate_cost_to_serve():
    touch = pd.DataFrame({"customer_id": [1, 1, 2, 2, 2], "kind": ["call", "visit", "call",
                                                                    "call", "email"]})
    cases = pd.DataFrame({"customer_id": [2], "type": ["complaint"]})
    out = allocate_cost_to_serve(touch, cases, [1, 2, 3],
                                 cost_per_touchpoint={"call": 5, "visit": 50, "email": 1},
                                 cost_per_case=40)
    assert out["touchpoint_cost"].tolist() == [55.0, 11.0, 0.0]
    assert out["case_cost"].tolist() == [0.0, 40.0, 0.0]
    assert out["cost_to_serve"].tolist() == [55.0, 51.0, 0.0]
    with pytest.raises(ValueError, match="email"):
        allocate_cost_to_serve(touch, None, [1, 2], cost_per_touchpoint={"call": 5, "visit": 1},
                               cost_per_case=0)
    with pytest.raises(ValueError, match="not in customers"):
        allocate_cost_to_serve(touch, None, [1], cost_per_touchpoint=1, cost_per_case=0)


def test_jones_sasser_quadrants():
    sat = pd.Series([5, 5, 3, 2, np.nan], index=list("abcde"))
    loyal = pd.Series([9, 4, 10, 1, 8], index=list("abcde"))
    q = jones_sasser(sat, loyal, sat_cut=5, loyal_cut=8)
    assert q.iloc[:4].tolist() == ["apostle", "mercenary", "hostage", "defector"]
    assert pd.isna(q["e"])


def test_advocacy_segments_rules():
    rec = pd.Series([10, 10, 5, 9, 7, np.nan])
    switch = pd.Series([1, 5, 5, 2, 2, 5])
    price = pd.Series([2, 5, 1, 3, 5, 1])
    kinds = advocacy_segments(rec, switch, price)
    assert kinds.iloc[:5].tolist() == ["advocate", "user", "user", "advocate", "comparer"]
    assert pd.isna(kinds.iloc[5])


def test_retention_by_satisfaction_wilson_matches_statsmodels():
    sat = pd.Series([5] * 40 + [4] * 30 + [3] * 10 + [np.nan] * 5)
    kept = pd.Series([True] * 36 + [False] * 4 + [True] * 21 + [False] * 9 + [True] * 5
                     + [False] * 5 + [True] * 5)
    out = retention_by_satisfaction(sat, kept)
    assert out["n"].tolist() == [10.0, 30.0, 40.0]
    np.testing.assert_allclose(out["retention"], [0.5, 0.7, 0.9])
    for level, k, n in [(3.0, 5, 10), (4.0, 21, 30), (5.0, 36, 40)]:
        lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert out.loc[level, "ci_low"] == pytest.approx(lo, abs=1e-9)
        assert out.loc[level, "ci_high"] == pytest.approx(hi, abs=1e-9)


def test_retention_economics_hand_example():
    # Gupta & Lehmann (2003): CLV = m r / (1 + d - r). m = 100, d = 10%:
    # r = 0.80 -> 100 * 0.8 / 0.3 = 266.67; r = 0.85 -> 100 * 0.85 / 0.25 = 340.
    out = retention_economics(pd.Series([100.0, 100.0]), retention_now=0.8, delta_points=5,
                              discount=0.1)
    assert out["base_value"] == pytest.approx(2 * 800 / 3)
    assert out["new_value"] == pytest.approx(680.0)
    assert out["difference"] == pytest.approx(680 - 1600 / 3)
    assert out["pct_change"] == pytest.approx(27.5)
    # The closed form equals the discounted sum of m r^t / (1 + d)^t over t >= 1.
    t = np.arange(1, 2000)
    series = np.sum(100 * 0.8**t / 1.1**t)
    assert out["base_value"] / 2 == pytest.approx(series, rel=1e-9)
    # margin scales everything; pct change does not move.
    half = retention_economics(pd.Series([100.0, 100.0]), retention_now=0.8, delta_points=5,
                               margin=0.5, discount=0.1)
    assert half["base_value"] == pytest.approx(out["base_value"] / 2)
    assert half["pct_change"] == pytest.approx(27.5)
    with pytest.raises(ValueError, match="percentage points"):
        retention_economics(pd.Series([1.0]), retention_now=0.97, delta_points=5)


def test_retention_economics_from_summary():
    summary = pd.DataFrame({"total_spend": [730.5], "T": [364.25]})  # 730.5/yr * 365.25/365.25
    out = retention_economics(summary, retention_now=0.5, delta_points=10, discount=0.0)
    assert out["base_value"] == pytest.approx(730.5 * 0.5 / 0.5)
    assert out["new_value"] == pytest.approx(730.5 * 0.6 / 0.4)
