"""SERVQUAL (Parasuraman, Zeithaml & Berry 1988; weighting as in PZB 1991), checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patronage.analytics.servqual import (
    SERVQUAL_DIMENSIONS,
    gap1,
    servqual_gaps,
    servqual_items,
    weighted_servqual,
)


def test_the_22_items_fall_into_the_five_published_dimensions():
    numbers = sorted(n for items in SERVQUAL_DIMENSIONS.values() for n in items)
    assert numbers == list(range(1, 23))
    assert [len(v) for v in SERVQUAL_DIMENSIONS.values()] == [4, 5, 4, 4, 5]


def _frames():
    columns = [c for items in servqual_items().values() for c in items]
    perception = pd.DataFrame([[5.0] * 22, [6.0] * 22], columns=columns)
    expectation = pd.DataFrame([[7.0] * 22, [6.0] * 22], columns=columns)
    perception.loc[0, "sq1"] = 7.0          # tangibles item 1: P = (7 + 6) / 2 = 6.5, E = 6.5
    expectation.loc[1, "sq5"] = np.nan      # reliability item 5: only respondent 0 counts
    return perception, expectation


def test_item_and_dimension_gaps_by_hand():
    perception, expectation = _frames()
    result = servqual_gaps(perception, expectation)
    items, dims = result["items"], result["dimensions"]
    assert items.loc["sq1", "gap"] == pytest.approx(0.0)
    assert items.loc["sq2", "gap"] == pytest.approx((5 + 6) / 2 - (7 + 6) / 2)  # −1
    assert items.loc["sq5", "n"] == 1 and items.loc["sq5", "gap"] == pytest.approx(-2.0)
    # tangibles: item gaps 0, −1, −1, −1 → −0.75; reliability: −2, −1, −1, −1, −1 → −1.2
    assert dims.loc["tangibles", "gap"] == pytest.approx(-0.75)
    assert dims.loc["reliability", "gap"] == pytest.approx(-1.2)
    assert result["overall"] == pytest.approx((-0.75 - 1.2 - 1 - 1 - 1) / 5)


def test_importance_weighted_score():
    gaps = pd.Series({"tangibles": -0.5, "reliability": -1.0, "responsiveness": -2.0,
                      "assurance": 0.0, "empathy": 1.0})
    points = pd.DataFrame([[10, 40, 20, 20, 10], [10, 20, 40, 20, 10]], columns=gaps.index)
    # mean shares 0.1, 0.3, 0.3, 0.2, 0.1 → −0.05 − 0.3 − 0.6 + 0 + 0.1 = −0.85
    assert weighted_servqual(gaps, points) == pytest.approx(-0.85)
    with pytest.raises(ValueError, match="sum to 100"):
        weighted_servqual(gaps, points.assign(empathy=50))


def test_gap1_compares_management_with_customers():
    perception, expectation = _frames()
    management = expectation.fillna(6.0) - 1.0
    table = gap1(expectation, management)
    assert (table["gap1"] < 0).all()
    assert table.loc["empathy", "gap1"] == pytest.approx(-1.0)
