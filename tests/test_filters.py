"""The dashboard's global filters: parsing and links, the overview's figures on filtered data
(checked against counts and NPS computed by hand from the seeded panel), and the page."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qsl, urlsplit

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import update

from patronage.messages import UserError
from patronage.reporting.filters import Filters
from patronage.reporting.overview import overview
from patronage.settings import Settings
from patronage.storage import write_transaction
from patronage.storage.schema import customers
from patronage.web import create_app
from staff_login import log_in

# The seeded panel (conftest.seed_panel): response i (0..59) is customer 1 + i % 3, wave 2026-Q1
# for i < 30 else 2026-Q2, submitted on day 1 + i % 28 of February (Q1) or May (Q2), with the NPS
# answer (7 i) mod 11. Here customer 2 moves to North China and the silver tier.


def _scores(keep) -> list[int]:
    return [(i * 7) % 11 for i in range(60) if keep(i)]


def _wave(i: int) -> str:
    return "2026-Q1" if i < 30 else "2026-Q2"


def _day(i: int) -> date:
    return date(2026, 2 if i < 30 else 5, 1 + i % 28)


def _nps(scores: list[int]) -> float:
    """NPS by its definition (Reichheld 2003, "The One Number You Need to Grow"): per cent of
    9–10 answers minus per cent of 0–6 answers."""
    return 100.0 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)


def _regions(engine) -> None:
    with write_transaction(engine) as conn:
        conn.execute(update(customers).where(customers.c.external_id == "C002")
                     .values(region="North China", tier="silver"))


@pytest.fixture
def segmented(panel):
    engine, info = panel
    _regions(engine)
    return engine, info


def test_query_round_trips_and_bad_values_are_explained():
    chosen = Filters(survey="relationship", wave="2026-Q2", date_from=date(2026, 5, 1),
                     region="North China", tier="silver")
    assert Filters.from_query(dict(parse_qsl(chosen.to_query()))) == chosen
    assert Filters.from_query({"region": " ", "unrelated": "x"}) == Filters()
    assert chosen.without("region").region is None and chosen.cleared() == Filters(
        survey="relationship")
    assert chosen.active and not Filters(survey="relationship").active
    with pytest.raises(UserError, match="must be a date"):
        Filters.from_query({"date_from": "31/03/2026"})
    with pytest.raises(UserError, match="ends .* before it starts"):
        Filters.from_query({"date_from": "2026-05-01", "date_to": "2026-04-01"})
    assert hash(chosen) == hash(Filters.from_query(dict(parse_qsl(chosen.to_query()))))


def test_filters_change_the_overview_figures_as_computed_by_hand(segmented):
    engine, _info = segmented
    north = overview(engine, filters=Filters(region="North China"))
    waves = north.waves.set_index("wave")
    assert north.total == 20
    for wave in ("2026-Q1", "2026-Q2"):
        scores = _scores(lambda i, w=wave: i % 3 == 1 and _wave(i) == w)
        assert waves.at[wave, "n"] == len(scores) == 10
        assert waves.at[wave, "nps"] == pytest.approx(_nps(scores))
    everyone = overview(engine).waves.set_index("wave")
    assert everyone.at["2026-Q2", "n"] == 30
    assert everyone.at["2026-Q2", "nps"] == pytest.approx(_nps(_scores(lambda i: i >= 30)))
    east = overview(engine, filters=Filters(region="East China", wave="2026-Q2"))
    assert east.waves["wave"].tolist() == ["2026-Q2"]
    east_scores = _scores(lambda i: i >= 30 and i % 3 != 1)
    assert east.waves.at[0, "n"] == len(east_scores) == 20
    assert east.waves.at[0, "nps"] == pytest.approx(_nps(east_scores))
    assert east.options["region"] == ["East China", "North China"]
    early = overview(engine, filters=Filters(date_to=date(2026, 2, 15)))
    hand = _scores(lambda i: _day(i) <= date(2026, 2, 15))
    assert early.total == len(hand) and early.waves.at[0, "nps"] == pytest.approx(_nps(hand))


def test_an_unknown_filter_value_names_the_values_there_are(segmented):
    engine, _info = segmented
    with pytest.raises(UserError, match="North China") as raised:
        overview(engine, filters=Filters(region="Mars"))
    assert "'Mars'" in str(raised.value)
    with pytest.raises(UserError, match="2026-Q1, 2026-Q2"):
        overview(engine, filters=Filters(wave="2027-Q9"))
    none_match = overview(engine, filters=Filters(region="North China",
                                                  date_from=date(2026, 3, 1),
                                                  date_to=date(2026, 4, 1)))
    assert none_match.empty and none_match.total == 0


def test_customer_panel_filter(segmented):
    engine, _info = segmented
    from patronage.storage import read_customers

    panel = read_customers(engine)
    kept = Filters(tier="silver").apply_customers(panel)
    assert kept["customer_id"].tolist() == ["C002"]
    with pytest.raises(UserError, match="gold, silver"):
        Filters(tier="iron").apply_customers(panel)


@pytest.fixture
def client(segmented, db_url):
    app = create_app(Settings(database_url=db_url))
    with TestClient(app) as test_client:
        test_client.info = segmented[1]
        yield test_client




def test_filtered_overview_page_shows_n_warning_and_active_filters(client):
    log_in(client)
    page = BeautifulSoup(client.get("/?region=North+China&wave=2026-Q2").text, "html.parser")
    bar = page.select_one("form#filters")
    assert bar["method"] == "get"
    assert bar.select_one("select[name=region] option[selected]")["value"] == "North China"
    assert [o.text for o in bar.select("select[name=wave] option")][0] == "全部"
    rows = page.select("#waves tbody tr")
    assert len(rows) == 1 and rows[0].find_all("td")[1].text == "10"
    assert "样本太少" in page.select_one("#kpi-nps").text and "10" in page.select_one(
        "#kpi-nps").text
    assert page.select_one("#chart-dimensions") is None  # no bar drawn from 10 answers
    active = page.select_one("#active-filters")
    assert "地区" in active.text and "批次" in active.text
    clear = active.select_one("#clear-filters")["href"]
    assert Filters.from_query(dict(parse_qsl(urlsplit(clear).query))) == Filters(
        survey="relationship")
    everyone = BeautifulSoup(client.get(clear).text, "html.parser")
    assert [r.find_all("td")[1].text for r in everyone.select("#waves tbody tr")] == ["30", "30"]
    assert everyone.select_one("#active-filters") is None
    assert everyone.select_one("#chart-dimensions") is not None


def test_unknown_filter_value_is_a_clear_chinese_message(client):
    log_in(client)
    for query in ("/?region=Mars", "/?date_from=yesterday", "/respondents?tier=iron",
                  "/analysis?region=Mars"):
        response = client.get(query)
        assert response.status_code == 400, query
        text = BeautifulSoup(response.text, "html.parser").select_one("main, body").text
        assert "Traceback" not in text
        assert ("没有" in text or "日期" in text), text
    from patronage.labels import set_labels

    set_labels(client.app.state.engine, [("region", "East China", "zh_Hans", "华东")])
    page = BeautifulSoup(client.get("/?region=Mars").text, "html.parser").text
    assert "华东, North China" in page and "地区" in page and "East China" not in page
    # The Analysis page names the regions there are by their labels too, not by their codes.
    page = BeautifulSoup(client.get("/analysis?region=Mars").text, "html.parser").text
    assert "华东, North China" in page and "East China" not in page
    assert "2026年第1季度" in client.get("/?wave=2027-Q9").text


def test_no_match_says_so(client):
    log_in(client, lang="en")
    page = BeautifulSoup(client.get("/?date_from=2026-03-01&date_to=2026-04-01").text,
                         "html.parser")
    assert page.select_one("#no-match") is not None
    assert page.select_one("#active-filters") is not None


def test_analysis_page_is_computed_on_the_filtered_responses(client):
    log_in(client, lang="en")
    page = BeautifulSoup(client.get("/analysis?region=North+China").text, "html.parser")
    assert page.select_one("form#filters select[name=region] option[selected]")["value"] == (
        "North China")
    assert page.select_one("input#flagged") is not None
    north = [r.find_all("td")[1].text for r in page.select("#section-trend tbody tr")]
    assert north == ["Sample too small (n=10)"] * 2  # 10 answers a wave, hand-counted above
    weighting = page.select_one("#section-weighting")  # raked to North China's customers
    assert weighting.select("table") and "no respondents" not in weighting.text
    east = BeautifulSoup(client.get("/analysis?region=East+China").text, "html.parser")
    assert [r.find_all("td")[1].text for r in east.select("#section-trend tbody tr")] == [
        "Sample too small (n=20)"] * 2
    assert "clear-filters" in str(east.select_one("#active-filters"))
    mars = client.get("/analysis?region=Mars")
    assert mars.status_code == 400  # refused as on the Overview, naming the regions there are
    assert "There is no Region 'Mars'" in BeautifulSoup(mars.text, "html.parser").text


def test_flagged_count_is_of_the_filtered_responses(segmented):
    engine, _info = segmented
    from sqlalchemy import update as update_rows

    from patronage.storage.schema import responses

    flagged_ids = [2, 5, 6]  # R1 (customer C002), R4 (C002), R5 (C003): two in North China
    with write_transaction(engine) as conn:
        conn.execute(update_rows(responses).where(responses.c.id.in_(flagged_ids))
                     .values(quality_flags={"speeder": True}))
    assert overview(engine).flagged == 3
    north = overview(engine, filters=Filters(region="North China"))
    assert north.flagged == 2 and north.total == 18
