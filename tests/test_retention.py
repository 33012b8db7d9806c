"""Cohorts, retention curves, Kaplan-Meier, cross-buying and share of wallet
(patronage.analytics.retention)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.survfunc import SurvfuncRight

from patronage.analytics.retention import (
    cohort_matrix,
    cross_buying,
    kaplan_meier,
    repeat_purchase_rate,
    retention_curve,
    share_of_wallet,
)

# Freireich et al. (1963) 6-MP arm of the leukaemia remission trial (weeks; 0 = censored),
# as in Kleinbaum & Klein, "Survival Analysis: A Self-Learning Text", ch. 2.
SIX_MP_TIMES = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
SIX_MP_EVENT = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]


@pytest.fixture
def tx():
    # Hand example: monthly cohorts Jan (a, b, c) and Feb (d); data end in April.
    rows = [("a", "2024-01-03"), ("a", "2024-02-10"), ("a", "2024-04-01"),
            ("b", "2024-01-20"), ("b", "2024-01-25"), ("b", "2024-03-05"),
            ("c", "2024-01-31"),
            ("d", "2024-02-02"), ("d", "2024-03-02"), ("d", "2024-03-05"),
            ("a", "2024-03-09")]
    frame = pd.DataFrame(rows, columns=["customer_id", "occurred_at"])
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"])
    frame["amount"] = 10.0
    frame["category"] = ["food", "toys", "food", "food", "food", "books", "toys", "food",
                         "books", "books", "food"]
    frame["is_refund"] = False
    return frame


def test_cohort_matrix_hand_example(tx):
    cm = cohort_matrix(tx)
    assert [str(p) for p in cm.index] == ["2024-01", "2024-02"]
    assert cm["cohort_size"].tolist() == [3.0, 1.0]
    # Jan: active in months 0..3 = 3 (a,b,c), 1 (a), 2 (a,b), 1 (a).
    assert cm.loc[cm.index[0], "active"].tolist() == [3.0, 1.0, 2.0, 1.0]
    np.testing.assert_allclose(cm.loc[cm.index[0], "retention"], [1, 1 / 3, 2 / 3, 1 / 3])
    # Feb cohort: months 0..2 are Feb, Mar, Apr; month 3 (May) is not reached -> NaN, not 0.
    feb = cm.loc[cm.index[1], "active"]
    assert feb.iloc[:3].tolist() == [1.0, 1.0, 0.0] and np.isnan(feb.iloc[3])


def test_retention_curve_is_size_weighted(tx):
    curve = retention_curve(cohort_matrix(tx))
    # k=1: Jan 1 of 3, Feb 1 of 1 -> 2/4; k=2: (2 + 0) / 4; k=3: only Jan, 1/3.
    np.testing.assert_allclose(curve["retention"], [1.0, 0.5, 0.5, 1 / 3])
    assert curve["cohorts"].tolist() == [2, 2, 2, 1]
    # period retention on the same cohorts: k=2 -> 2 / 2; k=3 -> Jan 1 / 2.
    np.testing.assert_allclose(curve["period_retention"].iloc[1:], [0.5, 1.0, 0.5])
    np.testing.assert_allclose(curve["churn"].iloc[1:], [0.5, 0.0, 0.5])
    # transactions are accepted directly.
    pd.testing.assert_frame_equal(retention_curve(tx), curve)


def test_refunds_are_not_activity(tx):
    refund = pd.DataFrame({"customer_id": ["c"], "occurred_at": [pd.Timestamp("2024-03-01")],
                           "amount": [-10.0], "category": ["toys"], "is_refund": [True]})
    cm = cohort_matrix(pd.concat([tx, refund], ignore_index=True))
    assert cm.loc[cm.index[0], "active"].tolist() == [3.0, 1.0, 2.0, 1.0]


def test_repeat_purchase_rate(tx):
    # a, b and d bought on two or more days; c once.
    assert repeat_purchase_rate(tx) == pytest.approx(0.75)
    summary = pd.DataFrame({"frequency": [0.0, 2.0, np.nan, 1.0]})
    assert repeat_purchase_rate(summary) == pytest.approx(2 / 3)


def test_kaplan_meier_six_mp_textbook_values():
    km = kaplan_meier(SIX_MP_TIMES, np.array(SIX_MP_EVENT, dtype=bool))
    at = km.set_index("time")
    textbook = {6: 0.857, 7: 0.807, 10: 0.753, 13: 0.690, 16: 0.627, 22: 0.538, 23: 0.448}
    for t, s in textbook.items():
        assert at.loc[t, "survival"] == pytest.approx(s, abs=5e-4)
    assert at.loc[6, "at_risk"] == 21 and at.loc[6, "events"] == 3 and at.loc[6, "censored"] == 1
    assert at.loc[23, "at_risk"] == 6
    # Log-log 95% limits S^exp(±z·σ/log S), σ² = Greenwood's Σ d/(n(n−d)) (Kalbfleisch &
    # Prentice 2002, §1.4), worked out separately for these times (R's survfit with
    # conf.type = "log-log" uses the same construction; not re-run here).
    limits = {6: (0.620, 0.952), 7: (0.563, 0.923), 10: (0.503, 0.889),
                13: (0.432, 0.849), 16: (0.368, 0.805), 22: (0.268, 0.747), 23: (0.188, 0.680)}
    for t, (lo, hi) in limits.items():
        assert at.loc[t, "ci_low"] == pytest.approx(lo, abs=5e-4)
        assert at.loc[t, "ci_high"] == pytest.approx(hi, abs=5e-4)


def test_kaplan_meier_matches_statsmodels():
    rng = np.random.default_rng(11)
    t = np.round(rng.exponential(10, 300))
    e = rng.random(300) < 0.7
    km = kaplan_meier(t, e)
    sf = SurvfuncRight(t, e.astype(float))
    events = km[km["events"] > 0]
    np.testing.assert_allclose(events["time"], sf.surv_times)
    np.testing.assert_allclose(events["survival"], sf.surv_prob, rtol=1e-12)
    finite = np.isfinite(sf.surv_prob_se) & (sf.surv_prob > 0)
    np.testing.assert_allclose(events["se"].to_numpy()[finite], sf.surv_prob_se[finite],
                               rtol=1e-10)


def test_kaplan_meier_edges():
    km = kaplan_meier([1, 2, 2], [False, True, True])
    assert km["survival"].tolist() == [1.0, 0.0]
    assert km["ci_low"].iloc[0] == 1.0 and np.isnan(km["ci_low"].iloc[1])
    with pytest.raises(ValueError, match="True/False"):
        kaplan_meier([1, 2], [0, 2])
    with pytest.raises(ValueError, match=">= 0"):
        kaplan_meier([1, np.nan], [1, 1])


def test_cross_buying_hand_example(tx):
    n_cat, co = cross_buying(tx)
    assert n_cat.to_dict() == {"a": 2.0, "b": 2.0, "c": 1.0, "d": 2.0}
    # food buyers: a, b, d; toys: a, c; books: b, d.
    assert co.loc["food", "books"] == pytest.approx(2 / 3)
    assert co.loc["books", "food"] == pytest.approx(1.0)
    assert co.loc["toys", "food"] == pytest.approx(0.5)
    assert co.loc["toys", "books"] == 0.0
    assert np.diag(co).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="category"):
        cross_buying(tx.drop(columns="category"))


def test_share_of_wallet_unknown_is_nan_never_zero():
    spend = pd.Series({"a": 50.0, "b": 80.0, "c": 10.0, "d": np.nan, "e": 0.0})
    total = pd.Series({"a": 200.0, "b": 40.0, "c": np.nan, "d": 100.0, "e": 0.0})
    share = share_of_wallet(spend, total)
    assert share["a"] == pytest.approx(0.25)
    assert share["b"] == 1.0  # stated total below observed spend: capped
    assert share[["c", "d", "e"]].isna().all()
    with pytest.raises(ValueError, match="negative"):
        share_of_wallet(pd.Series([-1.0]), pd.Series([10.0]))


def test_bad_period_raises(tx):
    with pytest.raises(ValueError, match="period"):
        cohort_matrix(tx, period="fortnight")
    with pytest.raises(ValueError, match="cohort_matrix"):
        retention_curve(pd.DataFrame({"x": [1]}))
