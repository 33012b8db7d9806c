"""The dashboard's exports follow its filters: "Export report" and "This page's tables (Excel)"
carry the page's filters, are computed on the filtered responses (the same NPS and n as the
filtered page) and name the filters on their first sheet in the reader's language."""

from __future__ import annotations

import io
from urllib.parse import parse_qsl, urlsplit

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import update
from test_report_web import _login

from patronage.labels import set_label
from patronage.reporting.filters import Filters
from patronage.reporting.satisfaction import respondents_address
from patronage.settings import Settings
from patronage.storage import write_transaction
from patronage.storage.schema import customers
from patronage.web import create_app

# The seeded panel (conftest.seed_panel): response i (0..59) is customer 1 + i % 3, wave 2026-Q1
# for i < 30 else 2026-Q2, NPS answer (7 i) mod 11. Customer 2 is moved to North China here, so
# the filter region=North China keeps the 10 responses i % 3 == 1 of each wave.


def _nps(scores: list[int]) -> float:
    """NPS by its definition (Reichheld 2003, "The One Number You Need to Grow"): per cent of
    9–10 answers minus per cent of 0–6 answers."""
    return 100.0 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)


NORTH_Q2 = [(i * 7) % 11 for i in range(30, 60) if i % 3 == 1]


@pytest.fixture
def web(panel, db_url):
    engine, info = panel
    with write_transaction(engine) as conn:
        conn.execute(update(customers).where(customers.c.external_id == "C002")
                     .values(region="North China", tier="silver"))
    set_label(engine, "region", "North China", "zh_Hans", "华北")
    app = create_app(Settings(database_url=db_url, page_wait_seconds=120, warm_pages_seconds=0))
    with TestClient(app) as client:
        yield client, info["logins"]


def _rows(sheet) -> list[tuple]:
    return [row for row in sheet.iter_rows(values_only=True)]


def _page(client, address):
    response = client.get(address)
    assert response.status_code == 200, response.text[:400]
    return BeautifulSoup(response.text, "html.parser")


def test_filtered_report_has_the_filtered_pages_nps_and_n(web):
    client, logins = web
    _login(client, logins, "analyst")
    page = _page(client, "/?region=North+China")
    rows = page.select("#waves tbody tr")
    assert [r.find_all("td")[1].text for r in rows] == ["10", "10"]  # the page's n
    form = page.select_one("#report-export")
    fields = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
    assert fields == {"survey": "relationship", "region": "North China"}
    response = client.get(form["action"], params={**fields, "format": "xlsx"})
    assert response.status_code == 200
    first = load_workbook(io.BytesIO(response.content)).worksheets[0]
    cells = _rows(first)
    assert "筛选：地区 华北" in cells[1]  # under the title, beside the survey and wave
    kpis = {row[0]: row for row in cells if row and row[2:3] == ("n",)}
    assert kpis["NPS"][1] == pytest.approx(_nps(NORTH_Q2)) and kpis["NPS"][3] == 10
    assert kpis["回答数"][1] == 10
    everyone = load_workbook(io.BytesIO(client.get(
        "/reports/download", params={"format": "xlsx", "survey": "relationship"}).content))
    whole = {row[0]: row for row in _rows(everyone.worksheets[0]) if row and row[2:3] == ("n",)}
    assert whole["NPS"][3] == 30  # the unfiltered report still has every response
    assert not any(str(c).startswith("筛选") for row in _rows(everyone.worksheets[0]) for c in row)
    html = BeautifulSoup(client.get("/reports/download", params={**fields, "format": "html"}
                                    ).text, "html.parser")
    assert html.select_one("#report-filters").text == "筛选：地区 华北"
    # the customer-value and cases sections count the customers of North China
    assert "本节统计地区、行业、规模、等级和渠道筛选条件所保留的客户。" in html.text
    none = client.get("/reports/download", params={**fields, "format": "html",
                                                   "date_from": "2030-01-01"})
    assert none.status_code == 400 and "没有符合这些筛选条件的答卷" in none.text


def test_filtered_page_tables_equal_the_page(web):
    client, logins = web
    _login(client, logins, "analyst", "en")
    page = _page(client, "/?region=North+China&wave=2026-Q2")
    link = page.select_one("#export-tables")["href"]
    query = dict(parse_qsl(urlsplit(link).query))
    assert query.pop("page") == "overview"
    assert Filters.from_query(query) == Filters(survey="relationship", wave="2026-Q2",
                                                region="North China")
    book = load_workbook(io.BytesIO(client.get(link).content))
    cells = _rows(book.worksheets[0])
    assert "Filters: Wave 2026 Q2, Region North China" in cells[1], cells
    header = next(i for i, row in enumerate(cells) if row[:2] == ("Wave", "n"))
    assert not any(row[0] == "2026 Q1" for row in cells)  # the page's one wave only
    row = dict(zip(cells[header], cells[header + 1]))
    assert row["n"] == 10 and row["NPS"] == pytest.approx(_nps(NORTH_Q2))


