"""Complaint analysis: group comparisons checked against SciPy and statsmodels, and the service
recovering a recovery-paradox effect of known size from a simulated desk."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from patronage.analytics.recovery import compare_two, group_outcomes
from patronage.cases import analysis
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import answers, cases, customers, responses, surveys, transactions


def test_means_match_welch_t_test_of_scipy():
    rng = np.random.default_rng(1)
    groups = pd.Series(["a"] * 40 + ["b"] * 60)
    outcome = pd.Series(np.r_[rng.normal(8, 1.5, 40), rng.normal(7.2, 2.5, 60)])
    outcome[3] = np.nan  # missing is missing
    result = compare_two(groups, outcome, "a", "b")
    ref = stats.ttest_ind(outcome[:40].dropna(), outcome[40:], equal_var=False)
    assert result["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)
    ci = ref.confidence_interval(0.95)
    assert (result["ci_low"], result["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-10)
    table = group_outcomes(groups, outcome)
    assert table.loc["a", "n"] == 39
    sem = stats.sem(outcome[40:])
    expected = stats.t.interval(0.95, 59, loc=outcome[40:].mean(), scale=sem)
    assert (table.loc["b", "ci_low"], table.loc["b", "ci_high"]) == pytest.approx(expected)


def test_shares_match_statsmodels():
    groups = pd.Series(["a"] * 50 + ["b"] * 80)
    outcome = pd.Series([1.0] * 41 + [0.0] * 9 + [1.0] * 52 + [0.0] * 28)
    table = group_outcomes(groups, outcome, binary=True)
    low, high = proportion_confint(41, 50, method="wilson")
    assert (table.loc["a", "ci_low"], table.loc["a", "ci_high"]) == pytest.approx((low, high))
    z, p = proportions_ztest([41, 52], [50, 80])
    assert compare_two(groups, outcome, "a", "b", binary=True)["p_value"] == pytest.approx(p)
    with pytest.raises(ValueError, match="at least 2"):
        compare_two(groups, outcome, "a", "zzz")


START = datetime(2025, 1, 6, 9, 0)
TRUE_NPS = {"resolved_well": 8.6, "never_complained": 7.6, "resolved_badly": 4.8}
TRUE_RETENTION = {"resolved_well": 0.85, "never_complained": 0.70, "resolved_badly": 0.35}


@pytest.fixture
def desk_history(engine):
    """400 customers: 100 with a case resolved on time, 100 resolved late (or reopened), 200
    without a case; one later answer each drawn around the group's true mean, and a purchase
    within 180 days with the group's true probability."""
    rng = np.random.default_rng(2026)
    n = 400
    kind = (["resolved_well"] * 100 + ["resolved_badly"] * 100 + ["never_complained"] * 200)
    now = START
    people, orders, case_rows, resp, items = [], [], [], [], []
    for i, k in enumerate(kind, start=1):
        people.append({"id": i, "external_id": f"K{i:04d}", "name": f"客户{i}",
                       "region": "East China" if i % 2 else "North China",
                       "created_at": now, "updated_at": now})
        opened = START + timedelta(days=int(rng.integers(0, 60)))
        done = opened + timedelta(hours=20)
        if k != "never_complained":
            late = k == "resolved_badly"
            case_rows.append({"id": i, "customer_id": i, "type": "complaint", "status": "closed",
                              "subject": "投诉", "opened_at": opened,
                              "first_responded_at": opened + timedelta(hours=2),
                              "first_response_due_at": opened + timedelta(hours=4),
                              "resolution_due_at": done + timedelta(hours=-30 if late else 10),
                              "resolved_at": done, "closed_at": done,
                              "round": 2 if (late and i % 3 == 0) else 1,
                              "category": None, "channel": "phone", "severity": "normal"})
        answer_at = START + timedelta(days=120)
        score = float(np.clip(np.round(rng.normal(TRUE_NPS[k], 1.2)), 0, 10))
        resp.append({"id": i, "external_id": f"R{i}", "survey_id": 1, "customer_id": i,
                     "channel": "web", "submitted_at": answer_at, "weight": 1.0})
        items.append({"response_id": i, "item_code": "nps", "value_num": score,
                      "value_text": None})
        if rng.random() < TRUE_RETENTION[k]:
            orders.append({"external_id": f"T{i}", "customer_id": i, "amount": 100.0,
                           "occurred_at": START + timedelta(days=150), "is_refund": False})
    orders.append({"external_id": "END", "customer_id": 1, "amount": 1.0, "is_refund": False,
                   "occurred_at": START + timedelta(days=400)})
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, people)
        insert_rows(conn, surveys, [{"id": 1, "code": "rel", "title": "r", "status": "closed",
                                     "definition": {}, "created_at": now}])
        insert_rows(conn, responses, resp)
        insert_rows(conn, answers, items)
        insert_rows(conn, transactions, orders)
        insert_rows(conn, cases, case_rows)
    return engine, kind


