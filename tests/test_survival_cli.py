"""Contractual survival and retention from a customer table with tenure and churn columns (issue
10, item 28): Kaplan-Meier per group with a log-rank test, a readable table (time unit, selected
points, median) through ``patronage analyze survival --file``.

References
----------
* Freireich et al. (1963) remission data of 42 leukaemia patients (6-MP against placebo), the
  worked example of Kleinbaum & Klein (2012), "Survival Analysis: A Self-Learning Text", 3rd ed.,
  Springer, chapter 2: Kaplan-Meier estimates of the 6-MP group 0.857, 0.807, 0.753, 0.690,
  0.627, 0.538, 0.448 at weeks 6, 7, 10, 13, 16, 22, 23; medians 23 (6-MP) and 8 (placebo)
  weeks; log-rank chi-square 16.79 on 1 degree of freedom.
* statsmodels (Seabold & Perktold), ``SurvfuncRight`` (Kaplan-Meier) and ``survdiff`` (the
  log-rank test), on simulated telco-style data with three contract groups.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from patronage.analytics.retention import kaplan_meier, logrank_test, median_survival
from patronage.cli import main

SIX_MP = ([6, 6, 6, 7, 10, 13, 16, 22, 23, 6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35],
          [1] * 9 + [0] * 12)
PLACEBO = ([1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23], [1] * 21)


def run(*args):
    return CliRunner().invoke(main, ["analyze", *args])


def test_kaplan_meier_and_log_rank_reproduce_the_textbook_example():
    km = kaplan_meier(*SIX_MP).set_index("time")
    assert km.loc[[6, 7, 10, 13, 16, 22, 23], "survival"].round(3).tolist() == \
        [0.857, 0.807, 0.753, 0.690, 0.627, 0.538, 0.448]
    assert median_survival(km.reset_index()) == 23
    assert median_survival(kaplan_meier(*PLACEBO)) == 8
    times = SIX_MP[0] + PLACEBO[0]
    events = SIX_MP[1] + PLACEBO[1]
    groups = ["6-MP"] * 21 + ["placebo"] * 21
    test = logrank_test(times, events, groups)
    assert test["chi2"] == pytest.approx(16.79, abs=0.01)
    assert test["df"] == 1 and test["p_value"] < 1e-4


def telco(seed: int = 3, n: int = 600) -> pd.DataFrame:
    """Tenure in months (1-72) and churn Yes/No, by contract, as in the IBM telco sample."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], size=n, p=[.5, .3, .2])
    scale = pd.Series(contract).map({"Month-to-month": 20, "One year": 60, "Two year": 150})
    life = np.ceil(rng.exponential(scale.to_numpy()))
    follow = rng.integers(1, 73, size=n)
    tenure = np.minimum(life, follow).astype(int)
    churn = np.where(life <= follow, "Yes", "No")
    return pd.DataFrame({"customerID": [f"{i:04d}-ABCD" for i in range(n)], "tenure": tenure,
                         "Contract": contract, "Churn": churn})


@pytest.fixture
def telco_file(tmp_path):
    frame = telco()
    path = tmp_path / "telco.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_survival_by_contract_from_a_file_agrees_with_statsmodels(telco_file):
    from statsmodels.duration.survfunc import SurvfuncRight, survdiff

    path, frame = telco_file
    result = run("survival", "--file", str(path), "--tenure", "tenure", "--event", "Churn",
                 "--by", "Contract", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["time_unit"] == "month"
    churned = frame["Churn"].eq("Yes")
    rows = {r["months"]: r for r in out["rows"]}
    assert sorted(rows) == [1, 3, 6, 12, 24, 36, 48, 60, 72]
    for contract, part in frame.groupby("Contract"):
        fitted = SurvfuncRight(part["tenure"].to_numpy(float),
                               churned[part.index].to_numpy(int))
        times, probs = fitted.surv_times, fitted.surv_prob
        for months in (1, 12, 24, 60, 72):
            if months > part["tenure"].max():  # after the last customer: not estimable
                assert rows[months][contract] is None
                continue
            passed = times <= months
            expected = float(probs[passed][-1]) if passed.any() else 1.0
            assert rows[months][contract] == pytest.approx(expected, abs=1e-9), (contract,
                                                                                 months)
        group = out["groups"][contract]
        assert group["customers"] == len(part) and group["churned"] == int(churned[part.index].sum())
        below = times[probs <= 0.5]
        assert (group["median"] is None) if not len(below) else group["median"] == below[0]
    chi2, _p = survdiff(frame["tenure"].to_numpy(float), churned.to_numpy(int),
                        frame["Contract"].to_numpy())
    assert out["logrank"]["chi2"] == pytest.approx(chi2, rel=1e-9)
    # statsmodels rounds a p-value this small to 0; the chi-square tail gives it exactly
    assert out["logrank"]["p_value"] == pytest.approx(stats.chi2.sf(chi2, 2), rel=1e-6)
    assert out["logrank"]["df"] == 2


def test_the_survival_table_is_readable(telco_file):
    path, _frame = telco_file
    result = run("survival", "--file", str(path), "--tenure", "tenure", "--event", "Churn",
                 "--by", "Contract")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) <= 12  # selected points, not one row per distinct tenure
    assert "months" in lines[1] or "months" in lines[0]
    assert "Month-to-month" in lines[0] and "Two year" in lines[0]
    assert "log-rank" in result.stderr.lower() and "median" in result.stderr
    assert "time unit: months" in result.stderr


