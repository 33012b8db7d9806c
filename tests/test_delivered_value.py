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


LOGIN = ("cdv-analyst@example.com", "Quill-Meadow-8352")


def _seed(engine) -> pd.DataFrame:
    """A CDV survey answered by 40 customers of two regions, who also rated 恒泰 (hengtai)."""
    from datetime import datetime

    from sqlalchemy import insert

    from patronage.storage.schema import answers, customers, responses, surveys

    rng = np.random.default_rng(11)
    now = datetime(2026, 11, 30)
    wide = {}
    with engine.begin() as conn:
        survey = conn.execute(insert(surveys).values(
            code="cdv-2026", title="cdv-2026", definition={"source": "test"},
            created_at=now)).inserted_primary_key[0]
        for number in range(40):
            region = "East China" if number % 2 else "North China"
            customer = conn.execute(insert(customers).values(
                external_id=f"C{number:03d}", name=f"C{number:03d}", region=region,
                created_at=now, updated_at=now)).inserted_primary_key[0]
            pk = conn.execute(insert(responses).values(
                external_id=f"R{number:03d}", survey_id=survey, customer_id=customer,
                submitted_at=now)).inserted_primary_key[0]
            shift = 1 if region == "East China" else 0
            row = {c: float(rng.integers(5, 10) + shift) for c in VALUE}
            row |= {c: float(rng.integers(2, 7)) for c in COST}
            row |= {RIVAL + c: float(rng.integers(3, 9)) for c in VALUE + COST}
            conn.execute(insert(answers), [{"response_id": pk, "item_code": k, "value_num": v}
                                           for k, v in row.items()])
            wide[f"R{number:03d}"] = {**row, "region": region}
    return pd.DataFrame.from_dict(wide, orient="index")


@pytest.mark.db
def test_the_command_per_region_and_against_the_competitor(engine, db_url):
    import json

    from click.testing import CliRunner

    from patronage.cli import main

    wide = _seed(engine)
    delivered = wide[VALUE].sum(axis=1) - wide[COST].sum(axis=1)
    runner = CliRunner()
    out = runner.invoke(main, ["analyze", "cdv", "--db", db_url, "--survey", "cdv-2026",
                               "--by", "region", "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = {row["region"]: row for row in json.loads(out.stdout)}
    east = rows["East China"]
    assert east["n"] == 20
    assert east["delivered_value"] == pytest.approx(delivered[wide["region"] == "East China"]
                                                    .mean())
    assert list(rows) == ["all", "East China", "North China"]
    rival = runner.invoke(main, ["analyze", "cdv", "--db", db_url, "--survey", "cdv-2026",
                                 "--competitor", "hengtai", "--format", "json"])
    assert rival.exit_code == 0, rival.output
    theirs = wide[[RIVAL + c for c in VALUE]].sum(axis=1) - wide[[RIVAL + c for c in COST]] \
        .sum(axis=1)
    found = {r["part"]: r for r in json.loads(rival.stdout)}["delivered_value"]
    assert found["own"] == pytest.approx(delivered.mean()) and found["n"] == 40
    assert found["competitor"] == pytest.approx(theirs.mean())
    assert found["p_value"] == pytest.approx(stats.ttest_rel(delivered, theirs).pvalue)
    wrong = runner.invoke(main, ["analyze", "cdv", "--db", db_url, "--survey", "cdv-2026",
                                 "--competitor", "nobody"])
    assert wrong.exit_code == 1 and "hengtai" in wrong.output and "Traceback" not in wrong.output


@pytest.mark.db
def test_the_analysis_page_shows_delivered_value_in_chinese(engine, db_url):
    from bs4 import BeautifulSoup
    from fastapi.testclient import TestClient

    from patronage.accounts import create_user
    from patronage.labels import set_label
    from patronage.settings import Settings
    from patronage.web import create_app
    from test_web import csrf_of

    _seed(engine)
    set_label(engine, "region", "East China", "zh_Hans", "华东")
    create_user(engine, LOGIN[0], LOGIN[1], "analyst")
    app = create_app(Settings(database_url=db_url, page_wait_seconds=120, warm_pages_seconds=0,
                              min_sample=10))
    with TestClient(app) as client:
        client.cookies.set("patronage_lang", "zh_Hans")
        page = client.get("/login")
        client.post("/login", data={"email": LOGIN[0], "password": LOGIN[1], "next": "/",
                                    "csrf_token": csrf_of(page.text)}, follow_redirects=False)
        shown = client.get("/analysis", params={"survey": "cdv-2026"})
        assert shown.status_code == 200
        soup = BeautifulSoup(shown.text, "html.parser")
        section = soup.select_one("#section-cdv")
        assert "顾客让渡价值" in section.h2.text
        rows = [tr.find("td").text for tr in section.select("tbody tr")]
        assert rows[0] == "全部受访者" and "华东" in rows
        assert "顾客总价值" in section.select_one("thead").text
        rival = soup.select_one("#section-cdv_competitor")
        assert "心理成本" in rival.text and "顾客让渡价值" in rival.text
