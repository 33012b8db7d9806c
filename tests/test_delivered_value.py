"""Customer delivered value (Kotler): total value minus total cost, by hand, per segment and
against a competitor; the command and the Analysis page's section."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from patronage.analytics.delivered_value import cdv_against, cdv_summary, delivered_value

VALUE = ["cdv_product", "cdv_service", "cdv_personnel", "cdv_image"]
COST = ["cdv_money", "cdv_time", "cdv_energy", "cdv_psychological"]
RIVAL = "competitor.hengtai."


def _answers() -> pd.DataFrame:
    rows = {
        # value 8+7+9+6 = 30, cost 5+4+3+2 = 14, delivered 16; the rival: 28 − 18 = 10
        "r1": [8, 7, 9, 6, 5, 4, 3, 2] + [7, 7, 7, 7, 6, 5, 4, 3],
        # value 6+6+5+7 = 24, cost 7+6+5+4 = 22, delivered 2; the rival: 20 − 23 = −3
        "r2": [6, 6, 5, 7, 7, 6, 5, 4] + [5, 5, 5, 5, 6, 6, 6, 5],
        # one part unanswered: left out
        "r3": [9, 9, 9, np.nan, 1, 1, 1, 1] + [5] * 8,
    }
    columns = VALUE + COST + [RIVAL + c for c in VALUE + COST]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def test_totals_and_delivered_value_by_hand():
    scores = delivered_value(_answers())
    assert list(scores.index) == ["r1", "r2"]
    assert scores["total_value"].tolist() == [30, 24]
    assert scores["total_cost"].tolist() == [14, 22]
    assert scores["delivered_value"].tolist() == [16, 2]
    rival = delivered_value(_answers(), prefix=RIVAL)
    assert rival["delivered_value"].tolist() == [10, -3, 0]


def test_summary_per_segment_with_the_t_interval():
    groups = pd.Series({"r1": "East", "r2": "West", "r3": "East"})
    table = cdv_summary(_answers(), groups)
    assert list(table.index) == ["all", "East", "West"]
    assert table.loc["all", "n"] == 2 and table.loc["all", "delivered_value"] == 9
    assert table.loc["all", "total_value"] == 27 and table.loc["all", "total_cost"] == 18
    assert table.loc["all", "product"] == 7 and table.loc["all", "psychic"] == 3
    # mean 9, sd of (16, 2) = 9.8995, t(0.975, 1 df) = 12.7062: 9 ± 88.95
    half = 12.7062 * np.std([16, 2], ddof=1) / np.sqrt(2)
    assert table.loc["all", "ci_low"] == pytest.approx(9 - half, abs=1e-3)
    assert table.loc["all", "ci_high"] == pytest.approx(9 + half, abs=1e-3)
    assert table.loc["East", "delivered_value"] == 16 and table.loc["East", "n"] == 1
    assert np.isnan(table.loc["East", "ci_low"])  # one respondent: no interval


def test_against_a_competitor_is_paired_as_scipy():
    table = cdv_against(_answers(), RIVAL)
    row = table.loc["delivered_value"]
    assert row["n"] == 2 and row["own"] == 9 and row["competitor"] == 3.5
    assert row["difference"] == 5.5  # differences 6 and 5
    reference = stats.ttest_rel([16, 2], [10, -3])
    assert row["p_value"] == pytest.approx(reference.pvalue)
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(11, 1))  # t = 5.5 / 0.5
    assert table.loc["total_value", "difference"] == 3  # 30 − 28 and 24 − 20


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="cdv_image"):
        delivered_value(_answers().drop(columns="cdv_image"))
