"""The service-profit chain: employee answers only in groups of at least the minimum, whatever
the grouping and filters; unit figures beside each other; correlations as scipy; the path model
when there are enough units; the command."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats
from sqlalchemy import select, update

from patronage.analytics.service_chain import correlation, keep_large_cells

from chain_data import SITES, SMALL_TEAM, seed_chain


def test_cells_under_the_minimum_are_dropped_before_counting():
    frame = pd.DataFrame({"site": ["A"] * 6 + ["B"] * 4 + [None] * 5,
                          "team": ["x"] * 5 + ["y"] + ["x"] * 4 + ["x"] * 5,
                          "score": range(15)})
    kept, dropped = keep_large_cells(frame, ["site", "team"], 5)
    # (A, x) 5 kept; (A, y) 1 and (B, x) 4 dropped; (missing, x) 5 kept
    assert kept["score"].tolist() == [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]
    assert dropped == 2
    with pytest.raises(ValueError):
        keep_large_cells(frame, ["site"], 0)


def test_correlation_as_scipy_with_the_fisher_interval():
    rng = np.random.default_rng(3)
    x = pd.Series(rng.normal(size=12))
    y = 0.6 * x + pd.Series(rng.normal(size=12))
    found = correlation(x, y)
    reference = stats.pearsonr(x, y)
    interval = reference.confidence_interval(0.95)  # scipy: Fisher's z transformation
    assert found["n"] == 12
    assert found["r"] == pytest.approx(reference.statistic)
    assert found["p_value"] == pytest.approx(reference.pvalue)
    assert found["ci_low"] == pytest.approx(interval.low)
    assert found["ci_high"] == pytest.approx(interval.high)
    few = correlation(x[:3], y[:3])  # 3 units: r and p but no interval
    assert few["n"] == 3 and not np.isnan(few["r"]) and np.isnan(few["ci_low"])
    assert np.isnan(correlation(x[:2], y[:2])["r"])
