"""The journey view and the service standards pages in Chinese on the selected database: the
touchpoints per kind with cases per 1,000 and detractors' mentions, a standard's compliance per
site with the p chart's special cause, satisfaction within against outside, who may see them,
escaping and no English on the pages."""

from __future__ import annotations

from datetime import datetime

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import update
from fastapi.testclient import TestClient

from patronage.labels import set_labels
from patronage.settings import Settings
from patronage.standards.records import add_standard
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import cases, touchpoints, users
from patronage.web import create_app
from staff_login import log_in
from test_standards import _calls
from visible_english import english_words

pytestmark = pytest.mark.db


@pytest.fixture
def client(panel, db_url):
    engine, info = panel
    _calls(engine)
    with write_transaction(engine) as conn:
        insert_rows(conn, touchpoints, [
            {"customer_id": 1, "kind": "delivery", "occurred_at": datetime(2026, m, 25),
             "waiting_seconds": 86400.0} for m in (1, 4)])
        insert_rows(conn, cases, [{"customer_id": 1, "type": "complaint", "status": "new",
                                   "subject": "late", "touchpoint_kind": "delivery",
                                   "opened_at": datetime(2026, 5, 1)}])
    set_labels(engine, [("site", "北京", "zh_Hans", "北京总部<b>")])
    add_standard(engine, code="answer-20s", name="接听<script>20秒", metric="waiting",
                 threshold="20s", target="80%", touchpoint="inquiry",
                 owner="analyst@example.com")
    app = create_app(Settings(database_url=db_url))
    with TestClient(app) as test_client:
        test_client.info = info
        yield test_client


def _page(client, url: str) -> tuple[BeautifulSoup, str]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return BeautifulSoup(response.text, "html.parser"), response.text


def test_the_journey_view_in_chinese(client):
    log_in(client, "analyst")
    page, html = _page(client, "/journey")
    rows = {tr["id"]: [c.get_text(" ", strip=True) for c in tr.select("th, td")]
            for tr in page.select("#journey tbody tr")}
    assert rows["kind-inquiry"][0] == "咨询" and rows["kind-inquiry"][1] == "480"
    # One case about deliveries per 2 deliveries: 500 per 1,000.
    assert rows["kind-delivery"][0] == "交付" and rows["kind-delivery"][6].startswith("500.0")
    # The one detractor's comment, "交货太慢", mentions deliveries: 100% of 1.
    assert rows["kind-delivery"][7].startswith("100.0%") and "(1;" in rows["kind-delivery"][7]
    assert rows["kind-inquiry"][7].startswith("0.0%")
    assert not english_words(html), english_words(html)


def test_the_standards_list_and_one_standard_per_site(client):
    with write_transaction(client.app.state.engine) as conn:  # the owner is named, not mailed
        conn.execute(update(users).where(users.c.email == "analyst@example.com")
                     .values(display_name="王分析"))
    log_in(client, "analyst")
    page, html = _page(client, "/standards")
    card = page.select_one("#standard-answer-20s")
    assert "王分析" in card.text and "analyst@example.com" not in card.text
    assert "接听<script>20秒" in card.h2.text and "<script>" not in html
    assert "咨询" in card.text and "20 秒" in card.text and "80%" in card.text
    assert not english_words(html), english_words(html)
    page, html = _page(client, "/standards/answer-20s?by=site&unit=北京")
    assert "北京总部<b>" in page.select_one("#compliance h2").text  # the label, escaped
    april = [tr for tr in page.select("#periods tbody tr") if "2026-04" in tr.text][0]
    assert "signal" in april["class"] and "30.0%" in april.text
    assert page.select_one("#chart-p")["data-figure"].startswith("{")
    where = [span.text for span in page.select("#signal-units .where")]
    assert "全公司" in where and "网点 北京总部<b>" in where
    assert page.select_one("#satisfaction")
    assert not english_words(html), english_words(html)


def test_who_may_see_them(client):
    log_in(client, "agent")
    assert client.get("/standards").status_code == 403
    assert client.get("/journey").status_code == 403
    log_in(client, "analyst")
    assert client.get("/standards/nope").status_code == 404


def test_empty_pages_say_what_to_do(panel, db_url):
    engine, info = panel
    add_standard(engine, code="invoice-right", name="发票一次正确", metric="right_first_time",
                 target="99%", touchpoint="invoice")
    add_standard(engine, code="complaint-48h", name="投诉 48 小时内解决", metric="resolution",
                 threshold="48h", target="90%", period="week")
    app = create_app(Settings(database_url=db_url))
    with TestClient(app) as client:
        client.info = info
        log_in(client, "analyst")
        page, html = _page(client, "/journey")
        assert not english_words(html), english_words(html)
        page, html = _page(client, "/standards")
        assert "尚无数据" in page.select_one("#standard-invoice-right").text
        for code in ("invoice-right", "complaint-48h"):
            page, html = _page(client, f"/standards/{code}?by=agent")
            assert page.select_one("#compliance .empty") and not english_words(html)


