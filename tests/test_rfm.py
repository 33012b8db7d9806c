"""RFM scores and segments (patronage.analytics.rfm)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patronage.analytics.btyd import customer_summary
from patronage.analytics.rfm import DEFAULT_RFM_RULES, rfm_scores, rfm_segments


def _tx(rows):
    return pd.DataFrame(rows, columns=["customer_id", "occurred_at", "amount", "is_refund"]).assign(
        occurred_at=lambda d: pd.to_datetime(d["occurred_at"]))


@pytest.fixture
def five_customers():
    # Hand example: five customers, observation end 2024-01-31.
    return _tx([
        ("a", "2024-01-30", 100.0, False), ("a", "2024-01-20", 100.0, False),
        ("a", "2024-01-10", 100.0, False), ("a", "2024-01-10", 50.0, False),
        ("b", "2024-01-25", 40.0, False), ("b", "2024-01-05", 40.0, False),
        ("c", "2024-01-15", 500.0, False),
        ("d", "2024-01-01", 10.0, False), ("d", "2024-01-02", 10.0, False),
        ("d", "2024-01-03", 10.0, False), ("d", "2024-01-04", 10.0, False),
        ("e", "2024-01-31", 30.0, False), ("e", "2024-01-31", -30.0, True),
    ])


def test_hand_example_values_scores_and_code(five_customers):
    out = rfm_scores(five_customers, observation_end="2024-01-31")
    # recency: days from the last purchase to the end; frequency: purchase days; monetary: net.
    assert out["recency_days"].to_dict() == {"a": 1.0, "b": 6.0, "c": 16.0, "d": 27.0, "e": 0.0}
    assert out["frequency"].to_dict() == {"a": 3.0, "b": 2.0, "c": 1.0, "d": 4.0, "e": 1.0}
    assert out["monetary"].to_dict() == {"a": 350.0, "b": 80.0, "c": 500.0, "d": 40.0, "e": 0.0}
    # Five customers, five bins: each score used once, 5 = most recent / frequent / spending.
    assert out["R"].tolist() == [4, 3, 2, 1, 5]
    # F ties (c, e both 1) broken by row order (method="first"): c ranks below e.
    assert out["F"].tolist() == [4, 3, 1, 5, 2]
    assert out["M"].tolist() == [4, 3, 5, 2, 1]
    assert out["rfm_code"].tolist() == ["444", "333", "215", "152", "521"]
    # FM = round_half_up((F+M)/2): a 4 -> champions (R4); e (R5, FM 2) potential loyalist.
    assert out.loc["a", "segment"] == "champions"
    assert out.loc["e", "segment"] == "potential_loyalist"
    assert out.loc["d", "segment"] == "cannot_lose"  # R1, FM round(3.5) = 4


def test_balanced_bins_agree_with_pandas_qcut_of_first_ranks():
    # Reference: pandas.qcut on ranks(method="first") gives equal-count quintiles.
    rng = np.random.default_rng(3)
    summary = pd.DataFrame({"frequency": rng.poisson(0.7, 1000).astype(float),
                            "recency": 0.0, "T": rng.integers(0, 50, 1000).astype(float),
                            "total_spend": rng.gamma(2, 30, 1000)})
    out = rfm_scores(summary)
    expected_f = pd.qcut((summary["frequency"] + 1).rank(method="first"), 5, labels=False) + 1
    assert (out["F"].astype(int) == expected_f).all()
    expected_r = pd.qcut(summary["T"].rank(method="first", ascending=False), 5,
                         labels=False) + 1
    assert (out["R"].astype(int) == expected_r).all()
    for col in "RFM":
        assert out[col].value_counts().tolist() == [200] * 5  # balanced despite ties


def test_fewer_values_than_bins_does_not_crash():
    summary = pd.DataFrame({"frequency": [0.0, 0.0], "recency": [0.0, 0.0], "T": [3.0, 3.0]})
    out = rfm_scores(summary)
    assert out["R"].tolist() == [3, 5]  # ceil(i * 5 / 2)
    assert out["M"].isna().all()  # no spend column: M unknown, not 0
    assert out["rfm_code"].tolist() == ["33-", "55-"]
    # Without M, FM = F: (R3, F3) need attention, (R5, F5) champions.
    assert out["segment"].tolist() == ["need_attention", "champions"]


def test_summary_and_transactions_give_the_same_scores(five_customers):
    sales = five_customers[~five_customers["is_refund"]]
    summary = customer_summary(sales, "customer_id", "occurred_at", "amount",
                               observation_period_end="2024-01-31", freq="D")
    from_summary = rfm_scores(summary)
    from_tx = rfm_scores(sales, observation_end="2024-01-31")
    pd.testing.assert_frame_equal(from_summary, from_tx)
    # observation_end on a summary uses its last_purchase column.
    later = rfm_scores(summary, observation_end="2024-02-10")
    assert (later["recency_days"] == from_summary["recency_days"] + 10).all()


def test_default_rules_cover_every_cell_once():
    grid = pd.DataFrame([(r, f, f) for r in range(1, 6) for f in range(1, 6)],
                        columns=["R", "F", "M"])
    seg = rfm_segments(grid)
    assert seg.notna().all()
    cells = dict(zip(zip(grid["R"], grid["F"]), seg))
    assert cells[(5, 5)] == "champions"
    assert cells[(5, 1)] == "new"
    assert cells[(4, 1)] == "promising"
    assert cells[(1, 5)] == "cannot_lose"
    assert cells[(1, 1)] == "lost"
    assert cells[(2, 4)] == "at_risk"
    assert cells[(3, 1)] == "about_to_sleep"
    assert set(seg) == {r["segment"] for r in DEFAULT_RFM_RULES}


def test_custom_rules_first_match_wins_and_unmatched_is_nan():
    scores = pd.DataFrame({"R": [5, 5, 1], "F": [5, 1, 1], "M": [5, 1, 1]})
    rules = [{"segment": "top", "r": (4, 5), "fm": (4, 5)},
             {"segment": "recent", "r": (4, 5), "fm": (1, 5)}]
    seg = rfm_segments(scores, rules=rules)
    assert seg.iloc[0] == "top" and seg.iloc[1] == "recent" and pd.isna(seg.iloc[2])


def test_bad_input_raises():
    with pytest.raises(ValueError, match="reversed"):
        rfm_segments(pd.DataFrame({"R": [1], "F": [1]}),
                     rules=[{"segment": "x", "r": (5, 1), "fm": (1, 5)}])
    with pytest.raises(ValueError, match="bins"):
        rfm_scores(pd.DataFrame({"frequency": [0.0], "recency": [0.0], "T": [1.0]}), bins=1)
    with pytest.raises(ValueError, match="customer_id"):
        rfm_scores(pd.DataFrame({"when": [1]}))
    with pytest.raises(ValueError, match="1-5"):
        rfm_segments(pd.DataFrame({"R": [7], "F": [7]}))


def test_inputs_not_mutated(five_customers):
    copy = five_customers.copy()
    rfm_scores(five_customers)
    pd.testing.assert_frame_equal(five_customers, copy)


@pytest.mark.slow
def test_one_million_transactions_in_seconds():
    import time
    rng = np.random.default_rng(0)
    n = 1_000_000
    tx = pd.DataFrame({"customer_id": rng.integers(0, 100_000, n),
                       "occurred_at": pd.Timestamp("2023-01-01")
                       + pd.to_timedelta(rng.integers(0, 365 * 86_400, n), unit="s"),
                       "amount": rng.gamma(2, 20, n)})
    start = time.perf_counter()
    out = rfm_scores(tx)
    assert time.perf_counter() - start < 10
    assert out["segment"].notna().all()
