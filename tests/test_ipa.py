"""Importance-performance analysis: quadrants of Martilla & James 1977 (J. Marketing 41(1):77-79).

High importance & low performance = "concentrate here", high & high = "keep up the good work",
low & low = "low priority", low importance & high performance = "possible overkill".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patronage.analytics.ipa import importance_performance

# Hand example: mean importance = (4.5 + 4.0 + 2.0 + 2.5 + 3.5)/5 = 16.5/5 = 3.3,
# mean performance = (2.0 + 4.5 + 2.5 + 4.0 + 3.0)/5 = 16/5 = 3.2.
IMPORTANCE = pd.Series({"price": 4.5, "speed": 4.0, "decor": 2.0, "parking": 2.5, "staff": 3.5})
PERFORMANCE = pd.Series({"price": 2.0, "speed": 4.5, "decor": 2.5, "parking": 4.0, "staff": 3.0})


def test_quadrants_hand_example_mean_cuts():
    out = importance_performance(IMPORTANCE, PERFORMANCE)
    assert out.attrs["importance_cut"] == pytest.approx(3.3)
    assert out.attrs["performance_cut"] == pytest.approx(3.2)
    # price 4.5 ≥ 3.3, 2.0 < 3.2 -> concentrate; speed high/high -> keep up;
    # decor 2.0/2.5 -> low priority; parking 2.5/4.0 -> overkill; staff 3.5 ≥ 3.3, 3.0 < 3.2.
    assert out["quadrant"].to_dict() == {
        "price": "concentrate_here", "speed": "keep_up", "decor": "low_priority",
        "parking": "possible_overkill", "staff": "concentrate_here",
    }
    assert list(out.columns) == ["importance", "performance", "quadrant"]


def test_median_and_fixed_cuts():
    # Median importance = 3.5, so staff (3.5) is high ("at or above the cut");
    # median performance = 3.0, so staff (3.0) is high too -> keep up.
    out = importance_performance(IMPORTANCE, PERFORMANCE, importance_cut="median",
                                 performance_cut="median")
    assert out.attrs["importance_cut"] == 3.5 and out.attrs["performance_cut"] == 3.0
    assert out.loc["staff", "quadrant"] == "keep_up"
    # Fixed cuts at the scale midpoint 3 of a 1-5 scale: decor importance 2.0 low, perf 2.5 low.
    fixed = importance_performance(IMPORTANCE, PERFORMANCE, importance_cut=3, performance_cut=3.5)
    assert fixed.loc["staff", "quadrant"] == "concentrate_here"
    assert fixed.loc["parking", "quadrant"] == "possible_overkill"
    assert fixed.loc["decor", "quadrant"] == "low_priority"


def test_nan_and_unaligned_attributes_get_no_quadrant_and_do_not_move_cuts():
    imp = pd.concat([IMPORTANCE, pd.Series({"wifi": np.nan})])
    perf = pd.concat([PERFORMANCE, pd.Series({"wifi": 1.0, "music": 5.0})])
    before = imp.copy()
    out = importance_performance(imp, perf)
    pd.testing.assert_series_equal(imp, before)
    assert pd.isna(out.loc["wifi", "quadrant"]) and pd.isna(out.loc["music", "quadrant"])
    assert np.isnan(out.loc["music", "importance"])
    # Cuts still 3.3 / 3.2: only attributes with both values count.
    assert out.attrs["importance_cut"] == pytest.approx(3.3)
    assert out.attrs["performance_cut"] == pytest.approx(3.2)
    assert out.loc["price", "quadrant"] == "concentrate_here"


def test_competitor_gap():
    competitor = pd.Series({"price": 3.0, "speed": 4.0, "decor": 2.5, "parking": 3.0})
    out = importance_performance(IMPORTANCE, PERFORMANCE, competitor_performance=competitor)
    # price 2.0 − 3.0 = −1.0 (behind); speed 4.5 − 4.0 = +0.5; staff has no competitor value.
    assert out.loc["price", "gap_vs_competitor"] == pytest.approx(-1.0)
    assert out.loc["speed", "gap_vs_competitor"] == pytest.approx(0.5)
    assert np.isnan(out.loc["staff", "gap_vs_competitor"])


def test_bad_input():
    with pytest.raises(ValueError, match="importance_cut"):
        importance_performance(IMPORTANCE, PERFORMANCE, importance_cut="mode")
    with pytest.raises(ValueError, match="performance_cut"):
        importance_performance(IMPORTANCE, PERFORMANCE, performance_cut=np.nan)
    with pytest.raises(ValueError, match="both"):
        importance_performance(pd.Series({"a": 1.0}), pd.Series({"b": 2.0}))
    with pytest.raises(ValueError, match="Series"):
        importance_performance([1, 2], PERFORMANCE)
    with pytest.raises(ValueError, match="duplicated"):
        importance_performance(pd.Series([1.0, 2.0], index=["a", "a"]), PERFORMANCE)
    with pytest.raises(ValueError, match="numeric"):
        importance_performance(pd.Series({"a": "high"}), pd.Series({"a": 2.0}))
