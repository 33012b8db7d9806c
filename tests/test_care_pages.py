"""The care pages through an in-process client: the agents' work lists, the call screen and its
outcome form, scheduling a follow-up by hand, the follow-up rules (admins) and the care report,
in Chinese, on SQLite or PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import select

from patronage.care import rules, tasks
from patronage.cases import setup
from patronage.cases.inputs import now_utc, team_id_of, user_id_of
from patronage.settings import Settings
from patronage.storage.schema import cases
from patronage.storage.schema_care import care_tasks, contacts
from patronage.web import create_app
from test_web import csrf_of, login
from visible_english import english_words

pytestmark = pytest.mark.db
#: Data on the pages (customer names and ids, the seeded panel's codes), not words.
CODES = {"Northwind", "Traders", "East", "China", "gold", "C001", "C002", "C003", "Wilson"}


@pytest.fixture
def care_client(panel, db_url):
    engine, info = panel
    setup.add_team(engine, "东区服务组", members=["agent@example.com"])
    setup.add_team(engine, "大客户组", members=["admin@example.com"])
    now = now_utc()
    with engine.connect() as conn:
        agent, admin = user_id_of(conn, "agent@example.com"), user_id_of(conn, "admin@example.com")
        key_team = team_id_of(conn, "大客户组")
    ids = {
        "mine": tasks.schedule_followups(engine, [1], "call", now + timedelta(minutes=5),
                                         "安装回访", assignee_id=agent)[0],
        "late": tasks.schedule_followups(engine, [2], "call", now - timedelta(days=3),
                                         "<b>逾期</b>回访", assignee_id=agent)[0],
        "other": tasks.schedule_followups(engine, [3], "visit", now, "大客户拜访",
                                          assignee_id=admin, team_id=key_team)[0],
    }
    app = create_app(Settings(database_url=db_url))
    with TestClient(app) as client:
        client.info, client.engine, client.ids = info, engine, ids
        yield client


def _as(client, role, language="zh_Hans"):
    client.cookies.set("patronage_lang", language)
    assert login(client, role).status_code == 303


def _page(response):
    return BeautifulSoup(response.text, "html.parser")


def _post(client, path, data, page_path):
    token = csrf_of(client.get(page_path).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def _listed(response) -> set[int]:
    return {int(row["data-task"]) for row in _page(response).select("table#care-list tbody tr")}


def test_an_agent_works_their_lists_and_records_an_outcome(care_client):
    ids = care_client.ids
    _as(care_client, "agent")
    today = care_client.get("/care")
    assert today.status_code == 200
    assert _listed(today) == {ids["mine"]}
    assert _page(today).select_one("#menu-care .count").text == "2"  # due today and overdue
    overdue = care_client.get("/care?tab=overdue")
    assert _listed(overdue) == {ids["late"]}
    assert "<b>逾期</b>" in _page(overdue).select_one("td.subject").text  # escaped data
    assert _page(overdue).select_one("tr.overdue") is not None
    assert ids["other"] not in _listed(care_client.get("/care?tab=all"))
    assert care_client.get(f"/care/tasks/{ids['other']}").status_code == 403
    assert english_words(today.text, CODES) == []

    screen = care_client.get(f"/care/tasks/{ids['mine']}")
    page = _page(screen)
    assert page.select_one("#call-phone")["href"].startswith("tel:+86")
    assert page.select_one("#task-customer-link")["href"] == "/customers/1"
    assert english_words(str(page), CODES) == []
    retry = _post(care_client, f"/care/tasks/{ids['mine']}/done",
                  {"outcome": "no_answer", "note": "无人接听"}, f"/care/tasks/{ids['mine']}")
    assert retry.status_code == 303
    again = _page(care_client.get(retry.headers["location"]))
    assert "再次" in again.select_one("#notice").text or "4" in again.select_one("#notice").text
    problem = _post(care_client, f"/care/tasks/{ids['mine']}/done",
                    {"outcome": "reached_problem", "note": "空调漏水"}, f"/care/tasks/{ids['mine']}")
    landed = _page(care_client.get(problem.headers["location"]))
    number = landed.select_one("#task-case-link")["href"].rsplit("/", 1)[1]
    with care_client.engine.connect() as conn:
        case = conn.execute(select(cases.c.customer_id, cases.c.description)
                            .where(cases.c.id == int(number[1:]))).one()
        logged = conn.execute(select(contacts.c.outcome).where(
            contacts.c.task_id == ids["mine"]).order_by(contacts.c.id)).scalars().all()
    assert tuple(case) == (1, "空调漏水")
    assert logged == ["no_answer", "reached_problem"]
    assert landed.select_one("#outcome-form") is None  # the task is closed
    bad = _post(care_client, f"/care/tasks/{ids['late']}/done", {"outcome": "nonsense"},
                f"/care/tasks/{ids['late']}")
    assert bad.status_code == 400 and _page(bad).select_one("#user-error")


def test_scheduling_a_follow_up_from_the_profile_link(care_client):
    _as(care_client, "agent")
    form = care_client.get("/care/tasks/new?customer=C003")
    page = _page(form)
    assert page.select_one("#customer")["value"] == "C003"
    assert english_words(str(page), CODES) == []
    made = _post(care_client, "/care/tasks/new",
                 {"customer": "C003", "type": "visit", "due": "2030-01-02T10:30",
                  "subject": "上门回访", "assignee": "", "team": "东区服务组", "note": "带资料"},
                 "/care/tasks/new?customer=C003")
    assert made.status_code == 303
    task_id = int(made.headers["location"].split("/")[3].split("?")[0])
    with care_client.engine.connect() as conn:
        row = conn.execute(select(care_tasks).where(care_tasks.c.id == task_id)).mappings().one()
    assert (row["customer_id"], row["type"], row["subject"]) == (3, "visit", "上门回访")
    assert row["due_at"].hour == 2  # 10:30 in Shanghai is 02:30 UTC
    assert row["assignee_id"] is not None  # the team's rotation
    missing = _post(care_client, "/care/tasks/new", {"customer": "NOPE", "type": "call",
                                                     "due": "2030-01-02", "subject": "x"},
                    "/care/tasks/new")
    assert missing.status_code == 400 and "NOPE" in _page(missing).select_one("#user-error").text


def test_admins_manage_rules_and_read_the_report(care_client):
    _as(care_client, "agent")
    assert care_client.get("/care/rules", follow_redirects=False).status_code == 403
    _as(care_client, "admin")
    added = _post(care_client, "/care/rules",
                  {"trigger": "purchase", "days": "3", "category": "空调", "type": "call",
                   "team": "东区服务组", "script_zh_hans": "您好{name}"}, "/care/rules")
    assert added.status_code == 303
    page = _page(care_client.get("/care/rules"))
    assert "购买空调后3天回访" in page.select_one("table#rules").text
    assert english_words(str(page), CODES | {"purchase-1"}) == []
    rule_id = rules.list_rules(care_client.engine)[0]["id"]
    _post(care_client, f"/care/rules/{rule_id}/off", {}, "/care/rules")
    assert rules.list_rules(care_client.engine)[0]["active"] is False
    bad = _post(care_client, "/care/rules", {"trigger": "purchase", "days": "-1"}, "/care/rules")
    assert bad.status_code == 400
    tasks.complete_task(care_client.engine, care_client.ids["other"], "reached_ok")
    report = care_client.get("/care/report")
    assert report.status_code == 200
    page = _page(report)
    assert english_words(str(page), CODES) == []
    team_rows = page.select("table#care-by-team tbody tr")
    assert any("大客户组" in row.text and "100%" in row.text for row in team_rows)


@pytest.mark.parametrize("language, word", [("zh_Hans", "周"), ("zh_Hant", "週"), ("en", None)])
def test_the_report_names_its_weeks_in_the_readers_words(care_client, language, word):
    """``2026年第27周`` / ``2026年第27週`` / ``Week 27, 2026``, never the data's ``2026-W27``."""
    import re

    tasks.complete_task(care_client.engine, care_client.ids["other"], "reached_ok")
    _as(care_client, "admin", language)
    page = _page(care_client.get("/care/report"))
    weeks = [cell.text for cell in page.select("table.care-report td.week")]
    assert weeks
    shape = rf"^\d{{4}}年第\d{{1,2}}{word}$" if word else r"^Week \d{1,2}, \d{4}$"
    assert all(re.match(shape, week) for week in weeks), weeks
    assert not re.search(r"\d{4}-W\d", page.select_one("main").text)