@pytest.mark.db
def test_the_recovery_paradox_of_known_size_is_recovered(desk_history):
    engine, _kind = desk_history
    table = analysis.recovery_paradox(engine)
    for group, mean in TRUE_NPS.items():
        row = table.loc[group]
        assert row["n"] == (200 if group == "never_complained" else 100)
        assert row["ci_low"] - 0.3 < mean < row["ci_high"] + 0.3, group
    gain = table.loc["resolved_well - never_complained"]
    assert gain["ci_low"] > 0 and gain["p_value"] < 0.001   # the paradox, as planted
    kept = analysis.recovery_paradox(engine, retention=True)
    for group, share in TRUE_RETENTION.items():
        assert kept.loc[group, "ci_low"] - 0.05 < share < kept.loc[group, "ci_high"] + 0.05
    assert kept.loc["resolved_well - resolved_badly", "mean"] > 0.3


@pytest.mark.db
def test_volume_handling_and_coverage(desk_history):
    engine, _kind = desk_history
    by_region = analysis.volume(engine, "region")
    assert by_region["cases"].sum() == 200
    east = by_region.loc["East China"]
    assert east["per_1000_customers"] == pytest.approx(1000 * east["cases"] / 200)
    handled = analysis.handling(engine)
    assert handled.loc["first_response_hours", "value"] == pytest.approx(2.0)
    assert handled.loc["sla_compliance", "value"] == pytest.approx(0.5)
    assert handled.loc["reopen_rate", "n"] == 200
    coverage = analysis.detractor_coverage(engine)
    assert coverage.loc[0, "n"] > 0 and coverage.loc[0, "with_case"] == 0
    with pytest.raises(ValueError, match="Group cases by"):
        analysis.volume(engine, "planet")


@pytest.mark.db
def test_complaints_on_the_command_line(desk_history, db_url):
    import json

    from click.testing import CliRunner

    from patronage.cli import main

    def run(*args):
        result = CliRunner().invoke(main, ["analyze", "complaints", *args, "--db", db_url])
        assert result.exit_code == 0, result.output
        return result.stdout

    assert "resolved_well - never_complained" in run("--show", "paradox")
    volume = json.loads(run("--show", "volume", "--by", "region", "--format", "json"))
    assert sum(row["cases"] for row in volume) == 200
    assert "sla_compliance" in run("--show", "handling", "--format", "csv")
    bad = CliRunner().invoke(main, ["analyze", "complaints", "--by", "planet", "--db", db_url])
    assert bad.exit_code != 0 and "Group cases by" in bad.output


@pytest.mark.db
def test_volume_by_product_counts_the_last_product_bought_before_the_case(engine):
    now = START
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, [{"id": i, "external_id": f"P{i}", "name": f"p{i}",
                                       "created_at": now, "updated_at": now} for i in (1, 2, 3)])
        insert_rows(conn, transactions, [
            {"external_id": "a1", "customer_id": 1, "amount": 1.0, "product": "空调",
             "occurred_at": now, "is_refund": False},
            {"external_id": "a2", "customer_id": 1, "amount": 1.0, "product": "冰箱",
             "occurred_at": now + timedelta(days=5), "is_refund": False},
            {"external_id": "b1", "customer_id": 2, "amount": 1.0, "product": "空调",
             "occurred_at": now, "is_refund": False},
            {"external_id": "c1", "customer_id": 3, "amount": 1.0, "product": "冰箱",
             "occurred_at": now + timedelta(days=30), "is_refund": False}])
        insert_rows(conn, cases, [
            {"customer_id": 1, "type": "complaint", "status": "new", "subject": "s",
             "opened_at": now + timedelta(days=2)},     # after 空调, before 冰箱
            {"customer_id": 1, "type": "complaint", "status": "new", "subject": "s",
             "opened_at": now + timedelta(days=9)},     # after 冰箱
            {"customer_id": 2, "type": "complaint", "status": "new", "subject": "s",
             "opened_at": now + timedelta(days=1)},     # after 空调
            {"customer_id": 3, "type": "complaint", "status": "new", "subject": "s",
             "opened_at": now + timedelta(days=1)}])    # before any purchase
    table = analysis.volume(engine, "product")
    assert table["cases"].to_dict() == {"-": 1, "冰箱": 1, "空调": 2}
    # 空调 was bought by 2 customers, 冰箱 by 2: 2 and 1 cases per 2 buyers
    assert table.loc["空调", "per_1000_customers"] == pytest.approx(1000.0)
    assert table.loc["冰箱", "per_1000_customers"] == pytest.approx(500.0)


def test_retention_with_nobody_followed_for_the_whole_window_is_unknown_not_an_error():
    """Cases resolved less than the window ago: nobody's retention can be told yet (it was a
    TypeError from pandas, which broke the whole page)."""
    from patronage.cases.analysis import _retained

    moment = pd.Series(pd.to_datetime(["2026-05-01", "2026-05-20"]), index=[1, 2])
    bought = pd.DataFrame({"customer_id": [1, 2], "occurred_at": ["2026-05-02", "2026-05-21"]})
    found = _retained(bought, moment, 180, pd.Timestamp("2026-06-01"))
    assert list(found.index) == [1, 2] and found.isna().all()
