"""The Overview's comparison mode on the seeded panel: the two sides' n, NPS and CSI as the
Overview computes them (NPS by hand), the tests as SciPy computes them, the unusable choices
explained, and the page in Chinese."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from scipy import stats
from sqlalchemy import update

from patronage.analytics import csi_scores
from patronage.index_system import load_index_system
from patronage.messages import UserError
from patronage.reporting.compare import comparison
from patronage.reporting.filters import Filters
from patronage.reporting.overview import overview
from patronage.satisfaction.sources import survey_data_from_db
from patronage.settings import Settings
from patronage.storage import write_transaction
from patronage.storage.schema import customers
from patronage.web import create_app
from staff_login import log_in

pytestmark = pytest.mark.db

# The seeded panel (conftest.seed_panel): response R{i} (i = 0..59) is customer C00{1 + i % 3},
# wave 2026-Q1 for i < 30 (answered on day 1 + i % 28 of February) else 2026-Q2 (of May), with
# the NPS answer (7 i) mod 11. Here customer C002 moves to North China.


def _nps(keep) -> float:
    """NPS by its definition (Reichheld 2003): per cent of 9–10 answers minus per cent of 0–6."""
    scores = [(i * 7) % 11 for i in range(60) if keep(i)]
    return 100.0 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)


@pytest.fixture
def segmented(panel):
    engine, info = panel
    with write_transaction(engine) as conn:
        conn.execute(update(customers).where(customers.c.external_id == "C002")
                     .values(region="North China"))
    return engine, info


def _rows(found) -> dict:
    return {row["measure"]: row for row in found.rows}


def test_latest_wave_against_the_previous_one(segmented):
    engine, _info = segmented
    found = comparison(engine, Filters(), "period")
    assert (found.a.kind, found.a.wave, found.b.wave) == ("wave", "2026-Q2", "2026-Q1")
    assert (found.a.n, found.b.n) == (30, 30) and not found.small  # 30: not small
    rows = _rows(found)
    assert rows["nps"]["a"] == pytest.approx(_nps(lambda i: i >= 30))
    assert rows["nps"]["b"] == pytest.approx(_nps(lambda i: i < 30))
    waves = overview(engine).waves.set_index("wave")  # the CSI the Overview shows
    assert rows["csi"]["a"] == pytest.approx(waves.at["2026-Q2", "csi"])
    assert rows["csi"]["b"] == pytest.approx(waves.at["2026-Q1", "csi"])
    data = survey_data_from_db(engine)
    scores = csi_scores(data.answers, load_index_system().items)["csi"]
    second = data.meta["wave"].eq("2026-Q2").to_numpy()
    welch = stats.ttest_ind(scores[second], scores[~second], equal_var=False)
    assert rows["csi"]["p_value"] == pytest.approx(welch.pvalue)
    assert not rows["csi"]["small"] and rows["nps"]["n_a"] == 30
    assert found.a.drill == Filters(survey="relationship", wave="2026-Q2")
    # The wave chosen in the filters against the one before it.
    chosen = comparison(engine, Filters(wave="2026-Q2"), "period")
    assert (chosen.a.wave, chosen.b.wave) == ("2026-Q2", "2026-Q1")


def test_a_period_against_the_days_before_it(segmented):
    engine, _info = segmented
    found = comparison(engine, Filters(date_from=date(2026, 2, 15), date_to=date(2026, 2, 28)),
                       "period")
    assert (found.b.start, found.b.end) == (date(2026, 2, 1), date(2026, 2, 14))
    late = lambda i: i < 30 and 15 <= 1 + i % 28  # noqa: E731
    assert (found.a.n, found.b.n) == (14, 16)
    rows = _rows(found)
    assert rows["nps"]["a"] == pytest.approx(_nps(late))
    assert rows["nps"]["b"] == pytest.approx(_nps(lambda i: i < 30 and not late(i)))
    assert found.b.drill.date_from == date(2026, 2, 1)


def test_a_group_against_the_others(segmented):
    engine, _info = segmented
    found = comparison(engine, Filters(), "region:North China")
    assert (found.a.n, found.b.n) == (20, 40)
    assert (found.b.kind, found.b.drill_exact) == ("rest", False)
    rows = _rows(found)
    assert rows["nps"]["a"] == pytest.approx(_nps(lambda i: i % 3 == 1))
    assert rows["nps"]["b"] == pytest.approx(_nps(lambda i: i % 3 != 1))
    scores = [(i * 7) % 11 for i in range(60)]

    def shares(keep):
        chosen = [s for i, s in enumerate(scores) if keep(i)]
        return (np.mean([s >= 9 for s in chosen]), np.mean([s <= 6 for s in chosen]),
                len(chosen))

    (pa, da, na), (pb, db, nb) = shares(lambda i: i % 3 == 1), shares(lambda i: i % 3 != 1)
    se = np.sqrt((pa + da - (pa - da) ** 2) / na + (pb + db - (pb - db) ** 2) / nb)
    z = ((pa - da) - (pb - db)) / se
    assert rows["nps"]["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)))
    expected = "same" if rows["nps"]["p_value"] >= 0.05 else (
        "higher" if z > 0 else "lower")
    assert rows["nps"]["verdict"] == expected
    named = comparison(engine, Filters(wave="2026-Q2"), "region:East China", "North China")
    assert (named.b.kind, named.b.value, named.a.n, named.b.n) == ("segment", "North China",
                                                                    20, 10)
    assert named.b.drill == Filters(survey="relationship", wave="2026-Q2",
                                    region="North China")


def test_unusable_choices_are_explained(segmented):
    engine, _info = segmented
    with pytest.raises(UserError, match="Choose both dates"):
        comparison(engine, Filters(date_from=date(2026, 2, 1)), "period")
    with pytest.raises(UserError, match="no earlier wave"):
        comparison(engine, Filters(wave="2026-Q1"), "period")
    with pytest.raises(UserError, match="North China"):
        comparison(engine, Filters(), "region:Mars")
    with pytest.raises(UserError, match="Choose what to compare"):
        comparison(engine, Filters(), "planet:Mars")
    with pytest.raises(UserError, match="two different groups"):
        comparison(engine, Filters(), "region:North China", "North China")


@pytest.fixture
def client(segmented, db_url):
    app = create_app(Settings(database_url=db_url))
    with TestClient(app) as test_client:
        test_client.info = segmented[1]
        yield test_client


def test_the_comparison_page_in_chinese(client):
    log_in(client)
    page = BeautifulSoup(client.get("/?wave=2026-Q2").text, "html.parser")
    control = page.find(id="compare-control")
    assert control["action"] == "/compare"
    assert control.find("input", {"name": "wave"})["value"] == "2026-Q2"
    choices = {o["value"]: o.get_text() for o in control.find_all("option")}
    assert choices["period"] == "本批次与上一批次"
    assert "region:North China" in choices
    response = client.get("/compare?wave=2026-Q2&compare=region%3ANorth+China")
    assert response.status_code == 200
    page = BeautifulSoup(response.text, "html.parser")
    assert page.find("h1").get_text() == "对比分析"
    sides = page.find(id="compare-sides").get_text(" ", strip=True)
    assert "n = 10" in sides and "n = 20" in sides and "样本较少" in sides
    table = page.find(id="comparison")
    nps = table.find(id="row-nps").get_text(" ", strip=True)
    assert nps.startswith("净推荐值 NPS") and "n = 10" in nps
    assert any(word in nps for word in ("显著高于", "显著低于", "无显著差异"))
    assert "样本较少（n < 30）" in nps
    assert table.find(id="row-csi") is not None
    links = [urlsplit(a["href"]) for a in page.select("#compare-sides a.drill")]
    assert [link.path for link in links] == ["/respondents", "/respondents"]
    assert dict(parse_qsl(links[0].query))["region"] == "North China"
    assert "region" not in dict(parse_qsl(links[1].query))
    assert client.get("/respondents?" + links[0].query).status_code == 200
    english = [word for word in ("Compare", "significant", "Measure", "others")
               if word in page.find("main").get_text()]
    assert english == []
    problem = client.get("/compare?wave=2026-Q1")
    assert problem.status_code == 400
    assert "没有更早的批次" in BeautifulSoup(problem.text, "html.parser").find(
        id="compare-problem").get_text()
    unknown = client.get("/compare?compare=region%3AMars")
    assert unknown.status_code == 400 and "North China" in unknown.text
