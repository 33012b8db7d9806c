"""The case desk's pages through an in-process client: work queues, a case's page and its forms,
opening a case, the alert rules, on SQLite or PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from patronage.cases import desk, rules, setup
from patronage.cases.desk import NewCase
from patronage.cases.inputs import now_utc
from patronage.settings import Settings
from patronage.storage import write_transaction
from patronage.storage.schema import cases
from patronage.web import create_app
from test_web import csrf_of, login
from visible_english import english_words

pytestmark = pytest.mark.db
CODES = {"relationship", "Northwind", "Traders", "detractors", "complaints", "East", "China",
         "gold", "Relationship"}  # data (names, codes, the seeded survey's title), not words


def seed_desk(engine) -> dict[str, str]:
    """Two teams (the agent in 东区服务组 only), categories, a policy and three cases: one for each
    team and one whose subject is markup. Returns their numbers."""
    setup.add_category(engine, "delivery", en="Delivery", zh_hans="交付", zh_hant="交付")
    setup.add_category(engine, "damage", en="Damaged goods", zh_hans="货物破损",
                       zh_hant="貨物破損", parent="delivery")
    setup.add_team(engine, "东区服务组", lead="analyst@example.com", members=["agent@example.com"])
    setup.add_team(engine, "大客户组", members=["admin@example.com"])
    setup.add_policy(engine, "standard", first_response_minutes=120, resolution_minutes=480)
    numbers = {
        "east": desk.open_case(engine, NewCase(customer="C001", subject="货物破损，要求换货",
                                               category="damage", team="东区服务组")),
        "key": desk.open_case(engine, NewCase(customer="C003", subject="大客户发票问题",
                                              team="大客户组", severity="high")),
        "markup": desk.open_case(engine, NewCase(customer="C002",
                                                 subject="<script>alert(1)</script>",
                                                 team="东区服务组", severity="urgent")),
    }
    return numbers


@pytest.fixture
def desk_client(panel, db_url):
    engine, info = panel
    numbers = seed_desk(engine)
    app = create_app(Settings(database_url=db_url))
    with TestClient(app) as client:
        client.info, client.engine, client.numbers = info, engine, numbers
        yield client


def _as(client, role, language="zh_Hans"):
    client.cookies.set("patronage_lang", language)
    assert login(client, role).status_code == 303


def _page(response):
    return BeautifulSoup(response.text, "html.parser")


def _post(client, path, data, page_path=None):
    token = csrf_of(client.get(page_path or path).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def _queue_numbers(response) -> list[str]:
    return [row["data-number"] for row in _page(response).select("table#queue tbody tr")]


def test_an_agent_sees_only_their_teams_cases(desk_client):
    east, key, markup = (desk_client.numbers[k] for k in ("east", "key", "markup"))
    _as(desk_client, "agent")
    teams = desk_client.get("/cases?tab=team")
    assert teams.status_code == 200
    assert set(_queue_numbers(teams)) == {east, markup}
    assert "tab-all" not in teams.text  # "all" is for analysts and admins
    assert set(_queue_numbers(desk_client.get("/cases?tab=all"))) <= {east, markup}
    assert desk_client.get(f"/cases/{east}").status_code == 200
    assert desk_client.get(f"/cases/{key}").status_code == 403
    assert desk_client.get("/cases/rules").status_code == 403
    forged = _post(desk_client, f"/cases/{key}/note", {"body": "看看"}, f"/cases/{east}")
    assert forged.status_code == 403


def test_admins_and_analysts_see_every_case(desk_client):
    for role in ("admin", "analyst"):
        _as(desk_client, role)
        page = desk_client.get("/cases?tab=all")
        seeded = "C000001"  # the panel's own case (no team)
        assert set(_queue_numbers(page)) == {seeded, *desk_client.numbers.values()}, role
        assert _page(page).select_one("#count").text.startswith("4")
        assert desk_client.get(f"/cases/{desk_client.numbers['key']}").status_code == 200
    assert desk_client.get("/cases/rules").status_code == 403  # analysts: not the rules


def test_queue_rows_show_labels_links_and_due_text(desk_client):
    engine, east = desk_client.engine, desk_client.numbers["east"]
    with write_transaction(engine) as conn:  # one case 3 hours late, another due in 2 hours
        conn.execute(update(cases).where(cases.c.subject == "货物破损，要求换货")
                     .values(resolution_due_at=now_utc() - timedelta(hours=3, minutes=5)))
        conn.execute(update(cases).where(cases.c.severity == "urgent")
                     .values(resolution_due_at=now_utc() + timedelta(hours=2, minutes=5),
                             first_response_due_at=now_utc() + timedelta(hours=1)))
    _as(desk_client, "agent")
    page = _page(desk_client.get("/cases?tab=team"))
    row = page.select_one(f'tr[data-number="{east}"]')
    assert row.select_one("td.number a")["href"] == f"/cases/{east}"
    assert row.select_one("td.customer a")["href"] == "/customers/1"
    assert "已分配" in row.text and "普通" in row.text
    assert row.select_one(".due-breached").text.strip() == "已超时3小时"
    assert "state-breached" in row["class"]
    urgent = page.select_one(f'tr[data-number="{desk_client.numbers["markup"]}"]')
    assert urgent.select_one(".due-soon").text.strip() == "2小时后到期"
    assert "紧急" in urgent.text
    breached = desk_client.get("/cases?tab=breached")
    assert _queue_numbers(breached) == [east]
    assert _queue_numbers(desk_client.get("/cases?tab=due_soon")) == [
        desk_client.numbers["markup"]]
    assert _queue_numbers(desk_client.get("/cases?tab=due_soon&hours=1")) == []
    for odd in ("nan", "inf", "-5"):  # read as a window from 15 minutes to 30 days
        assert desk_client.get(f"/cases?tab=due_soon&hours={odd}").status_code == 200
    assert _queue_numbers(desk_client.get("/cases?tab=team&severity=urgent")) == [
        desk_client.numbers["markup"]]
    assert _queue_numbers(desk_client.get("/cases?tab=team&category=damage")) == [east]
    assert _queue_numbers(desk_client.get("/cases?tab=team&q=northwind")) == [
        desk_client.numbers["markup"]]
    assert _queue_numbers(desk_client.get("/cases?tab=team&q=%25")) == []  # % is a character
    assert not english_words(breached.text, allowed=CODES)


def test_the_menu_counts_my_open_cases(desk_client):
    _as(desk_client, "agent")
    badge = _page(desk_client.get("/customers")).select_one("#menu-cases")
    assert badge.text.split()[0] == "工单" and badge.select_one(".count").text == "2"
    assert set(_queue_numbers(desk_client.get("/cases"))) == {desk_client.numbers["east"],
                                                               desk_client.numbers["markup"]}


def test_reply_note_and_status_steps_redirect_with_a_notice(desk_client):
    east = desk_client.numbers["east"]
    _as(desk_client, "agent")
    page = f"/cases/{east}"
    response = _post(desk_client, f"{page}/reply", {"body": "已安排换货，明天送到"}, page)
    assert response.status_code == 303 and response.headers["location"] == f"{page}?done=replied"
    shown = _page(desk_client.get(response.headers["location"]))
    assert "回复已发送" in shown.select_one("#notice").text
    assert shown.select_one("#case-status").text == "处理中"
    assert _post(desk_client, f"{page}/note", {"body": "客户脾气急"}, page).status_code == 303
    shown = _page(desk_client.get(page))
    note = shown.select("li.event.internal.kind-note")[-1]
    assert "客户脾气急" in note.text and "仅内部可见" in note.text
    reply = shown.select_one("li.event.customer.kind-reply")
    assert "客户可见" in reply.text and "agent@example.com" in reply.text
    steps = [b["value"] for b in shown.select("#status-form button")]
    assert steps == ["waiting", "resolved", "closed"]
    assert _post(desk_client, f"{page}/status", {"to": "resolved", "note": "已换货"},
                 page).status_code == 303
    shown = _page(desk_client.get(page))
    assert shown.select_one("#case-status").text == "已解决"
    assert "处理中 → 已解决" in shown.select_one("#timeline").text
    assert shown.select_one("#reopen-form") is not None
    assert [b["value"] for b in shown.select("#status-form button")] == ["closed"]
    assert not english_words(desk_client.get(page).text, allowed=CODES)


def test_forms_refuse_bad_input_in_the_readers_language(desk_client):
    east = desk_client.numbers["east"]
    _as(desk_client, "agent")
    page = f"/cases/{east}"
    empty = _post(desk_client, f"{page}/reply", {"body": "  "}, page)
    assert empty.status_code == 400
    assert "必填" in _page(empty).select_one("#user-error").text
    reopen = _post(desk_client, f"{page}/reopen", {"reason": "客户不满意"}, page)
    assert reopen.status_code == 400
    error = _page(reopen).select_one("#user-error").text
    assert "已分配" in error and "assigned" not in error  # the status as its label
    assert _post(desk_client, f"{page}/status", {"to": "new"}, page).status_code == 422
    _post(desk_client, f"{page}/status", {"to": "closed"}, page)
    late = _post(desk_client, f"{page}/note", {"body": "补充"}, page)
    assert late.status_code == 400 and "已关闭" in _page(late).select_one("#user-error").text
    assert _post(desk_client, f"{page}/reopen", {"reason": "客户不满意"}, page).status_code == 303
    assert _page(desk_client.get(page)).select_one("#case-status").text == "已分配"
    assert desk_client.get("/cases/C999999").status_code == 404
    assert desk_client.get("/cases/nonsense").status_code == 404


def test_assigning_one_case_and_a_selection(desk_client):
    east, markup = desk_client.numbers["east"], desk_client.numbers["markup"]
    engine = desk_client.engine
    with engine.connect() as conn:
        ids = dict(conn.execute(select(cases.c.subject, cases.c.id)).all())
    _as(desk_client, "admin")
    admin_id = desk_client.get("/cases")  # the admin's id from the owner choices
    option = _page(admin_id).find("option", string="admin@example.com")["value"]
    page = f"/cases/{east}"
    response = _post(desk_client, f"{page}/assign", {"owner": option, "team": "大客户组"}, page)
    assert response.status_code == 303
    assert _page(desk_client.get(page)).select_one("#case-owner").text == "admin@example.com"
    bulk = _post(desk_client, "/cases/assign",
                 {"numbers": [east, markup], "owner": option, "tab": "all"}, "/cases")
    assert bulk.status_code == 303 and "done=bulk" in bulk.headers["location"]
    notice = _page(desk_client.get(bulk.headers["location"])).select_one("#notice").text
    assert "2" in notice
    with engine.connect() as conn:
        owners = set(conn.execute(select(cases.c.owner_id).where(
            cases.c.id.in_([ids["货物破损，要求换货"], ids["<script>alert(1)</script>"]]))).scalars())
    assert owners == {int(option)}
    nothing = _post(desk_client, "/cases/assign", {"owner": option}, "/cases")
    assert nothing.status_code == 400 and "选择" in _page(nothing).select_one("#user-error").text


def test_opening_a_case_from_the_customer_profile(desk_client):
    _as(desk_client, "agent")
    profile = _page(desk_client.get("/customers/1"))
    link = profile.select_one("#open-case")["href"]
    assert link == "/cases/new?customer=C001"
    row = profile.select_one("table#cases tbody tr")
    assert row.select_one("a")["href"].startswith("/cases/C")
    assert "已分配" in row.text
    form = _page(desk_client.get(link))
    assert form.select_one("#customer")["value"] == "C001"
    categories = [o.text for o in form.select("#category option")]
    assert categories == ["无", "交付", "· 货物破损"]
    response = _post(desk_client, "/cases/new", {
        "customer": "C001", "subject": "安装延误", "description": "师傅没来", "type": "complaint",
        "category": "delivery", "severity": "high", "channel": "phone", "contact": "138",
        "team": "东区服务组"}, link)
    assert response.status_code == 303
    number = re.match(r"/cases/(C\d+)\?done=opened", response.headers["location"]).group(1)
    shown = _page(desk_client.get(response.headers["location"]))
    assert "安装延误" in shown.select_one("#case-title").text
    assert shown.select_one("#case-category").text == "交付"
    assert "工单已创建" in shown.select_one("#notice").text
    assert number in _queue_numbers(desk_client.get("/cases?tab=team"))
    bad = _post(desk_client, "/cases/new", {"customer": "NOPE", "subject": "x",
                                            "type": "complaint", "severity": "normal",
                                            "channel": "phone"}, "/cases/new")
    assert bad.status_code == 400
    assert "NOPE" in _page(bad).select_one("#user-error").text
    assert _page(bad).select_one("#subject")["value"] == "x"  # what was typed stays
    assert not english_words(desk_client.get("/cases/new").text, allowed=CODES)


def test_alert_rules_page_for_admins(desk_client):
    engine = desk_client.engine
    rules.add_rule(engine, "detractors", "贬损者回访", "nps <= 6", from_start=True)
    rules.apply_rules(engine)
    _as(desk_client, "admin")
    page = _page(desk_client.get("/cases/rules"))
    row = page.select_one('tr[data-code="detractors"]')
    assert "nps <= 6" in row.text and int(row.select_one("td.n").text) > 0
    added = _post(desk_client, "/cases/rules", {
        "code": "complaints", "name": "投诉关键词", "condition": "comment contains 投诉|退货",
        "type": "complaint", "severity": "high", "category": "delivery",
        "survey": "relationship"}, "/cases/rules")
    assert added.status_code == 303
    assert "规则已添加" in _page(desk_client.get(added.headers["location"])).text
    bad = _post(desk_client, "/cases/rules", {"code": "x", "name": "x", "condition": "nps is low",
                                              "type": "detractor", "severity": "normal"},
                "/cases/rules")
    assert bad.status_code == 400 and "nps is low" in _page(bad).select_one("#user-error").text
    off = _post(desk_client, "/cases/rules/complaints/off", {}, "/cases/rules")
    assert off.status_code == 303
    assert [r["active"] for r in rules.list_rules(engine)] == [True, False]
    assert not english_words(desk_client.get("/cases/rules").text,
                             allowed=CODES | {"nps", "comment", "contains", "key_account", "and"})


def test_pages_in_every_language_and_no_english_on_chinese_ones(desk_client):
    east = desk_client.numbers["east"]
    for language, word in (("zh_Hans", "等待客户"), ("zh_Hant", "等待客戶"), ("en", "Waiting")):
        _as(desk_client, "admin", language)
        for path in ("/cases", "/cases?tab=all", f"/cases/{east}", "/cases/new",
                     "/cases/rules", "/customers/1"):
            response = desk_client.get(path)
            assert response.status_code == 200, (language, path)
            if language != "en":
                assert not english_words(response.text, allowed=CODES), (language, path)
        assert word in desk_client.get("/cases?tab=all").text
        kind = {"zh_Hans": "贬损者回访", "zh_Hant": "貶損者回訪", "en": "Detractor follow-up"}
        assert kind[language] in _page(desk_client.get("/cases/rules")).select_one("#rule-type").text
        desk_client.post("/logout", data={"csrf_token": csrf_of(desk_client.get("/cases").text)})


def test_subjects_are_escaped(desk_client):
    markup = desk_client.numbers["markup"]
    _as(desk_client, "agent")
    for path in ("/cases?tab=team", f"/cases/{markup}"):
        text = desk_client.get(path).text
        assert "<script>alert(1)</script>" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_every_case_form_needs_the_csrf_token(desk_client):
    east = desk_client.numbers["east"]
    _as(desk_client, "admin")
    for path in (f"/cases/{east}/reply", f"/cases/{east}/note", f"/cases/{east}/assign",
                 f"/cases/{east}/status", f"/cases/{east}/reopen", "/cases/assign",
                 "/cases/new", "/cases/rules", "/cases/rules/x/off"):
        response = desk_client.post(path, data={"body": "x", "to": "resolved",
                                                "csrf_token": "forged"}, follow_redirects=False)
        assert response.status_code == 403, path
    assert len(desk.case_detail(desk_client.engine, east)["events"]) == 2  # nothing was added


def test_unassigned_cases_and_assigning_without_a_target(desk_client):
    _as(desk_client, "admin")
    assert _queue_numbers(desk_client.get("/cases?tab=unassigned")) == ["C000001"]
    page = "/cases/C000001"  # the panel's case: no team, no owner
    refused = _post(desk_client, f"{page}/assign", {"owner": "", "team": ""}, page)
    assert refused.status_code == 400
    assert "请指定处理人或团队" in _page(refused).select_one("#user-error").text
    assert _post(desk_client, f"{page}/assign", {"team": "东区服务组"}, page).status_code == 303
    assert _queue_numbers(desk_client.get("/cases?tab=unassigned")) == []
    _as(desk_client, "agent")  # the team's rotation gave it to the agent, its only member
    assert "C000001" in _queue_numbers(desk_client.get("/cases?tab=mine"))
    assert _page(desk_client.get(page)).select_one("#case-owner").text == "agent@example.com"