def test_analysis_tables_and_report_refuse_an_unknown_filter_clearly(web):
    client, logins = web
    _login(client, logins, "analyst")
    page = _page(client, "/analysis?region=North+China")
    link = page.select_one("#export-tables")["href"]
    assert "region=North+China" in link
    assert client.get(link).status_code == 200
    wrong = client.get("/reports/tables", params={"page": "analysis", "region": "Mars"})
    assert wrong.status_code == 400 and "Mars" in wrong.text and "Traceback" not in wrong.text
    bad_day = client.get("/reports/download", params={"format": "html", "date_from": "31/03"})
    assert bad_day.status_code == 400 and "2026-03-31" in bad_day.text


def test_driver_links_keep_the_filters_and_the_list_applies_them(web):
    client, logins = web
    _login(client, logins, "analyst")
    # The seeded panel has too few items for the drivers section, so its link builder (the one
    # the section uses for each driver) is checked directly.
    link = respondents_address("relationship", "overall_satisfaction",
                               Filters(region="East China"))
    query = dict(parse_qsl(urlsplit(link).query))
    assert query.pop("item") == "overall_satisfaction"
    assert Filters.from_query(query) == Filters(survey="relationship", region="East China")
    listed = _page(client, link)
    ids = {r.select("td")[1].get_text() for r in listed.select("table#customer-list tbody tr")}
    assert ids <= {"C001", "C003"}  # C002 (North China) is left out
    assert "筛选：地区 East China" in listed.text
    form = listed.select_one("form[action='/analysis/respondents']")
    assert form.select_one("input[name=region]")["value"] == "East China"
    # The latest answers (test_selection): C001 rated overall satisfaction 5, C002 1, C003 9.
    rows = _page(client, "/analysis/respondents?item=overall_satisfaction&max=6"
                         "&region=East+China").select("table#customer-list tbody tr")
    assert [r.select("td")[1].get_text() for r in rows] == ["C001"]
    everyone = _page(client, "/analysis/respondents?item=overall_satisfaction&max=6")
    assert [r.select("td")[1].get_text() for r in everyone.select(
        "table#customer-list tbody tr")] == ["C002", "C001"]
    assert client.get("/analysis/respondents?item=overall_satisfaction&region=Mars"
                      ).status_code == 404


def test_the_warmer_prepares_the_comments_page_so_a_first_visit_is_ready(panel, db_url):
    """The comments page's default view is among the warmer's jobs in every language: with no
    waiting allowed (``page_wait_seconds=0``) a first visit still gets the page, not the
    "being prepared" note (202)."""
    from test_page_cache import _until

    from patronage.web import warming

    settings = Settings(database_url=db_url, page_wait_seconds=0, warm_pages_seconds=0.2)
    with TestClient(create_app(settings)) as client:
        jobs = warming.default_jobs(client.app)
        assert {job.params[-1] for job in jobs if job.page == "comments"} == {
            "en", "zh_Hans", "zh_Hant"}
        cache = client.app.state.page_cache
        # every page kept (not merely started: ``computed`` counts starts, and a job done twice
        # after a change of the data would overshoot it)
        _until(lambda: all(cache.ready(job.page, job.params) for job in jobs), 240)
        _login(client, panel[1]["logins"], "analyst", "zh_Hant")
        response = client.get("/comments")  # 202 "being prepared" had it not been warmed
        # (on SQLite the login's stored session is a data change: the page shown is then the
        # one warmed, marked as being updated, still not the "being prepared" note)
        assert response.status_code == 200 and "comments.css" in response.text


def test_analysis_tables_keep_the_flagged_checkbox(web, panel):
    """With "include responses flagged by cleaning" ticked the Analysis page's tables are
    computed on those responses too, as the page is."""
    from sqlalchemy import update as update_rows

    from patronage.storage.schema import responses

    client, logins = web
    with write_transaction(panel[0]) as conn:
        conn.execute(update_rows(responses).where(responses.c.id.in_([2, 5, 6]))
                     .values(quality_flags={"speeder": True}))
    _login(client, logins, "analyst", "en")
    link = _page(client, "/analysis?flagged=true").select_one("#export-tables")["href"]
    assert "flagged=true" in link
    plain = _page(client, "/analysis").select_one("#export-tables")["href"]
    assert "flagged" not in plain

    def first_wave_n(address):  # the NPS trend sheet: a row per wave, its n second
        book = load_workbook(io.BytesIO(client.get(address).content))
        sheet = next(book[name] for name in book.sheetnames if name.startswith("NPS trend"))
        return next(row[1] for row in _rows(sheet) if row[0] == "2026 Q1")

    # Responses 1, 4 and 5 of the seeded panel are in 2026-Q1: 30 with them, 27 without.
    assert first_wave_n(link) == 30 and first_wave_n(plain) == 27