def test_an_analyst_adds_a_standard_on_the_page(client):
    log_in(client, "analyst")
    page, _html = _page(client, "/standards")
    token = page.select_one("#new-standard input[name=csrf_token]")["value"]
    form = {"csrf_token": token, "code": "install-4h", "name": "4 小时内到场",
            "metric": "waiting", "touchpoint": "installation", "threshold": "4 小时",
            "working_hours": "1", "target": "90%", "period": "week"}
    bad = client.post("/standards", data={**form, "threshold": "soon"})
    assert bad.status_code == 400
    shown = BeautifulSoup(bad.text, "html.parser")
    assert "阈值必须是时长" in shown.select_one("#user-error").text
    assert shown.select_one("#new-standard input[name=name]")["value"] == "4 小时内到场"
    assert not english_words(bad.text), english_words(bad.text)
    done = client.post("/standards", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/standards/install-4h"
    page, html = _page(client, "/standards/install-4h")
    assert "安装" in page.select_one(".promise").text and "（工作时间）" in html
    assert client.post("/standards", data={**form, "csrf_token": "x"}).status_code in (400, 403)


def test_small_groups_are_not_judged_and_the_signals_fold_per_place(panel, db_url):
    engine, info = panel
    _calls(engine)  # 40 calls a site and month, 10 an agent
    set_labels(engine, [("site", "北京", "zh_Hans", "北京总部")])
    add_standard(engine, code="answer-20s", name="20秒内接听", metric="waiting",
                 threshold="20s", target="80%", touchpoint="inquiry")
    with TestClient(create_app(Settings(database_url=db_url, standard_min_events=30))) as client:
        client.info = info
        log_in(client, "analyst")
        page, html = _page(client, "/standards/answer-20s?by=agent&unit=北京-1")
        assert page.select_one("#not-judged").text == "样本太少（n = 10），不判断"
        assert page.select_one("#chart-p") is None
        assert not page.select("#periods tr.signal")
        unjudged = [li.text for li in page.select("#unjudged li")]
        assert len(unjudged) == 8 and "人员 北京-1（n\xa0=\xa010）" in unjudged
        assert page.select_one("#unjudged summary").text == "8 处样本太少，不判断"
        # The flagged places: the whole company and Beijing (its April), the latest first.
        where = [span.text for span in page.select("#signal-units .where")]
        assert where and set(where) <= {"全公司", "网点 北京总部", "团队 北京热线"}
        assert "网点 北京总部" in where and not any("人员" in w for w in where)
        count = page.select_one("#signal-count").text
        assert f"涉及 {len(where)} 处" in count
        assert "仅判断事件数不少于 30 的周期" in html
        assert not english_words(html), english_words(html)


def test_a_repeat_visit_is_kept_until_the_data_change(client):
    log_in(client, "analyst")
    _page(client, "/standards/answer-20s?by=site&unit=北京")
    cache = client.app.state.standard_pages
    computed = cache.computed
    _page(client, "/standards/answer-20s?by=site&unit=北京")
    assert cache.computed == computed and cache.hits >= 1
    # A new call outside the standard changes the share: the page is computed again.
    with write_transaction(client.app.state.engine) as conn:
        insert_rows(conn, touchpoints, [
            {"customer_id": 3, "kind": "inquiry", "channel": "phone", "site": "北京",
             "occurred_at": datetime(2026, 6, 2, 9, 0), "waiting_seconds": 500.0}])
    page, _html = _page(client, "/standards/answer-20s?by=site&unit=北京")
    assert cache.computed == computed + 1
    june = [tr for tr in page.select("#periods tbody tr") if "2026-06" in tr.text][0]
    assert june.select("td")[1].text == "41"


def test_the_list_names_owners_as_they_are_now_and_logins_keep_it(client):
    log_in(client, "analyst")
    _page(client, "/standards")
    with write_transaction(client.app.state.engine) as conn:  # renamed after the first visit
        conn.execute(update(users).where(users.c.email == "analyst@example.com")
                     .values(display_name="林分析"))
    page, _html = _page(client, "/standards")
    assert "林分析" in page.select_one("#standard-answer-20s").text
    cache = client.app.state.standard_pages
    computed = cache.computed
    log_in(client, "analyst")  # a login writes the session and the user's last login
    page, _html = _page(client, "/standards")
    assert "林分析" in page.select_one("#standard-answer-20s").text
    assert cache.computed == computed  # the figures were kept
