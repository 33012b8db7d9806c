"""The complaint analysis page (/cases/analysis) on a small seeded desk with a planted recovery
paradox (the fixture of test_complaint_analysis), on SQLite or PostgreSQL: who may see it, the
three groups with their n and intervals, the readings in plain words, the sections that cannot
be computed saying why, and no English on the Chinese pages."""

from __future__ import annotations

import json
import re

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from patronage.accounts import create_user
from patronage.cases import analysis
from patronage.settings import Settings
from patronage.web import create_app
from test_complaint_analysis import desk_history  # noqa: F401 (the seeded desk)
from test_web import csrf_of
from visible_english import english_words

pytestmark = pytest.mark.db
LOGINS = {"admin": ("admin@example.com", "Tide-Lantern-4417"),
          "analyst": ("analyst@example.com", "Maple-Signal-8830"),
          "agent": ("agent@example.com", "River-Copper-5126")}
CODES = {"East", "China", "North"}  # regions: data, not words


def _client(engine, db_url, **settings):
    for role, (email, password) in LOGINS.items():
        create_user(engine, email, password, role)
    client = TestClient(create_app(Settings(database_url=db_url, **settings)))
    client.info = {"logins": LOGINS}
    return client


def _login(client, role, language="zh_Hans"):
    client.cookies.set("patronage_lang", language)
    email, password = LOGINS[role]
    page = client.get("/login")
    response = client.post("/login", data={"email": email, "password": password, "next": "/",
                                           "csrf_token": csrf_of(page.text)},
                           follow_redirects=False)
    assert response.status_code == 303


def _soup(response):
    return BeautifulSoup(response.text, "html.parser")


@pytest.fixture
def paradox_client(desk_history, db_url):  # noqa: F811
    engine, _kind = desk_history
    with _client(engine, db_url) as client:
        client.engine = engine
        yield client


def test_only_admins_and_analysts_see_the_analysis(paradox_client):
    _login(paradox_client, "agent")
    assert paradox_client.get("/cases/analysis").status_code == 403
    assert "/cases/analysis" not in paradox_client.get("/cases").text
    for role in ("analyst", "admin"):
        _login(paradox_client, role)
        assert paradox_client.get("/cases/analysis").status_code == 200
        link = _soup(paradox_client.get("/cases")).select_one("#complaint-analysis")
        assert link["href"] == "/cases/analysis"


def test_the_planted_paradox_reads_in_plain_words(paradox_client):
    _login(paradox_client, "analyst")
    response = paradox_client.get("/cases/analysis")
    soup = _soup(response)
    section = soup.select_one("#section-paradox")
    rows = [[td.text.strip() for td in tr.select("td")]
            for tr in section.select("table.paradox-groups tbody tr")]
    assert [r[0] for r in rows] == ["投诉妥善解决", "从未投诉", "投诉处理欠佳"]
    assert [r[1] for r in rows] == ["100", "200", "100"]  # each group's n
    table = analysis.recovery_paradox(paradox_client.engine)
    expected = table.loc["resolved_well"]
    assert rows[0][2:] == [f"{expected['mean']:.2f}",
                           f"{expected['ci_low']:.2f} – {expected['ci_high']:.2f}"]
    gain = table.loc["resolved_well - never_complained"]
    reading = section.select(".reading")[0].text
    assert reading == (f"妥善解决投诉的客户，之后的推荐值比从未投诉的客户高 {gain['mean']:.1f} 分"
                       f"（95% 区间 {gain['ci_low']:.1f} 至 {gain['ci_high']:.1f}）。")
    differences = section.select("table.paradox-differences tbody tr")
    assert differences[0].select("td")[-1].text == "< 0.001"
    assert differences[0].select("td")[1].text == "300"
    figure = json.loads(section.select_one("[data-figure]")["data-figure"])
    bars = figure["data"][0]
    assert bars["x"] == ["投诉妥善解决", "从未投诉", "投诉处理欠佳"]
    assert bars["error_y"]["array"][0] == pytest.approx(expected["ci_high"] - expected["mean"])
    kept = soup.select_one("#section-retention")
    assert "再次购买的比例比从未投诉的客户高" in kept.select(".reading")[0].text
    assert "%" in kept.select("table.paradox-groups tbody tr td")[2].text
    assert not english_words(response.text, allowed=CODES)
    paradox_client.cookies.set("patronage_lang", "en")
    english = _soup(paradox_client.get("/cases/analysis")).select_one("#section-paradox .reading")
    assert english.text.startswith("Customers whose complaint was resolved well later gave a "
                                   f"likelihood to recommend {gain['mean']:.1f} points higher "
                                   "than customers who never complained")
    paradox_client.cookies.set("patronage_lang", "zh_Hant")
    hant = paradox_client.get("/cases/analysis")
    assert "從未投訴的客戶" in hant.text and not english_words(hant.text, allowed=CODES)


