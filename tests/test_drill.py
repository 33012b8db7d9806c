"""Drill-down from the overview: the respondents behind a figure, checked against the detractors
computed by hand from the seeded panel, escaped, linked to profiles and selectable for work."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from conftest import SCRIPT_COMMENT
from patronage.messages import UserError
from patronage.reporting.filters import Filters
from patronage.reporting.respondents import respondents
from patronage.settings import Settings
from patronage.web import create_app
from staff_login import log_in

# Seeded panel (conftest.seed_panel): response R{i} (i = 0..59) is customer C00{1 + i % 3}, in
# wave 2026-Q1 for i < 30 else 2026-Q2, NPS answer (7 i) mod 11; R59 carries the markup comment.
# Detractors answer 0–6, promoters 9–10 (Reichheld 2003).


def _hand(keep, group) -> set[str]:
    test = {"detractors": lambda s: s <= 6, "promoters": lambda s: s >= 9,
            "passives": lambda s: 7 <= s <= 8}[group]
    return {f"R{i}" for i in range(60) if keep(i) and test((i * 7) % 11)}


def test_detractors_list_is_the_hand_computed_detractors(panel):
    engine, _info = panel
    listing = respondents(engine, Filters(wave="2026-Q2"), group="detractors")
    assert set(listing.table.index) == _hand(lambda i: i >= 30, "detractors")
    assert listing.total == len(listing.table) and listing.base == 30
    assert listing.table["nps"].le(6).all()
    assert listing.table["answered"].is_monotonic_decreasing
    promoters = respondents(engine, Filters(), group="promoters")
    assert set(promoters.table.index) == _hand(lambda i: True, "promoters")
    assert promoters.survey == "relationship" and promoters.filters.survey == "relationship"
    assert listing.table.at["R59", "comment"] == SCRIPT_COMMENT
    assert sorted(listing.ids) == [1, 2, 3]


def test_dimension_drill_lists_who_rated_it_lowest_first(panel):
    engine, _info = panel
    listing = respondents(engine, Filters(wave="2026-Q1"), dimension="overall")
    assert len(listing.table) == 30 and listing.table["score"].is_monotonic_increasing
    with pytest.raises(UserError, match="dimension 'nonsense'"):
        respondents(engine, Filters(), dimension="nonsense")
    with pytest.raises(UserError, match="respondent group"):
        respondents(engine, Filters(), group="fans")


@pytest.fixture
def client(panel, db_url):
    app = create_app(Settings(database_url=db_url))
    with TestClient(app) as test_client:
        test_client.info = panel[1]
        yield test_client




def test_overview_links_lead_to_the_respondents_behind_the_figure(client):
    log_in(client)
    overview = BeautifulSoup(client.get("/?wave=2026-Q2").text, "html.parser")
    link = next(a["href"] for a in overview.select("#kpi-nps a.drill")
                if "group=detractors" in a["href"])
    query = dict(parse_qsl(urlsplit(link).query))
    assert query["wave"] == "2026-Q2" and query["survey"] == "relationship"
    page = client.get(link)
    assert page.status_code == 200
    cache = client.app.state.page_cache
    hits = cache.hits
    assert client.get(link).text == page.text and cache.hits == hits + 1  # kept, not recomputed
    html = BeautifulSoup(page.text, "html.parser")
    rows = html.select("#respondents tbody tr")
    assert len(rows) == len(_hand(lambda i: i >= 30, "detractors"))
    assert "贬损者" in html.h1.text
    assert "n = 30" in html.select_one("#respondent-count").text
    profile_links = {a["href"] for a in html.select("#respondents tbody a")}
    assert profile_links == {"/customers/1", "/customers/2", "/customers/3"}
    assert "<script>alert('xss')</script>" not in page.text and "&lt;script&gt;" in page.text
    assert SCRIPT_COMMENT in html.select_one("#respondents").text
    form = html.select_one("form#selection")
    assert form["action"] == "/selection" and form["method"] == "post"
    assert set(html.select_one("input[name=all_ids]")["value"].split(",")) == {"1", "2", "3"}
    wave_links = [a["href"] for a in overview.select("#waves a.drill")]
    assert [dict(parse_qsl(urlsplit(a).query))["group"] for a in wave_links] == [
        "promoters", "passives", "detractors"]
    promoters = BeautifulSoup(client.get(wave_links[0]).text, "html.parser")
    assert len(promoters.select("#respondents tbody tr")) == len(
        _hand(lambda i: i >= 30, "promoters"))
    dims = overview.select("#dimensions a.drill")
    assert dims and all("dimension=" in a["href"] for a in dims)
    assert client.get(dims[0]["href"]).status_code == 200


def test_selection_on_the_respondents_list_makes_tasks(client):
    log_in(client, lang="en")
    link = "/respondents?wave=2026-Q2&group=detractors"
    page = BeautifulSoup(client.get(link).text, "html.parser")
    token = page.find("input", {"name": "csrf_token"})["value"]
    done = client.post("/selection", data={"csrf_token": token, "customer_id": ["1", "2"],
                                           "action": "task", "type": "call",
                                           "subject": "回访贬损者",
                                           "due": page.find("input", {"name": "due"})["value"],
                                           "next": link}, follow_redirects=False)
    assert done.status_code == 303, BeautifulSoup(done.text, "html.parser").select_one(
        ".error, [role=alert], main").text
    assert "selected=task" in done.headers["location"] and "count=2" in done.headers["location"]
    assert done.headers["location"].startswith("/respondents?")