def test_survival_at_chosen_points_without_groups(telco_file):
    path, frame = telco_file
    result = run("survival", "--file", str(path), "--tenure", "tenure", "--event", "Churn",
                 "--at", "6,18", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [r["months"] for r in out["rows"]] == [6, 18]
    km = kaplan_meier(frame["tenure"], frame["Churn"].eq("Yes")).set_index("time")
    assert out["rows"][1]["survival"] == pytest.approx(km.loc[:18, "survival"].iloc[-1])
    assert isinstance(out["rows"][0]["at_risk"], int)


@pytest.mark.parametrize("cells, words", [
    ("tenure,Churn\n5,Yes\nfive,No\n", ["line 3", "tenure", "five"]),
    ("tenure,Churn\n5,Yes\n7,maybe\n", ["line 3", "Churn", "maybe"]),
    ("tenure,Churn\n-2,Yes\n", ["line 2", "-2"]),
    ("months,Churn\n5,Yes\n", ["tenure", "months, Churn"]),
])
def test_bad_contract_files_get_clear_messages(tmp_path, cells, words):
    path = tmp_path / "bad.csv"
    path.write_text(cells, encoding="utf-8")
    result = run("survival", "--file", str(path), "--tenure", "tenure", "--event", "Churn")
    assert result.exit_code != 0 and "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output


def test_churn_spellings_and_a_gb18030_file_with_chinese_headers(tmp_path):
    path = tmp_path / "合同.csv"
    text = "在网月数,是否流失,合同\n1,是,月付\n3,否,月付\n2,1,年付\n8,0,年付\n4,TRUE,月付\n9,no,年付\n"
    path.write_bytes(text.encode("gb18030"))
    result = run("survival", "--file", str(path), "--tenure", "在网月数", "--event", "是否流失",
                 "--by", "合同", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["groups"]["月付"] == {"customers": 3, "churned": 2, "median": 4.0}
    assert out["groups"]["年付"]["churned"] == 1


def test_retention_from_the_same_file(telco_file):
    path, frame = telco_file
    result = run("retention", "--file", str(path), "--tenure", "tenure", "--event", "Churn",
                 "--by", "Contract", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    rows = {r["Contract"]: r for r in out["rows"]}
    for contract, part in frame.groupby("Contract"):
        kept = part["Churn"].eq("No")
        assert rows[contract]["n"] == len(part) and rows[contract]["retained"] == kept.sum()
        assert rows[contract]["retention"] == pytest.approx(kept.mean())
        km = kaplan_meier(part["tenure"], ~kept).set_index("time")["survival"]
        assert rows[contract]["survival_12_months"] == pytest.approx(km.loc[:12].iloc[-1])


@pytest.mark.db
def test_survival_from_the_database_is_readable(demo_company):
    result = run("survival", "--db", demo_company[0])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) <= 15
    assert "time unit: days" in result.stderr and "median" in result.stderr
    full = run("survival", "--db", demo_company[0], "--all-times", "--format", "json")
    assert len(json.loads(full.stdout)["rows"]) > 15
