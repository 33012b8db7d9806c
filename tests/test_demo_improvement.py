"""The demo company's improvement cycle (issue 15, item 7; :mod:`patronage.demo.improvement`):
what the demo plants is recovered by the services the pages and the CLI use.

* the two actions' measured effect (difference in differences of the segment against the other
  customers between the baseline wave and the next, see :mod:`patronage.actions.measure`): the
  one with a planted rise is achieved, with an interval covering the planted rise, the other not;
* the action on the phone-answer standard (the South China customers' share answered within it,
  the difference in differences of the 0/1 outcome against the other customers' events with HC1
  errors, see :mod:`patronage.actions.standard_effect`) is achieved, its interval covering the
  planted rise, and its sentence reads in percentage points;
* the phone-answer standard's p chart (limits and Western Electric run rules as in Montgomery,
  *Introduction to Statistical Quality Control*, 7th ed., §7.2 and §5.3.6; the rules are
  checked against that book in tests/test_control_charts.py) flags the slipping site in the
  slipping months and at no other month;
* the service-profit chain's correlation across teams between employee satisfaction and the CSI
  of the team's customers is clearly positive, every group having at least 5 answers;
* the anonymous employee survey is never the default survey.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from patronage.actions.board import board
from patronage.chain.employees import employee_answers
from patronage.chain.report import chain_report
from patronage.demo import generate
from patronage.demo.improvement import (
    ACTIONS, EMPLOYEE_CODE, RISE_SHARE, SITES, SLIP_MONTHS, SLIP_SITE, STANDARD, STANDARD_ACTION,
)
from patronage.satisfaction.comments import default_survey
from patronage.satisfaction.sources import survey_data_from_db
from patronage.standards.compliance import compliance, events, signals
from patronage.standards.records import standard
from patronage.storage import make_engine

pytestmark = pytest.mark.db
TODAY = date(2026, 6, 30)


@pytest.fixture(scope="module")
def demo(demo_company):
    url, _summary, company = demo_company
    engine = make_engine(url)
    yield engine, company
    engine.dispose()


def test_improvement_frames_are_reproducible_and_well_formed(demo):
    company = demo[1]
    again = generate(2026)
    for name in ("responses", "answers", "waves"):
        pd.testing.assert_frame_equal(getattr(company.improvement, name),
                                      getattr(again.improvement, name), obj=name)
    tp = company.touchpoints
    assert tp[["site", "team", "agent"]].notna().all().all()
    assert set(tp["site"]) == set(SITES)
    # Each customer is served by one team.
    assert tp.groupby("customer_id")["team"].nunique().max() == 1
    staff = company.improvement.responses
    assert staff["customer_id"].isna().all()
    cells = company.improvement.answers.query("item_code == 'team.text'").merge(
        staff, left_on="response_id", right_on="external_id").groupby(["wave", "value_text"])
    assert cells.size().min() >= 5


def test_the_actions_measured_effects_come_out_as_planted(demo):
    engine, _company = demo
    rows = {row["title"]: row for row in board(engine, today=TODAY)["rows"]}
    works, idle = (rows[spec["title"]] for spec in ACTIONS)
    assert works["group"] == "achieved" and idle["group"] == "not_achieved"
    planted = 100 * RISE_SHARE / 9  # one point on 1–10 with this probability, on 0–100
    assert works["effect"].ci_low > 0 and works["effect"].change >= float(ACTIONS[0]["target"])
    assert works["effect"].ci_low <= planted <= works["effect"].ci_high
    assert idle["effect"].ci_low <= 0 <= idle["effect"].ci_high
    assert not idle["effect"].significant()


def test_the_action_on_the_standard_recovers_its_planted_rise(demo):
    engine, company = demo
    rows = {row["title"]: row for row in board(engine, today=TODAY)["rows"]}
    found = rows[STANDARD_ACTION["title"]]
    planted = company.truth.improvement.standard_rise
    assert planted > 10  # the planted speed-up is large enough to be seen
    effect = found["effect"]
    assert effect.method == "did" and found["group"] == "achieved"
    assert effect.ci_low <= planted <= effect.ci_high and effect.ci_low > 0
    assert found["measurement"].before_label == "2026-Q1"
    assert found["measurement"].after_label == "2026-Q2"
    assert found["metric"] == STANDARD["name"]
    assert found["sentence"].startswith(f"{STANDARD['name']} +")
    assert "percentage points, significant" in found["sentence"]
    # Every event in the two waves' days counts once, in its customer's group.
    frame = events(engine, standard(engine, STANDARD["code"]))
    assert effect.n_before + effect.n_other_before + effect.n_after + effect.n_other_after \
        == int(((frame["at"] >= "2026-01-01") & (frame["at"] < "2026-07-01")).sum())


def test_the_standard_slips_at_one_site_in_one_quarter_and_the_chart_flags_it(demo):
    engine, _company = demo
    found = standard(engine, STANDARD["code"])
    frame = events(engine, found)
    flagged = signals(frame, found)
    at_site = flagged[(flagged["unit_kind"] == "site") & (flagged["unit"] == SLIP_SITE)]
    months = {pd.Timestamp(p).strftime("%Y-%m") for p in at_site["period"]}
    assert months == set(SLIP_MONTHS)
    assert at_site["rules"].map(lambda rules: 1 in rules).any()  # one point beyond 3 sigma
    table = compliance(frame, found, "site")
    month = pd.to_datetime(table["period"]).dt.strftime("%Y-%m")
    slipped = table[(table["unit"] == SLIP_SITE) & month.isin(SLIP_MONTHS)]
    usual = table[~month.isin(SLIP_MONTHS) & (table["n"] >= 10)]
    assert (slipped["share"] < 0.5).all()
    assert usual["share"].median() > float(STANDARD["target"].rstrip("%")) / 100


def test_the_chain_recovers_happier_teams_with_more_satisfied_customers(demo):
    engine, company = demo
    report = chain_report(engine, unit="team")
    assert report.employee_survey == EMPLOYEE_CODE and report.customer_survey == "relationship"
    assert report.dropped_cells == 0 and report.units_n == 20
    r = report.correlations.loc[("employee_index", "csi")]
    assert r["n"] == 20 and r["r"] > 0.5 and r["p_value"] < 0.01
    # The employee index follows the planted team quality (rank correlation, scipy).
    quality = pd.Series(company.truth.improvement.team_quality)
    rho = spearmanr(report.table["employee_index"], quality.reindex(report.table.index))
    assert rho.statistic > 0.7
    staff = employee_answers(engine, None, 5)
    assert staff.frame.groupby(["wave", "team"]).size().min() >= 5


def test_the_employee_survey_is_never_the_default_survey(demo):
    engine, _company = demo
    assert default_survey(engine) == "relationship"
    data = survey_data_from_db(engine)
    assert set(data.meta["survey"]) == {"relationship"}
    assert np.isfinite(data.weights).all()