def test_volume_handling_and_coverage_carry_their_n(paradox_client):
    from patronage.labels import set_label

    set_label(paradox_client.engine, "region", "East China", "zh_Hans", "华东")
    _login(paradox_client, "admin")
    paradox_client.cookies.set("patronage_lang", "en")
    soup = _soup(paradox_client.get("/cases/analysis"))
    regions = {tr.select("td")[0].text: [td.text for td in tr.select("td")[1:]]
               for tr in soup.select("#section-volume-region tbody tr")}
    east = analysis.volume(paradox_client.engine, "region").loc["East China"]
    assert regions["East China"] == [str(int(east["cases"])), "200",
                                     f"{east['per_1000_customers']:,.1f}"]
    paradox_client.cookies.set("patronage_lang", "zh_Hans")  # the company's label of the region
    soup = _soup(paradox_client.get("/cases/analysis"))
    assert "华东" in {tr.select("td")[0].text
                    for tr in soup.select("#section-volume-region tbody tr")}
    category = soup.select("#section-volume-category tbody tr")
    assert [td.text for td in category[0].select("td")][:2] == ["未填写", "200"]
    months = [tr.select("td")[0].text for tr in soup.select("#section-volume-month tbody tr")]
    assert months and all(re.fullmatch(r"2025-0[1-3]", m) for m in months)
    month_chart = json.loads(soup.select_one("#chart-volume-month")["data-figure"])
    assert month_chart["layout"]["xaxis"]["type"] == "category"  # not read as English dates
    times = soup.select("#handling-times tbody tr")
    assert [td.text for td in times[0].select("td")][:3] == ["首次响应所用小时", "200", "2.0"]
    rates = soup.select("#handling-rates tbody tr")
    assert [td.text for td in rates[0].select("td")][:3] == ["在服务水平内解决", "200", "50.0%"]
    assert soup.select_one("#recovery-cost").text.startswith("补救成本（已批准的补救措施）：¥0")
    coverage = soup.select_one("#coverage-text").text
    assert coverage.startswith("已知客户的 ") and "中有 0 名获得了工单跟进" in coverage


def test_small_groups_and_sections_that_cannot_be_computed_say_so(paradox_client, db_url):
    with _client_again(paradox_client, db_url, min_sample=150) as client:
        _login(client, "analyst")
        soup = _soup(client.get("/cases/analysis"))
    note = soup.select_one("#section-paradox .small-sample").text
    assert "少于 150 名" in note
    small = soup.select("#section-paradox tr.too-small")
    assert len(small) == 2 and "样本过小" in small[0].text


def _client_again(client, db_url, **settings):
    return TestClient(create_app(Settings(database_url=db_url, **settings)))


def test_an_empty_desk_says_why_in_every_language(engine, db_url):
    with _client(engine, db_url) as client:
        for language, words in (("zh_Hans", "还没有工单"), ("zh_Hant", None), ("en", "no cases")):
            _login(client, "admin", language)
            response = client.get("/cases/analysis")
            assert response.status_code == 200
            problems = [p.text for p in _soup(response).select(".problem")]
            assert len(problems) == 9  # every section, none with a number
            if words:
                assert any(words in p for p in problems), problems
            if language != "en":
                assert not english_words(response.text)


def test_the_analysis_is_computed_once_for_every_language(paradox_client, monkeypatch):
    """The page is computed in the background and kept per data version: a second language
    only translates and draws (the recovery paradox is computed once for the satisfaction
    and once for the retention section, not again), and a repeat visit computes nothing."""
    calls = []
    original = analysis.recovery_paradox

    def counted(*args, **kwargs):
        calls.append(kwargs.get("retention", False))
        return original(*args, **kwargs)

    monkeypatch.setattr(analysis, "recovery_paradox", counted)
    _login(paradox_client, "analyst")
    chinese = paradox_client.get("/cases/analysis")
    assert chinese.status_code == 200 and sorted(calls) == [False, True]
    paradox_client.cookies.set("patronage_lang", "en")  # the same session: no data change
    english = paradox_client.get("/cases/analysis")
    assert english.status_code == 200 and "Recovery paradox" in english.text
    cache = paradox_client.app.state.page_cache
    computed = cache.computed
    assert paradox_client.get("/cases/analysis").text == english.text
    assert sorted(calls) == [False, True] and cache.computed == computed


def test_the_warmer_prepares_the_analysis_so_a_first_visit_is_ready(desk_history, db_url):  # noqa: F811
    """The complaint analysis is among the warmer's jobs in every language: with no waiting
    allowed a first visit gets the page, not the "being prepared" note (202)."""
    from test_page_cache import _until

    from patronage.web import cases as case_pages
    from patronage.web import dashboards, warming

    engine, _kind = desk_history
    with _client(engine, db_url, page_wait_seconds=0, warm_pages_seconds=0.2) as client:
        jobs = case_pages.default_jobs(client.app)
        assert {job.params for job in jobs} == {("en",), ("zh_Hans",), ("zh_Hant",)}
        cache = client.app.state.page_cache
        every = warming.default_jobs(client.app) + dashboards.default_jobs(client.app) + jobs
        _until(lambda: all(cache.ready(job.page, job.params) for job in every), 240)
        _login(client, "analyst", "zh_Hant")
        response = client.get("/cases/analysis")  # 202 "being prepared" had it not been warmed
        # (on SQLite the login's stored session is a data change: the page shown is then the
        # one warmed, marked as being updated, still not the "being prepared" note)
        assert response.status_code == 200 and "section-paradox" in response.text
