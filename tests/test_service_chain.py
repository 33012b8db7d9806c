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


LOGIN = ("chain-analyst@example.com", "Quill-Meadow-8352")


@pytest.fixture
def chain_db(engine):
    return engine, seed_chain(engine)


def _views(engine):
    """Every figure of every grouping and filter combination, as the report computes them."""
    from patronage.chain.report import chain_report

    seen = {}
    for unit in ("site", "team"):
        for wave in (None, "2026年下半年"):
            for site in (None, "北京", "上海"):
                for team in (None, "北京一组", SMALL_TEAM):
                    try:
                        report = chain_report(engine, unit=unit, wave=wave, site=site, team=team)
                    except Exception as exc:  # noqa: BLE001 - compared as text below
                        seen[unit, wave, site, team] = repr(exc)
                        continue
                    seen[unit, wave, site, team] = (report.table.round(9).to_json(),
                                                   report.correlations.round(9).to_json())
    return seen




@pytest.mark.db
def test_no_grouping_or_filter_shows_a_group_under_the_minimum(chain_db):
    engine, _quality = chain_db
    from patronage.chain.report import chain_report

    by_team = chain_report(engine, unit="team")
    assert SMALL_TEAM not in by_team.table.index and by_team.dropped_cells == 1
    assert (by_team.table["employees_n"] >= 5).all()
    # 北京 = 北京一组 (7) + 北京二组 (3): the site shows only the 7, so site minus team reveals
    # nothing of the 3
    by_site = chain_report(engine, unit="site")
    assert by_site.table.loc["北京", "employees_n"] == 7
    assert by_site.table.loc["上海", "employees_n"] == 14
    with pytest.raises(Exception, match="No employee group"):
        chain_report(engine, unit="site", team=SMALL_TEAM)
    # whatever the small team answered, no figure of any view changes
    before = _views(engine)
    from patronage.storage.schema import answers

    with engine.begin() as conn:
        small = [row[0] for row in conn.execute(
            select(answers.c.response_id).where(answers.c.value_text == SMALL_TEAM))]
        assert len(small) == 3
        conn.execute(update(answers).where(answers.c.response_id.in_(small),
                                           answers.c.value_num.is_not(None))
                     .values(value_num=1.0))
    assert _views(engine) == before


@pytest.mark.db
def test_units_side_by_side_recover_the_planted_chain(chain_db):
    engine, quality = chain_db
    from patronage.chain.report import chain_report

    report = chain_report(engine, unit="site")
    assert sorted(report.table.index) == sorted(SITES)
    table = report.table
    assert (table["customers_n"] == 25).all() and (table["respondents_n"] == 25).all()
    assert table["retention"].between(0, 1).all()
    planted = pd.Series(quality)
    assert planted.corr(table["employee_index"]) > 0.8
    pair = report.correlations.loc[("employee_index", "csi")]
    assert pair["n"] == 12 and pair["r"] > 0.7 and pair["p_value"] < 0.01
    assert report.correlations.loc[("employee_index", "complaint_rate"), "r"] < 0
    assert report.model is not None and report.model.paths_.loc["EMP", "CUS"] > 0.5
    assert not report.notes  # 12 units: no "few units" note
    assert "compliance" not in report.table or report.table["compliance"].isna().all()
    from patronage.standards.records import add_standard

    add_standard(engine, code="fixed-first-time", name="一次修好", metric="right_first_time",
                 target=0.8, touchpoint="maintenance")
    with_standard = chain_report(engine, unit="site")
    share = with_standard.table["compliance"]
    assert share.between(0, 1).all() and planted.corr(share) > 0.5
    assert ("employee_index", "compliance") in with_standard.correlations.index
    few = chain_report(engine, unit="site", site="北京")
    assert few.model is None and "at least 10 units" in str(few.model_problem)
    assert few.notes and "Only 1 units" in str(few.notes[0])