def test_the_report_opens_on_the_weeks_of_the_last_completed_task(care_client):
    """A history that ended months ago (an import, the demo) is shown, and the page says so;
    an explicit date shows the weeks up to it."""
    from sqlalchemy import update

    from patronage.storage import write_transaction

    long_ago = now_utc() - timedelta(days=200)
    with write_transaction(care_client.engine) as conn:
        conn.execute(update(care_tasks).where(care_tasks.c.id == care_client.ids["late"])
                     .values(status="done", due_at=long_ago, completed_at=long_ago))
    _as(care_client, "admin")
    page = _page(care_client.get("/care/report"))
    assert long_ago.strftime("%Y-%m-%d") in page.select_one("#report-moved").text
    assert page.select("table tbody tr")
    recent = _page(care_client.get(f"/care/report?until={now_utc():%Y-%m-%d}&weeks=4"))
    assert recent.select_one("#report-moved") is None


def test_the_report_is_kept_until_a_task_changes(care_client):
    """A repeat visit answers from memory; completing a task (another writer) shows at once."""
    _as(care_client, "admin")
    care_client.get("/care/report?weeks=4")  # the first use writes the default outcomes
    cache = care_client.app.state.care_reports
    first = _page(care_client.get("/care/report?weeks=4"))
    computed = cache.computed
    _page(care_client.get("/care/report?weeks=4"))
    assert cache.computed == computed and cache.hits >= 1
    before = first.select_one("table#care-by-team").text
    assert "大客户组" not in before or "100%" not in before
    tasks.complete_task(care_client.engine, care_client.ids["other"], "reached_ok")
    after = _page(care_client.get("/care/report?weeks=4")).select_one("table#care-by-team").text
    assert cache.computed == computed + 1
    assert "大客户组" in after and "100%" in after
