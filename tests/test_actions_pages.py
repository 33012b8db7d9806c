"""The action pages in Chinese on the selected database: the board's groups and counts and its
filters, a new action prefilled from an analysis, an action's measured effect in words, updating
it, who may do what, the escaping of free text and no English on the pages."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from action_data import add_later_wave, plant_survey
from patronage.actions.records import create_action, update_action
from patronage.labels import set_labels
from patronage.settings import Settings
from patronage.web import create_app
from staff_login import log_in
from visible_english import english_words

pytestmark = pytest.mark.db


@pytest.fixture
def client(panel, db_url):
    engine, info = panel
    plant_survey(engine, later_wave=False)
    set_labels(engine, [("region", "East China", "zh_Hans", "华东"),
                        ("region", "North China", "zh_Hans", "华北")])
    app = create_app(Settings(database_url=db_url))
    with TestClient(app) as test_client:
        test_client.info = info
        test_client.engine = engine
        yield test_client


def _page(client, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return BeautifulSoup(response.text, "html.parser")


def _form(page: BeautifulSoup, form_id: str) -> dict:
    form = page.find(id=form_id)
    fields = {f["name"]: f.get("value", "") for f in form.find_all("input") if f.get("name")}
    for select in form.find_all("select"):
        chosen = select.find("option", selected=True) or select.find("option")
        fields[select["name"]] = chosen.get("value", "") if chosen else ""
    return fields


def test_a_new_action_from_an_ipa_row_is_prefilled_added_and_measured(client):
    log_in(client, "analyst")
    page = _page(client, "/actions/new?source=ipa&ref=service&survey=planted")
    fields = _form(page, "action-form")
    assert fields["title"] == "改进服务" and fields["metric"] == "dimension:service"
    assert fields["source"] == "ipa" and fields["survey"] == "planted"
    assert "重要性–绩效：重点改进区" in page.find(id="action-source").text
    assert english_words(str(page), allowed={"Relationship"}) == []  # the seed panel's survey
    fields.update(due="2026-03-31", target="0.5", budget="20000", segment="region=East+China",
                  metric="item:speed_timeliness", title="缩短服务响应时间 <b>快</b>")
    bad = client.post("/actions/new", data={**fields, "budget": "很多"})
    assert bad.status_code == 400 and "预算必须是数字" in bad.text
    made = client.post("/actions/new", data=fields, follow_redirects=False)
    assert made.status_code == 303
    shown = _page(client, made.headers["location"])
    assert shown.find(id="notice").text.strip() == "措施已添加。"
    assert shown.find(id="effect-sentence").text.strip() == "基线之后尚无新一轮调查或答卷。"
    add_later_wave(client.engine)  # the next wave arrives
    shown = _page(client, made.headers["location"])
    sentence = shown.find(id="effect-sentence").text.strip()
    assert re.fullmatch(r"及时性 \+\d\.\d\d，显著（与其他客户相比）；目标 \+0\.50 已达成", sentence)
    assert "<b>快</b>" in shown.find("h1").text  # escaped, shown as typed
    assert "双重差分" in shown.find(id="effect-facts").text
    cells = shown.find(id="effect-table").select("td.n .meta")
    shown_mean = re.compile(r"\d+\.\d\d\xa0…\xa0\d+\.\d\d · n\xa0=\xa0120")  # 95% interval, n
    assert len(cells) == 4 and all(shown_mean.fullmatch(c.text) for c in cells)
    assert english_words(str(shown), allowed={"OLS"}) == []


def test_the_board_groups_filters_and_updates(client):
    engine = client.engine
    late = create_action(engine, title="迟到的措施", due="2020-01-31", metric="nps",
                         survey="planted", owner="agent@example.com")
    works = create_action(engine, title="有效的措施", due="2030-01-31",
                          metric="item:speed_timeliness", survey="planted",
                          segment="region=East China", target="0.5", baseline_wave="2026-Q1",
                          owner="analyst@example.com")
    update_action(engine, works, status="done")
    add_later_wave(engine)
    log_in(client, "analyst")
    page = _page(client, "/actions")
    assert page.find(id="group-late").find(class_="tab-n").text == "1"
    assert page.find(id="group-achieved").find(class_="tab-n").text == "1"
    assert page.find(id="menu-actions").text.strip() == "改进措施"
    assert english_words(str(page)) == []
    only_late = _page(client, "/actions?group=late")
    assert [tr["data-action"] for tr in only_late.select("tr[data-action]")] == [str(late)]
    assert "已逾期" in only_late.find(id="group-late").text
    agent_id = only_late.find("option", string=re.compile("agent@example.com"))["value"]
    mine = _page(client, f"/actions?owner={agent_id}")
    assert [tr["data-action"] for tr in mine.select("tr[data-action]")] == [str(late)]
    detail = _page(client, f"/actions/{late}")
    fields = _form(detail, "update-form")
    changed = client.post(f"/actions/{late}", data={**fields, "status": "in_progress",
                                                    "note": "已联系供应商"},
                          follow_redirects=False)
    assert changed.status_code == 303
    history = _page(client, f"/actions/{late}").find(id="history").text
    assert "计划中 → 进行中" in history and "已联系供应商" in history
    again = _form(_page(client, f"/actions/{late}"), "update-form")
    assert client.post(f"/actions/{late}", data=again).status_code == 400  # nothing changed
    analyst_id = only_late.find("option", string=re.compile("analyst@example.com"))["value"]
    moved = client.post(f"/actions/{late}", data={**again, "owner": analyst_id},
                        follow_redirects=False)
    assert moved.status_code == 303
    assert _form(_page(client, f"/actions/{late}"), "update-form")["owner"] == analyst_id


def test_agents_see_the_board_and_change_only_their_own_actions(client):
    engine = client.engine
    theirs = create_action(engine, title="A", due="2026-03-31", survey="planted",
                           owner="agent@example.com")
    other = create_action(engine, title="B", due="2026-03-31", survey="planted",
                          owner="analyst@example.com")
    log_in(client, "agent")
    assert client.get("/actions").status_code == 200
    assert client.get("/actions/new").status_code == 403
    token = _form(_page(client, f"/actions/{theirs}"), "update-form")
    ok = client.post(f"/actions/{theirs}", data={**token, "status": "in_progress"},
                     follow_redirects=False)
    assert ok.status_code == 303
    assert client.post(f"/actions/{other}", data={**token, "status": "done"}).status_code == 403
    assert client.get("/actions/999").status_code == 404
    missing_csrf = client.post(f"/actions/{theirs}", data={"status": "done"})
    assert missing_csrf.status_code in (400, 403)


def test_the_analysis_page_offers_an_action_on_drivers_and_what_to_concentrate_on(client):
    log_in(client, "analyst")
    page = _page(client, "/analysis?survey=planted&region=East+China")
    drivers = page.find(id="section-drivers").select("a.plan-action")
    assert drivers and all(a.text == "制定改进措施" for a in drivers)
    assert {a["href"] for a in drivers} == {
        f"/actions/new?source=driver&ref={code}&survey=planted&segment=region%3DEast%2BChina"
        for code in ("service", "price")}
    ipa = page.find(id="section-ipa")
    focus = [row for row in ipa.select("tbody tr") if "重点改进" in row.text]
    assert len(focus) == 1 and "服务" in focus[0].text
    assert [a["href"] for a in ipa.select("a.plan-action")] == [
        "/actions/new?source=ipa&ref=service&survey=planted&segment=region%3DEast%2BChina"]
    form = _form(_page(client, drivers[0]["href"]), "action-form")
    assert form["segment"] == "region=East+China" and form["source"] == "driver"
