"""The programme's incremental effect: matching on pre-enrolment RFM recovers an effect planted
in simulated purchases where enrolment depends on the year before (and the naive comparison of
members with non-members is visibly biased), and the difference-in-differences equals
statsmodels' OLS with the interaction term and cluster-robust errors on the same data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from patronage.analytics.incrementality import (
    NoComparison,
    did,
    programme_effect,
    smd_table,
)

START = pd.Period("2022-01", "M")


def simulate(seed: int = 11, customers: int = 3000, months: int = 36, effect: float = 0.25):
    """Customers buying ``Poisson(rate)`` times a month at their own typical amount; from month
    12 to 23 each non-member joins with a probability that rises with their purchases in the
    12 months before and falls with the months since their last purchase (observable RFM
    only); after joining a member buys ``effect`` × rate more often. Returns the transactions,
    the members and each member's true extra spend and purchases in the 12 months after the
    month they joined (the simulation's own counterfactual)."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(1.5, 0.5 / 1.5, customers)
    typical = np.exp(rng.normal(np.log(150), 0.5, customers))
    base = rng.poisson(rate[:, None], (customers, months))
    extra = rng.poisson((rate * effect)[:, None], (customers, months))
    joined = np.full(customers, -1)
    for m in range(12, 24):
        before = base[:, m - 12:m]
        frequency = before.sum(axis=1)
        since = np.where(before.any(axis=1), 12 - np.argmax(before[:, ::-1] > 0, axis=1), 13)
        score = -4.6 + 1.1 * np.log1p(frequency) - 0.5 * np.log(since)
        new = (joined < 0) & (rng.random(customers) < 1 / (1 + np.exp(-score)))
        joined[new] = m
    after = (joined[:, None] >= 0) & (np.arange(months)[None, :] > joined[:, None])
    count = base + np.where(after, extra, 0)
    who, month = np.nonzero(count)
    who, month = np.repeat(who, count[who, month]), np.repeat(month, count[who, month])
    amount = typical[who] * rng.gamma(4, 0.25, len(who))
    # Within a customer-month the first purchases are the ones without the programme.
    key = who * months + month
    order = np.argsort(key, kind="stable")
    _, first, sizes = np.unique(key[order], return_index=True, return_counts=True)
    rank = np.empty(len(key), dtype=int)
    rank[order] = np.arange(len(key)) - np.repeat(first, sizes)
    planted = rank >= base[who, month]
    gained = np.zeros((customers, months))
    np.add.at(gained, (who[planted], month[planted]), amount[planted])
    starts = np.array([(START + int(m)).start_time for m in range(months)])
    tx = pd.DataFrame({"customer_id": [f"C{i:05d}" for i in who],
                       "occurred_at": pd.to_datetime(starts[month])
                       + pd.to_timedelta(rng.integers(0, 28, len(who)), "D"),
                       "amount": amount.round(2), "is_refund": False})
    ids = np.flatnonzero(joined >= 0)
    members = pd.DataFrame({"customer_id": [f"C{i:05d}" for i in ids],
                            "joined_on": [(START + int(joined[i])).start_time
                                          + pd.Timedelta(days=9) for i in ids]})
    truth = pd.DataFrame({
        "spend": [gained[i, joined[i] + 1:joined[i] + 13].sum() for i in ids],
        "purchases": [(count - base)[i, joined[i] + 1:joined[i] + 13].sum() for i in ids]},
        index=members["customer_id"])
    return tx, members, truth


@pytest.fixture(scope="module")
def simulated():
    tx, members, truth = simulate()
    return tx, members, truth, programme_effect(tx, members, observed_until="2024-12-31")


def test_matching_recovers_the_planted_effect_and_the_naive_comparison_does_not(simulated):
    """Stuart (2010), *Matching methods for causal inference*, Statistical Science 25(1): with
    enrolment depending on the pre-period only, members matched to non-members on it estimate
    the effect on the treated; comparing all members with all non-members does not."""
    _tx, _members, truth, effect = simulated
    matched = effect.sample.loc[effect.sample["role"] == "treated", "customer"]
    for outcome in ("spend", "purchases"):
        true = truth.loc[matched, outcome].mean()
        found, naive = effect.estimate(outcome), effect.estimate(outcome, "naive")
        assert found["low"] < true < found["high"], (outcome, true, found)
        assert naive["estimate"] > 1.8 * true and naive["low"] > found["high"], (outcome, naive)
        assert found["high"] - found["low"] < true  # informative, not just wide
    assert effect.overstatement > 1.8
    # Retention was not planted beyond the extra purchases: its effect is small.
    assert abs(effect.estimate("retained")["estimate"]) < 0.1


def test_matching_balances_the_year_before(simulated):
    balance = simulated[3].balance
    assert (balance["smd_before"].abs() > 0.3).all()
    assert (balance["smd_after"].abs() < 0.1).all()
    # The table's own numbers: the SMD is the difference of means over the pooled SD.
    effect = simulated[3]
    treated = effect.sample.loc[effect.sample["role"] == "treated"]
    controls = effect.sample.loc[effect.sample["role"] == "control"]
    row = balance.loc["frequency"]
    assert row["matched_treated_mean"] == pytest.approx(treated["frequency"].mean())
    assert row["matched_mean"] == pytest.approx(np.average(controls["frequency"],
                                                           weights=controls["weight"]))
    assert row["treated_mean"] > row["matched_treated_mean"]  # the unmatched are heavy buyers


def test_difference_in_differences_equals_statsmodels_cluster_robust_ols(simulated):
    """Angrist & Pischke (2009), *Mostly Harmless Econometrics*, ch. 5: the DiD is the
    interaction's coefficient; its cluster-robust (CR1) SE and t interval on G−1 degrees of
    freedom as statsmodels computes them."""
    effect = simulated[3]
    sample = effect.sample
    long = pd.concat([sample.assign(y=sample["pre_spend"], post=0.0),
                      sample.assign(y=sample["spend"], post=1.0)], ignore_index=True)
    mine = did(long, outcome="y", treated="treated", post="post", cluster="customer",
               weight="weight")
    groups = pd.factorize(long["customer"])[0]
    reference = smf.wls("y ~ treated * post", data=long, weights=long["weight"]).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    assert mine["estimate"] == pytest.approx(reference.params["treated:post"], rel=1e-9)
    assert mine["se"] == pytest.approx(reference.bse["treated:post"], rel=1e-9)
    low, high = reference.conf_int().loc["treated:post"]
    assert (mine["low"], mine["high"]) == (pytest.approx(low), pytest.approx(high))
    assert mine["p_value"] == pytest.approx(reference.pvalues["treated:post"])
    reported = effect.estimate("spend", "did")
    assert reported["estimate"] == pytest.approx(mine["estimate"])
    # Members' change minus the matched customers' change.
    assert reported["estimate"] == pytest.approx(reported["treated_mean"]
                                                 - reported["control_mean"])


def test_difference_in_differences_with_weights_and_unequal_clusters():
    rng = np.random.default_rng(4)
    rows = []
    for unit in range(40):
        treated = float(unit < 15)
        level = rng.normal(100, 20)
        for post in (0.0, 1.0):
            for _ in range(int(rng.integers(1, 4))):
                rows.append({"unit": f"u{unit}", "treated": treated, "post": post,
                             "w": float(rng.choice([0.5, 1.0])),
                             "y": level + 5 * post + 12 * treated * post + rng.normal(0, 8)})
    frame = pd.DataFrame(rows)
    mine = did(frame, cluster="unit", weight="w")
    reference = smf.wls("y ~ treated * post", data=frame, weights=frame["w"]).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(frame["unit"])[0]}, use_t=True)
    assert mine["estimate"] == pytest.approx(reference.params["treated:post"])
    assert mine["se"] == pytest.approx(reference.bse["treated:post"])
    assert mine["clusters"] == 40
    with pytest.raises(ValueError, match="missing"):
        did(frame.assign(y=np.where(frame.index == 3, np.nan, frame["y"])), cluster="unit")


