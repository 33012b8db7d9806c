"""Tests for patronage.surveys.sampling.

References: W. G. Cochran (1977), *Sampling Techniques*, 3rd ed., Wiley — §2.2 (simple random
sampling, weight N/n), §5.3 (proportional allocation n_h = n N_h / N), §5.5 eq. 5.26 (Neyman
allocation n_h = n N_h S_h / Σ N_h S_h); J. Neyman (1934), JRSS 97:558. Integer sizes by the
largest-remainder (Hamilton) method. Design weights are cross-checked against
patronage.analytics.weighting.design_weights.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patronage.analytics.weighting import design_weights
from patronage.surveys.sampling import (allocate, apply_quotas, eligible, simple_random,
                                        stratified, targeted)


@pytest.fixture
def panel():
    sizes = {"North": 100, "South": 200, "West": 300}
    region = [r for r, k in sizes.items() for _ in range(k)]
    return pd.DataFrame({
        "customer_id": [f"C{i:03d}" for i in range(600)],
        "region": region,
        "size": np.where(np.arange(600) % 10 == 0, "key account", "small"),
        "consent_survey": True,
        "email": "someone@example.com",
        "revenue": np.arange(600, dtype=float),
    })


# --------------------------------------------------------------------------- allocation

def test_neyman_allocation_cochran_hand_example():
    # N_h = [100, 200, 300], S_h = [10, 5, 2], n = 60: N_h S_h = [1000, 1000, 600], sum 2600,
    # n_h = 60 * [1000, 1000, 600] / 2600 = [23.08, 23.08, 13.85] -> floors [23, 23, 13] = 59;
    # the one left goes to the largest remainder (0.85, third stratum) -> [23, 23, 14].
    population = pd.Series({"A": 100, "B": 200, "C": 300})
    sizes = allocate(population, 60, allocation="neyman", sd={"A": 10, "B": 5, "C": 2})
    assert sizes.tolist() == [23, 23, 14]


def test_proportional_allocation_hand_example():
    # N_h = [50, 30, 20], n = 15: 15 * [.5, .3, .2] = [7.5, 4.5, 3.0] -> floors [7, 4, 3] = 14;
    # remainders tie at 0.5, the earlier stratum gets the extra unit -> [8, 4, 3].
    sizes = allocate(pd.Series({"a": 50, "b": 30, "c": 20}), 15)
    assert sizes.tolist() == [8, 4, 3]
    assert sizes.sum() == 15
    sizes = allocate(pd.Series({"a": 50, "b": 30, "c": 20}), 10)
    assert sizes.tolist() == [5, 3, 2]  # exact proportions 10 * N_h / N


def test_allocation_never_exceeds_stratum_and_redistributes_surplus():
    # Neyman with a huge SD in a 5-unit stratum would ask for ~27 units there; it is taken whole
    # and the remaining 25 are shared 1:1 by the other two strata (equal N_h S_h).
    population = pd.Series({"tiny": 5, "b": 100, "c": 100})
    sizes = allocate(population, 30, allocation="neyman", sd={"tiny": 1000, "b": 1, "c": 1})
    assert sizes["tiny"] == 5
    assert sizes.sum() == 30
    assert sorted(sizes[["b", "c"]].tolist()) == [12, 13]
    equal = allocate(pd.Series({"x": 2, "y": 50, "z": 50}), 30, allocation="equal")
    assert equal.tolist() == [2, 14, 14]


def test_min_per_stratum_and_errors():
    population = pd.Series({"big": 990, "small": 10})
    assert allocate(population, 20).tolist() == [20, 0]  # 19.8 / 0.2 -> [20, 0]
    assert allocate(population, 20, min_per_stratum=3).tolist() == [17, 3]
    with pytest.raises(ValueError, match="min_per_stratum"):
        allocate(population, 5, min_per_stratum=3)
    with pytest.raises(ValueError, match="larger than the 1000 eligible"):
        allocate(population, 1001)
    with pytest.raises(ValueError, match="needs sd"):
        allocate(population, 10, allocation="neyman")
    with pytest.raises(ValueError, match="no standard deviation for stratum"):
        allocate(population, 10, allocation="neyman", sd={"big": 2.0})
    with pytest.raises(ValueError, match="allocation must be one of"):
        allocate(population, 10, allocation="optimal")


# --------------------------------------------------------------------------- stratified sample

def test_stratified_sizes_weights_and_allocation_table(panel):
    sample = stratified(panel, "region", 60, seed=7)
    table = sample.attrs["allocation"]
    assert table["stratum"].tolist() == ["North", "South", "West"]
    assert table["n_h"].tolist() == [10, 20, 30]
    assert table["weight"].tolist() == [10.0, 10.0, 10.0]
    assert sample["stratum"].value_counts().sort_index().tolist() == [10, 20, 30]
    # weights sum to the population size of each stratum and agree with design_weights()
    totals = sample.groupby("stratum")["design_weight"].sum()
    assert totals.to_dict() == {"North": 100.0, "South": 200.0, "West": 300.0}
    expected = design_weights(sample, "stratum", {"North": 100, "South": 200, "West": 300})
    np.testing.assert_allclose(sample["design_weight"], expected)
    assert set(sample["customer_id"]) <= set(panel["customer_id"])
    assert sample["customer_id"].is_unique


def test_stratified_neyman_weights_sum_to_population(panel):
    sample = stratified(panel, "region", 60, allocation="neyman",
                        sd={"North": 10, "South": 5, "West": 2}, seed=1)
    assert sample.attrs["allocation"]["n_h"].tolist() == [23, 23, 14]
    np.testing.assert_allclose(sample.groupby("stratum")["design_weight"].sum(),
                               [100, 200, 300])


def test_stratified_multiple_columns_labels(panel):
    sample = stratified(panel, ["region", "size"], 30, seed=3,
                        allocation="equal")
    labels = set(sample.attrs["allocation"]["stratum"])
    assert labels == {f"{r} / {s}" for r in ("North", "South", "West")
                      for s in ("key account", "small")}
    assert len(sample) == 30
    sd = {(r, s): 1.0 for r in ("North", "South", "West") for s in ("key account", "small")}
    neyman = stratified(panel, ["region", "size"], 30, allocation="neyman", sd=sd, seed=3)
    assert len(neyman) == 30  # tuple keys are accepted for several columns


def test_horvitz_thompson_total_is_unbiased(panel):
    # Sum of design_weight * y estimates the population total without bias (Cochran 1977,
    # eq. 5.3); the Monte Carlo mean over 400 samples must be within 4 standard errors.
    truth = panel["revenue"].sum()
    estimates = []
    for seed in range(400):
        s = stratified(panel, "region", 30, allocation="neyman",
                       sd={"North": 29, "South": 58, "West": 87}, seed=seed)
        estimates.append((s["design_weight"] * s["revenue"]).sum())
    estimates = np.asarray(estimates)
    assert abs(estimates.mean() - truth) < 4 * estimates.std(ddof=1) / np.sqrt(len(estimates))


def test_determinism_and_inputs_unchanged(panel):
    before = panel.copy()
    a = stratified(panel, "region", 25, seed=42)
    b = stratified(panel, "region", 25, seed=42)
    c = stratified(panel, "region", 25, seed=43)
    pd.testing.assert_frame_equal(a, b)
    assert a["customer_id"].tolist() != c["customer_id"].tolist()
    pd.testing.assert_frame_equal(simple_random(panel, 9, seed=5), simple_random(panel, 9, seed=5))
    pd.testing.assert_frame_equal(panel, before)
    assert "stratum" not in panel.columns


def test_stratified_errors(panel):
    with pytest.raises(ValueError, match="no column"):
        stratified(panel, "segment", 10, seed=0)
    with pytest.raises(ValueError, match="larger than the 600 eligible"):
        stratified(panel, "region", 601, seed=0)
    holes = panel.assign(region=panel["region"].where(panel.index > 0))
    with pytest.raises(ValueError, match="missing values"):
        stratified(holes, "region", 10, seed=0)


# --------------------------------------------------------------------------- simple random

def test_simple_random(panel):
    sample = simple_random(panel, 12, seed=0)
    assert len(sample) == 12 and sample["customer_id"].is_unique
    assert (sample["design_weight"] == 50.0).all()  # N / n = 600 / 12
    assert (sample["stratum"] == "all").all()
    assert sample.index.is_monotonic_increasing
    with pytest.raises(ValueError, match="larger than"):
        simple_random(panel, 700, seed=0)
    with pytest.raises(ValueError, match="non-negative integer"):
        simple_random(panel, 2.5, seed=0)


def test_simple_random_inclusion_probability(panel):
    # Every unit is drawn with probability n / N = 0.1; over 300 draws the count of one unit is
    # Binomial(300, 0.1): mean 30, sd 5.2. All 600 counts must lie within 30 ± 6 sd.
    counts = pd.Series(0, index=panel["customer_id"])
    for seed in range(300):
        counts[simple_random(panel, 60, seed=seed)["customer_id"]] += 1
    assert counts.sum() == 300 * 60
    assert counts.between(30 - 6 * 5.2, 30 + 6 * 5.2).all()


# --------------------------------------------------------------------------- eligibility

def test_eligible_reasons():
    frame = pd.DataFrame({
        "customer_id": [1, 2, 3, 4, 5, 6],
        "consent_survey": [True, False, True, None, True, True],
        "email": ["a@x", "b@x", "", "d@x", None, "f@x"],
    })
    history = pd.DataFrame({"customer_id": [1, 3, 6, 6],
                            "invited_at": ["2026-05-01", "2026-01-02", "2025-01-01",
                                           "2026-04-03 15:30"]})
    ok, out = eligible(frame, history=history, today="2026-07-01", require_email=True)
    assert ok["customer_id"].tolist() == []
    reasons = dict(zip(out["customer_id"], out["reason"], strict=True))
    assert reasons == {
        1: "invited 2026-05-01, inside the 90-day quiet period",
        2: "no survey consent",
        3: "no e-mail address",
        4: "no survey consent",
        5: "no e-mail address",
        6: "invited 2026-04-03, inside the 90-day quiet period",  # the last invitation counts
    }
    ok, out = eligible(frame, history=history, today="2026-07-02", quiet_days=90)
    # 2026-04-03 is exactly 90 days before 2026-07-02: the quiet period is over.
    assert ok["customer_id"].tolist() == [3, 5, 6]
    assert set(out["customer_id"]) == {1, 2, 4}


def test_eligible_combines_reasons_and_keeps_input():
    frame = pd.DataFrame({"customer_id": ["x", "y"], "consent_survey": ["no", "yes"],
                          "email": ["", "y@x"]})
    before = frame.copy()
    ok, out = eligible(frame, today=pd.Timestamp("2026-01-01"), require_email=True)
    assert ok["customer_id"].tolist() == ["y"]
    assert out.to_dict("records") == [{"customer_id": "x",
                                       "reason": "no survey consent; no e-mail address"}]
    pd.testing.assert_frame_equal(frame, before)
    ok, out = eligible(frame, history=pd.DataFrame({"customer_id": [], "invited_at": []}),
                       today="2026-01-01", require_consent=False)
    assert len(ok) == 2 and out.empty
    with pytest.raises(ValueError, match="consent_survey"):
        eligible(frame.drop(columns="consent_survey"), today="2026-01-01")
    with pytest.raises(ValueError, match="today must be a date"):
        eligible(frame, today="not a date")


# --------------------------------------------------------------------------- targeted lists

def test_targeted_filters(panel):
    keys = targeted(panel, segment_filter={"size": ["key account"]})
    assert len(keys) == 60 and (keys["size"] == "key account").all()
    assert keys["design_weight"].isna().all()
    north = targeted(panel, query="region == 'North' and size == 'key account'")
    assert len(north) == 10
    both = targeted(panel, query="revenue >= 100", ids=["C000", "C100", "C101", "C999"])
    assert both["customer_id"].tolist() == ["C100", "C101"]
    assert both.attrs["unmatched_ids"] == ["C999"]


@pytest.mark.parametrize("query", [
    "region == @secret", "region.__class__ == 1", "`region` == 'North'",
    "region.str.len() > 3", "__import__('os')", "unknown == 1", "region ==",
])
def test_targeted_rejects_unsafe_or_bad_queries(panel, query):
    with pytest.raises(ValueError, match="query"):
        targeted(panel, query=query)


def test_targeted_errors(panel):
    with pytest.raises(ValueError, match="at least one"):
        targeted(panel)
    with pytest.raises(ValueError, match="no column"):
        targeted(panel, segment_filter={"tier": "gold"})


# --------------------------------------------------------------------------- quotas

def test_apply_quotas_caps_cells_and_adjusts_weights(panel):
    sample = stratified(panel, "region", 60, seed=11)
    capped = apply_quotas(sample, {"West": 12, "North": 50}, by="region", seed=2)
    assert capped["region"].value_counts().to_dict() == {"South": 20, "West": 12, "North": 10}
    # a random subsample of 12 out of 30 multiplies the weight by 30/12: stratum total stays N_h
    np.testing.assert_allclose(capped.groupby("region")["design_weight"].sum().sort_index(),
                               [100, 200, 300])
    report = capped.attrs["quotas"]
    assert report.to_dict("records") == [
        {"cell": "West", "available": 30, "quota": 12, "kept": 12},
        {"cell": "North", "available": 10, "quota": 50, "kept": 10}]
    assert "allocation" not in capped.attrs
    assert len(sample) == 60  # input unchanged
    again = apply_quotas(sample, {"West": 12, "North": 50}, by="region", seed=2)
    pd.testing.assert_frame_equal(capped, again)


def test_apply_quotas_on_two_columns(panel):
    capped = apply_quotas(panel, {("North", "small"): 5, ("West", "key account"): 0},
                          by=["region", "size"], seed=0)
    counts = capped.groupby(["region", "size"]).size()
    assert counts[("North", "small")] == 5
    assert ("West", "key account") not in counts.index
    assert counts[("South", "small")] == 180
    with pytest.raises(ValueError, match="has 1 value"):
        apply_quotas(panel, {"North": 5}, by=["region", "size"], seed=0)
    with pytest.raises(ValueError, match="non-negative integer"):
        apply_quotas(panel, {"North": -1}, by="region", seed=0)