@pytest.mark.db
def test_the_command_prints_units_correlations_and_paths(chain_db, db_url):
    from patronage.cli import main

    runner = CliRunner()
    units = runner.invoke(main, ["analyze", "chain", "--db", db_url, "--by", "team",
                                 "--format", "json"])
    assert units.exit_code == 0, units.output
    rows = json.loads(units.stdout)
    assert len(rows) == 23 and all(row["employees_n"] >= 5 for row in rows)
    assert SMALL_TEAM not in units.stdout and rows[0]["team"] == "上海一组"
    paths = runner.invoke(main, ["analyze", "chain", "--db", db_url, "--show", "paths"])
    assert paths.exit_code == 0 and "EMP -> CUS" in paths.stdout
    small = runner.invoke(main, ["analyze", "chain", "--db", db_url, "--team", SMALL_TEAM])
    assert small.exit_code == 1 and "Traceback" not in small.output
    assert "groups under 5 are never shown" in small.output


@pytest.mark.db
def test_the_page_in_chinese(chain_db, db_url):
    from bs4 import BeautifulSoup
    from fastapi.testclient import TestClient

    from patronage.accounts import create_user
    from patronage.settings import Settings
    from patronage.web import create_app
    from test_web import csrf_of

    engine, _quality = chain_db
    create_user(engine, LOGIN[0], LOGIN[1], "analyst")
    app = create_app(Settings(database_url=db_url, page_wait_seconds=120, warm_pages_seconds=0))
    with TestClient(app) as client:
        client.cookies.set("patronage_lang", "zh_Hans")
        page = client.get("/login")
        client.post("/login", data={"email": LOGIN[0], "password": LOGIN[1], "next": "/",
                                    "csrf_token": csrf_of(page.text)}, follow_redirects=False)
        shown = client.get("/chain?by=team")
        assert shown.status_code == 200
        soup = BeautifulSoup(shown.text, "html.parser")
        assert soup.find("a", href="/chain", attrs={"aria-current": "page"}).text == "服务利润链"
        assert SMALL_TEAM not in soup.select_one("#section-units").text
        assert "少于 5 份" in soup.select_one("#anonymity").text
        assert soup.select("#section-correlations tbody tr")
        assert soup.select_one("#chart-chain") is not None
        # 13 or 12 customer answers per team, under the minimum sample of 30: marked as a hint
        assert "提示" in soup.select_one("#small-customer-samples").text
        assert soup.select("#section-units td.too-small")
        small = client.get("/chain", params={"team": SMALL_TEAM})
        assert small.status_code == 200 and soup.select_one("#section-units") is not None
        assert BeautifulSoup(small.text, "html.parser").select_one("#chain-problem")
        assert "<script>" not in client.get("/chain", params={"site": "<script>"}).text


@pytest.mark.db
def test_the_employee_survey_is_never_analysed_answer_by_answer(chain_db, db_url, tmp_path):
    from patronage.cli import main
    from patronage.satisfaction.comments import default_survey
    from patronage.satisfaction.sources import employee_surveys, survey_data_from_db

    engine, _quality = chain_db
    assert employee_surveys(engine) == {"employee-2026"}
    with pytest.raises(Exception, match="anonymous employee survey"):
        survey_data_from_db(engine, "employee-2026")
    # the default survey is the customers' even where the employees answered more
    assert survey_data_from_db(engine).meta["survey"].unique().tolist() == ["relationship"]
    assert default_survey(engine) == "relationship"
    runner = CliRunner()
    for command in (["analyze", "nps", "--survey", "employee-2026", "--by", "wave"],
                    ["analyze", "responses", "--survey", "employee-2026", "--format", "sps",
                     "--out", str(tmp_path / "answers.csv")]):
        out = runner.invoke(main, [*command, "--db", db_url])
        assert out.exit_code == 1 and "patronage analyze chain" in out.output, out.output
        assert SMALL_TEAM not in out.output and not (tmp_path / "answers.csv").exists()


@pytest.mark.db
def test_answers_without_units_are_explained(chain_db):
    from patronage.chain.report import chain_report
    from patronage.storage.schema import answers

    engine, _quality = chain_db
    with engine.begin() as conn:
        conn.execute(answers.delete().where(answers.c.item_code == "team.text"))
    with pytest.raises(Exception, match="team.text"):
        chain_report(engine, unit="team")
    assert len(chain_report(engine, unit="site").table) == 12
