"""The demo company's extra surveys (issue 3): SERVQUAL-22, CES and competitor ratings.

The analyses run on the demo database and are compared with the parameters the answers were
generated from (:mod:`patronage.demo.extra_surveys`):

* SERVQUAL gap = mean perception − mean expectation per dimension (Parasuraman, Zeithaml & Berry
  1988, gap 5), also recomputed directly with pandas from the generated frames;
* CES = mean effort on 1–7 (Dixon, Freeman & Toman 2010), per type of the case it followed,
  against the exact expected value of a rounded, clipped normal answer;
* own − competitor difference of paired ratings per item (paired t test, Student 1908).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import norm

from patronage.satisfaction.methods import ces_table, competitor_table, servqual_table
from patronage.satisfaction.sources import survey_data_from_db
from patronage.analytics.servqual import SERVQUAL_DIMENSIONS
from patronage.cli import main
from patronage.demo import generate
from patronage.demo.extra_surveys import expected_rounded_mean
from patronage.index_system import load_index_system
from patronage.storage import make_engine
from patronage.surveys.templates import load_template

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def demo(demo_company):
    url, _summary, company = demo_company
    engine = make_engine(url)
    yield url, engine, company
    engine.dispose()


def _ranking(gaps: dict) -> list[str]:
    return [k for k, _ in sorted(gaps.items(), key=lambda kv: kv[1])]


def test_same_seed_gives_identical_extra_frames_and_truth(demo):
    company = demo[2]
    again = generate(2026)
    for name, frame in company.extra.frames().items():
        pd.testing.assert_frame_equal(frame, again.extra.frames()[name], obj=name)
    pd.testing.assert_series_equal(company.truth.ces_case_type, again.truth.ces_case_type)
    assert company.truth.competitor_gaps == again.truth.competitor_gaps
    other = generate(2027)
    assert not company.extra.answers["value_num"].equals(other.extra.answers["value_num"])


def test_extra_frames_are_well_formed(demo):
    company = demo[2]
    extra = company.extra
    r, a = extra.responses, extra.answers
    all_ids = pd.concat([company.responses["external_id"], r["external_id"]])
    assert all_ids.is_unique
    assert r["customer_id"].isin(company.customers["external_id"]).all()
    assert not a.duplicated(["response_id", "item_code"]).any()
    assert set(extra.surveys["code"]) == {"servqual22", "ces", "pulse"}  # pulse: the case desk
    counts = r["survey"].value_counts()
    assert counts["servqual22"] == 400 and counts["ces"] == 300
    assert not r[r["survey"] == "servqual22"].duplicated("customer_id").any()
    # SERVQUAL answers: the template's pair items, 1..7, about 2% missing (no row).
    sq = a[a["response_id"].str.startswith("SQ")]
    template = load_template("servqual22").to_dict()
    codes = {i["code"] for s in template["sections"] for i in s["items"]}
    assert set(sq["item_code"]) == codes | {f"{c}.exp" for c in codes}
    assert sq["value_num"].between(1, 7).all()
    assert 0.01 < 1 - len(sq) / (400 * 44) < 0.03
    ces = a[a["response_id"].str.startswith("CES")]
    assert set(ces["item_code"]) == {"ces"} and ces["value_num"].between(1, 7).all()
    # CES responses follow a closed complaint or inquiry case of the same customer.
    assert set(company.truth.ces_case_type) == {"complaint", "inquiry"}
    closed = company.cases[company.cases["closed_at"].notna()]
    assert r.loc[r["survey"] == "ces", "customer_id"].isin(closed["customer_id"]).all()
    # Competitor ratings: extra rows on ~40% of the last relationship wave's responses only.
    comp = a[a["item_code"].str.startswith("competitor.hengtai.")]
    last = company.responses[company.responses["wave"] == company.waves["name"].iloc[-1]]
    rated = comp["response_id"].unique()
    assert pd.Series(rated).isin(last["external_id"]).all()
    assert 0.35 < len(rated) / len(last) < 0.45
    items = load_index_system().items
    product = set(items.loc[items["dimension"] == "product", "item_code"])
    assert {c.removeprefix("competitor.hengtai.") for c in comp["item_code"]} == product
    assert comp["value_num"].between(1, 10).all()
    assert not company.answers["item_code"].str.startswith("competitor.").any()


def test_extra_rows_are_in_the_database(demo):
    _url, engine, company = demo
    data = survey_data_from_db(engine, "ces", include_flagged=True)
    assert len(data.answers) == 300
    assert data.waves_in_order() == company.waves["name"].tolist()
    # The default survey is still the relationship survey (the one with the most responses).
    assert len(survey_data_from_db(engine, include_flagged=True).answers) == len(company.responses)


def test_servqual_table_recovers_the_true_dimension_gaps(demo):
    """SERVQUAL gaps (Parasuraman et al. 1988): ranking, signs and values within 0.15."""
    _url, engine, company = demo
    truth = company.truth.servqual_gaps
    table = servqual_table(survey_data_from_db(engine, "servqual22"))
    gaps = table.loc[table["level"] == "dimension", "gap"]
    assert _ranking(gaps.to_dict()) == _ranking(truth)
    assert (gaps < 0).all()
    for dimension, gap in truth.items():
        assert gaps[dimension] == pytest.approx(gap, abs=0.15), dimension
    # The same gaps computed directly with pandas from the generated long answers.
    a = company.extra.answers
    wide = a[a["response_id"].str.startswith("SQ")].pivot(
        index="response_id", columns="item_code", values="value_num")
    for dimension, numbers in SERVQUAL_DIMENSIONS.items():
        diff = pd.concat([wide[f"sq{i}"] - wide[f"sq{i}.exp"] for i in numbers], axis=1)
        assert diff.stack().mean() == pytest.approx(gaps[dimension], abs=0.05)


def test_ces_recovers_the_effort_by_case_type(demo):
    """Mean effort per case type within 0.25 (~2.5 standard errors of ~150 answers) of the
    exact expected answer; complaints are harder than inquiries."""
    _url, engine, company = demo
    data = survey_data_from_db(engine, "ces")
    effort = company.truth.ces_effort
    assert effort["complaint"] > effort["inquiry"]
    case_type = company.truth.ces_case_type.reindex(data.answers.index)
    means = data.answers["ces"].groupby(case_type).mean()
    assert means["complaint"] > means["inquiry"] + 0.8
    for kind, value in effort.items():
        assert means[kind] == pytest.approx(value, abs=0.25), kind
    overall = ces_table(data, by=None).loc["all"]
    expected = case_type[data.answers["ces"].notna()].map(effort).mean()
    assert overall["mean"] == pytest.approx(expected, abs=0.2)
    assert overall["n"] == data.answers["ces"].notna().sum()


def test_expected_rounded_mean_matches_a_direct_sum():
    """E[clip(round(X), 1, 7)], X ~ N(4.4, 1.2²), against a numerical integral (scipy.stats)."""
    x = np.linspace(4.4 - 12, 4.4 + 12, 200001)
    density = norm.pdf(x, 4.4, 1.2)
    direct = np.trapezoid(np.clip(np.floor(x + 0.5), 1, 7) * density, x)
    assert expected_rounded_mean(4.4, 1.2, 1, 7) == pytest.approx(direct, abs=1e-3)
    assert expected_rounded_mean(4.0, 0.01, 1, 7) == pytest.approx(4.0)


def test_competitor_table_recovers_the_true_differences(demo):
    """own − hengtai: negative on quality items (hengtai better by 0.6), positive on innovation
    items (hengtai worse by 0.4), near zero on customization; each within 0.2 of the truth."""
    _url, engine, company = demo
    table = competitor_table(survey_data_from_db(engine), competitor="hengtai")
    truth = company.truth.competitor_gaps
    assert set(table.index) == set(truth)
    for item, gap in truth.items():
        assert table.loc[item, "difference"] == pytest.approx(gap, abs=0.2), item
    quality = [i for i in truth if i.startswith("quality_")]
    innovation = [i for i in truth if i.startswith("innovation_")]
    assert (table.loc[quality, "difference"] < 0).all()
    assert (table.loc[innovation, "difference"] > 0).all()
    assert (table.loc[quality + innovation, "p_holm"] < 0.001).all()


def test_cli_analyze_competitor_on_the_demo(demo):
    url = demo[0]
    result = CliRunner().invoke(main, ["analyze", "competitor", "--name", "hengtai", "--db", url])
    assert result.exit_code == 0, result.output
    assert "quality_performance" in result.output and "innovation_design" in result.output
