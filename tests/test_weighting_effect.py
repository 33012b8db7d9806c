"""Kish's design effect and the respondents-against-the-customer-base check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patronage.satisfaction.sources import SurveyData
from patronage.satisfaction.weights import composition_table, weighting_effect
from patronage.analytics import design_effect, effective_sample_size, nps


def test_design_effect_is_one_plus_the_squared_cv_of_the_weights():
    # Kish (1992, J. Official Statistics 8:183, eq. 2): deff = 1 + CV^2 with the population
    # variance of the weights; for w = (1, 1, 2, 2): mean 1.5, variance 0.25, deff = 1 + 1/9.
    w = pd.Series([1.0, 1.0, 2.0, 2.0])
    assert design_effect(w) == pytest.approx(10 / 9)
    assert effective_sample_size(w) == pytest.approx(36 / 10)  # (sum w)^2 / sum w^2
    rng = np.random.default_rng(3)
    w = pd.Series(rng.lognormal(0, 0.6, 500))
    assert design_effect(w) == pytest.approx(1 + w.var(ddof=0) / w.mean() ** 2)
    assert design_effect(w * 7.0) == pytest.approx(design_effect(w))  # scale free
    assert design_effect(pd.Series([3.0, np.nan, 3.0])) == 1.0  # missing dropped
    with pytest.raises(ValueError, match="positive"):
        design_effect(pd.Series([1.0, 0.0]))


def _data(industry, scores, weights=None) -> SurveyData:
    index = pd.Index([f"r{i}" for i in range(len(scores))], name="response_id")
    meta = pd.DataFrame({"customer_industry": industry, "wave": "W1", "wave_start": 0,
                         "weight": 1.0 if weights is None else weights, "flagged": False},
                        index=index)
    return SurveyData(answers=pd.DataFrame({"nps": scores}, index=index, dtype=float),
                      comments=pd.Series(dtype=object), meta=meta)


def test_composition_and_raking_to_the_customer_base():
    # 6 respondents from retail, 2 from energy; the base is half and half. Raking on one
    # variable is post-stratification: retail weights 0.5/0.75, energy 0.5/0.25 (times n/sum).
    data = _data(["retail"] * 6 + ["energy"] * 2, [10, 10, 10, 10, 9, 9, 0, 5])
    base = {"industry": pd.Series({"retail": 0.5, "energy": 0.5})}
    composition = composition_table(data, base)
    assert composition.loc[("industry", "retail"), "respondents"] == pytest.approx(0.75)
    assert composition.loc[("industry", "energy"), "difference"] == pytest.approx(-25.0)
    effect = weighting_effect(data, base)
    expected_w = pd.Series([2 / 3] * 6 + [2.0] * 2, index=data.meta.index)
    assert effect.loc["NPS", "unweighted"] == pytest.approx(nps(data.answers["nps"]))  # 50
    assert effect.loc["NPS", "unweighted"] == pytest.approx(50.0)
    # retail: 100% promoters, energy: 100% detractors -> NPS 0 once balanced
    assert effect.loc["NPS", "raked"] == pytest.approx(nps(data.answers["nps"], expected_w))
    assert effect.loc["NPS", "raked"] == pytest.approx(0.0)
    assert effect.loc["design_effect", "raked"] == pytest.approx(design_effect(expected_w))
    assert effect.loc["design_effect", "unweighted"] == 1.0
    # stored weights are the starting point and show in their own column
    weighted = _data(["retail"] * 6 + ["energy"] * 2, [10, 10, 10, 10, 9, 9, 0, 5],
                     weights=[1.0] * 6 + [3.0] * 2)
    effect = weighting_effect(weighted, base)
    assert effect.loc["NPS", "weighted"] == pytest.approx(0.0)
    assert composition_table(weighted, base).loc[("industry", "energy"), "weighted"] == 0.5


def test_anonymous_respondents_only_give_a_reason():
    data = _data([None, None], [9, 10])
    base = {"industry": pd.Series({"retail": 1.0})}
    with pytest.raises(ValueError, match="anonymous"):
        composition_table(data, base)
    with pytest.raises(ValueError, match="Fewer than two"):
        weighting_effect(data, base)


def test_representativeness_command_on_the_demo(demo_company):
    from click.testing import CliRunner

    from patronage.cli import main

    url, _summary, _company = demo_company
    result = CliRunner().invoke(main, ["analyze", "representativeness", "--db", url,
                                       "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.output.replace("\ufeff", "").splitlines()  # each CSV starts with a BOM
    assert lines[0] == "variable,category,customers,respondents,weighted,difference"
    assert any(line.startswith("industry,manufacturing,") for line in lines)
    raked = next(line for line in lines if line.startswith("NPS,")).split(",")
    # the demo's respondents mirror its customers: raking moves NPS by under a point
    assert abs(float(raked[3]) - float(raked[1])) < 1.0