def test_who_is_compared_and_who_is_left_out(simulated):
    tx, members, _truth, effect = simulated
    counts = effect.counts
    assert counts["members"] == len(members)
    assert (counts["eligible"] + counts["no_history"] + counts["no_follow_up"]
            == counts["members"])
    assert counts["matched"] + counts["unmatched"] == counts["eligible"]
    # Members of the first programme month whose first purchase came after month 0 lack a year
    # of history; nobody joined late enough to lack follow-up.
    assert counts["no_history"] > 0 and counts["no_follow_up"] == 0
    # A data end in the middle of a month leaves that month out: with six fewer months the
    # members of the programme's last six months have no full year after joining.
    shorter = programme_effect(tx, members, observed_until="2024-06-15")
    assert shorter.settings["last_month"] == "2024-05"
    assert shorter.counts["no_follow_up"] > 0
    with pytest.raises(NoComparison):
        programme_effect(tx, members, observed_until="2023-12-31")


def test_smd_uses_the_spread_before_matching():
    treated = pd.DataFrame({"x": [2.0, 4.0]})
    candidates = pd.DataFrame({"x": [0.0, 2.0, 4.0, 6.0]})
    matched = pd.DataFrame({"x": [2.0, 6.0]})
    table = smd_table(treated, candidates, treated, matched, matched_weights=[3, 1],
                      features=["x"])
    pooled = math.sqrt((np.var([2, 4], ddof=1) + np.var([0, 2, 4, 6], ddof=1)) / 2)
    assert table.loc["x", "smd_before"] == pytest.approx((3 - 3) / pooled)
    assert table.loc["x", "matched_mean"] == pytest.approx(3.0)
    assert table.loc["x", "smd_after"] == pytest.approx(0.0)


def test_a_short_history_is_compared_on_fewer_months_before_joining(simulated):
    """A programme younger than its purchase history allows: with 4 months of purchases before
    the first members joined, 12 months before joining leave few members to compare; the
    automatic choice compares fewer months (the most that leave ``min_n`` members) and still
    recovers the planted effect."""
    tx, members, truth, _effect = simulated
    short = tx.loc[tx["occurred_at"] >= "2022-09-01"]
    full_year = programme_effect(short, members, observed_until="2024-12-31", pre_months=12)
    assert full_year.counts["eligible"] < 300
    effect = programme_effect(short, members, observed_until="2024-12-31", pre_months=None,
                              min_n=300)
    months = effect.settings["pre_months"]
    assert 3 <= months < 12 and effect.counts["eligible"] >= 300
    matched = effect.sample.loc[effect.sample["role"] == "treated", "customer"]
    true = truth.loc[matched, "spend"].mean()
    found = effect.estimate("spend")
    assert found["low"] < true < found["high"]
    # The pre-period is counted per 12 months for the difference-in-differences.
    treated = effect.sample.loc[effect.sample["role"] == "treated"]
    assert treated["pre_purchases"].to_numpy() == pytest.approx(
        treated["frequency"].to_numpy() * 12 / months)
    with pytest.raises(NoComparison):
        programme_effect(short.loc[short["occurred_at"] >= "2023-10-01"], members,
                         observed_until="2024-12-31", pre_months=None)
