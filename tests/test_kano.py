"""Kano evaluation: table of Berger et al. 1993 (Center for Quality Management Journal 2(4)).

Coding: 1 like, 2 must-be, 3 neutral, 4 live with, 5 dislike. The expected table below is typed
from the paper (rows functional, columns dysfunctional), independently of the library constant.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patronage.analytics.kano import kano_category, kano_result, kano_table

PUBLISHED = {
    1: "QAAAO",
    2: "RIIIM",
    3: "RIIIM",
    4: "RIIIM",
    5: "RRRRQ",
}
CELLS = [(f, d, PUBLISHED[f][d - 1]) for f in range(1, 6) for d in range(1, 6)]


@pytest.mark.parametrize(("functional", "dysfunctional", "expected"), CELLS)
def test_every_cell_of_the_evaluation_table(functional, dysfunctional, expected):
    result = kano_category(pd.Series([functional]), pd.Series([dysfunctional]))
    assert result.iloc[0] == expected


def test_category_is_nan_when_an_answer_is_missing():
    result = kano_category(pd.Series([1, np.nan, 2]), pd.Series([5, 5, np.nan]))
    assert result.iloc[0] == "O"
    assert pd.isna(result.iloc[1]) and pd.isna(result.iloc[2])


def test_inputs_are_not_mutated_and_index_is_kept():
    f = pd.Series([1, 2], index=["r1", "r2"])
    d = pd.Series([5, 5], index=["r1", "r2"])
    before = f.copy()
    out = kano_category(f, d)
    assert list(out.index) == ["r1", "r2"]
    pd.testing.assert_series_equal(f, before)


def test_bad_codes_and_lengths_raise():
    with pytest.raises(ValueError, match="1..5"):
        kano_category(pd.Series([6]), pd.Series([1]))
    with pytest.raises(ValueError, match="one pair per respondent"):
        kano_category(pd.Series([1, 2]), pd.Series([1]))


def test_table_shares_exclude_missing_pairs():
    # pairs: (1,5)=O, (1,4)=A, (2,5)=M, (3,3)=I, (nan,5) dropped -> 4 complete pairs, each 1/4.
    f = pd.Series([1, 1, 2, 3, np.nan])
    d = pd.Series([5, 4, 5, 3, 5])
    shares = kano_table(f, d)
    assert list(shares.index) == ["A", "O", "M", "I", "R", "Q"]
    np.testing.assert_allclose(shares.to_numpy(), [0.25, 0.25, 0.25, 0.25, 0, 0])


def test_table_honours_weights():
    # O with weight 3, A with weight 1 -> O share 3/4, A share 1/4.
    shares = kano_table(pd.Series([1, 1]), pd.Series([5, 4]), weights=[3.0, 1.0])
    assert shares["O"] == pytest.approx(0.75)
    assert shares["A"] == pytest.approx(0.25)


def test_table_of_no_complete_pair_is_nan():
    assert kano_table(pd.Series([np.nan]), pd.Series([1])).isna().all()


def test_better_worse_worked_example():
    # 10 respondents: 4 A (1,3), 3 O (1,5), 2 M (3,5), 1 I (3,3), plus 1 R (5,1) and 1 Q (1,1)
    # which Berger et al. leave out of the base.
    # Base A+O+M+I = 4+3+2+1 = 10.
    # Better = (A+O)/base = 7/10 = 0.7 ; Worse = -(O+M)/base = -(3+2)/10 = -0.5.
    f = [1] * 4 + [1] * 3 + [3] * 2 + [3] + [5] + [1]
    d = [3] * 4 + [5] * 3 + [5] * 2 + [3] + [1] + [1]
    out = kano_result({"wifi": (pd.Series(f), pd.Series(d))})
    row = out.loc["wifi"]
    assert row["better"] == pytest.approx(0.7)
    assert row["worse"] == pytest.approx(-0.5)
    assert row["n"] == 12
    assert row["category"] == "A"
    assert row["note"] == ""
    assert row["share_A"] == pytest.approx(4 / 12)
    assert (row["A"], row["O"], row["M"], row["I"], row["R"], row["Q"]) == (4, 3, 2, 1, 1, 1)


def test_ties_broken_by_precedence_and_explained():
    # 2 A (1,3) and 2 M (2,5): tie, M wins by M > O > A > I.
    f = pd.Series([1, 1, 2, 2])
    d = pd.Series([3, 3, 5, 5])
    row = kano_result({"x": (f, d)}).loc["x"]
    assert row["category"] == "M"
    assert "tie" in row["note"] and "A" in row["note"] and "M" in row["note"]
    # O against A: O wins.
    row = kano_result({"y": (pd.Series([1, 1]), pd.Series([5, 4]))}).loc["y"]
    assert row["category"] == "O"
    assert "tie between O, A" in row["note"]


def test_result_honours_weights_and_missing():
    # Unweighted: A,A,M -> A. Weighted 1,1,5 -> M (weight 5 vs 2).
    f = pd.Series([1, 1, 2, np.nan])
    d = pd.Series([3, 3, 5, 5])
    assert kano_result({"x": (f, d)}).loc["x", "category"] == "A"
    weighted = kano_result({"x": (f, d)}, weights=[1, 1, 5, 9]).loc["x"]
    assert weighted["category"] == "M"
    assert weighted["n"] == 3
    # Better = A/(A+M) = 2/7; Worse = -M/(A+M) = -5/7.
    assert weighted["better"] == pytest.approx(2 / 7)
    assert weighted["worse"] == pytest.approx(-5 / 7)


def test_result_of_attribute_without_answers_is_nan():
    row = kano_result({"x": (pd.Series([np.nan]), pd.Series([np.nan]))}).loc["x"]
    assert pd.isna(row["category"]) and np.isnan(row["better"]) and np.isnan(row["worse"])


def test_result_rejects_bad_pairs():
    with pytest.raises(ValueError, match="empty"):
        kano_result({})
    with pytest.raises(ValueError, match="pair"):
        kano_result({"x": pd.Series([1, 2, 3])})
