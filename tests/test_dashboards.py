"""The role dashboards (issue 14 item 3) on SQLite or PostgreSQL: the management view's figures
are those of the pages that detail them (on the demo company), the agent's view shows only the
signed-in staff member's own work, who may open which view and where each role lands, the
"being prepared" state, and no English on the Chinese pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import select

from patronage.accounts import create_user
from patronage.care.tasks import day_bounds
from patronage.cases.analysis import volume
from patronage.cases.inputs import now_utc
from patronage.cases.queues import list_cases
from patronage.members import report as programme
from patronage.reporting import formats, management, my_work
from patronage.reporting.filters import Filters
from patronage.reporting.overview import overview
from patronage.satisfaction.methods import ipa_table, trend_table
from patronage.satisfaction.sources import survey_data_from_db
from patronage.settings import Settings
from patronage.loyalty import at_risk_table, fit_value_models
from patronage.storage import insert_rows, make_engine, write_transaction
from patronage.storage.schema import cases, customers, users
from patronage.storage.schema_care import care_tasks
from patronage.storage.schema_cases import case_categories
from patronage.web import create_app
from staff_login import log_in
from test_web import csrf_of
from visible_english import english_words

pytestmark = pytest.mark.db
TIMEZONE = "Asia/Shanghai"
OTHER_AGENT = ("agent2@example.com", "Harbor-Thistle-7391")


def _month_start(moment):
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _desk(engine) -> dict:
    """Two agents' cases and care tasks on the seeded panel, dated around now: the agent owns
    one breached and one running case, a resolved one, an overdue, a today's and a next-week
    task and looks after customer 3; the other agent owns one breached case and one task."""
    now = now_utc()
    other = create_user(engine, *OTHER_AGENT, "agent")
    with engine.connect() as conn:
        agent = conn.execute(select(users.c.id).where(users.c.email == "agent@example.com")
                             ).scalar_one()
    start = _month_start(now)
    before = _month_start(start - timedelta(days=1))
    today_start, today_end = day_bounds(now, TIMEZONE)
    with write_transaction(engine) as conn:
        insert_rows(conn, case_categories, [
            {"code": "delivery", "name_en": "Delivery", "name_zh_hans": "交付物流",
             "name_zh_hant": "交付物流", "position": 1},
            {"code": "billing", "name_en": "Billing", "name_zh_hans": "账单发票",
             "name_zh_hant": "帳單發票", "position": 2}])

        def case(customer, owner, status, category, opened, due, subject):
            return {"customer_id": customer, "owner_id": owner, "status": status,
                    "type": "complaint", "category": category, "subject": subject,
                    "opened_at": opened, "resolution_due_at": due, "severity": "normal"}

        insert_rows(conn, cases, [
            case(1, agent, "in_progress", "delivery", start, now - timedelta(hours=2),
                 "送货延误 A1"),
            case(3, agent, "assigned", "delivery", start, now + timedelta(hours=30),
                 "安装预约 A2"),
            case(1, agent, "resolved", "billing", start, now - timedelta(days=3), "已解决 A3"),
            case(2, other, "new", "billing", start, now - timedelta(hours=1), "别人的 B1"),
            case(2, None, "closed", "billing", before, None, "上月 L1"),
            case(3, None, "closed", "billing", before, None, "上月 L2")])

        def task(customer, assignee, due, subject):
            return {"customer_id": customer, "assignee_id": assignee, "type": "call",
                    "subject": subject, "due_at": due, "status": "open", "created_at": now}

        insert_rows(conn, care_tasks, [
            task(1, agent, today_start - timedelta(days=2), "逾期回访 T1"),
            task(2, agent, today_start + timedelta(minutes=1), "今日回访 T2"),
            task(1, agent, today_end + timedelta(days=2), "下周跟进 T3"),
            task(3, other, today_start + timedelta(minutes=1), "别人的任务 T4")])
        conn.execute(customers.update().where(customers.c.id == 3)
                     .values(account_owner_id=agent))
    return {"agent": agent, "other": other, "now": now}


@pytest.fixture
def desk_client(panel, db_url):
    engine, info = panel
    desk = _desk(engine)
    logins = {**info["logins"], "agent2": OTHER_AGENT}
    with TestClient(create_app(Settings(database_url=db_url, timezone=TIMEZONE))) as client:
        client.info = {"logins": logins}
        client.engine, client.desk = engine, desk
        yield client


def _soup(response):
    return BeautifulSoup(response.text, "html.parser")


# -- the agent's view ---------------------------------------------------------------------------

def test_an_agent_sees_only_their_own_cases_and_tasks(desk_client):
    log_in(desk_client, "agent")
    page = _soup(desk_client.get("/my"))
    shown = [li.select_one(".subject").text for li in page.select("#my-cases li")]
    assert shown == ["送货延误 A1", "安装预约 A2"]  # past its service level first; no A3, B1
    assert "state-breached" in page.select("#my-cases li")[0]["class"]
    assert [a.text for a in page.select("#tasks-overdue li .what a:last-child")] == ["逾期回访 T1"]
    assert [a.text for a in page.select("#tasks-today li .what a:last-child")] == ["今日回访 T2"]
    assert [a.text for a in page.select("#tasks-coming li .what a:last-child")] == ["下周跟进 T3"]
    assert "别人的" not in page.text
    names = {a["href"] for a in page.select("#my-customers li a")}
    assert names == {"/customers/1", "/customers/2", "/customers/3"}
    assert "我负责的客户" in page.select_one('#my-customers a[href="/customers/3"]').parent.text

    log_in(desk_client, "agent2")
    page = _soup(desk_client.get("/my"))
    assert [li.select_one(".subject").text for li in page.select("#my-cases li")] == ["别人的 B1"]
    assert [a.text for a in page.select("#tasks-today li .what a:last-child")] == ["别人的任务 T4"]
    assert not page.select("#tasks-overdue li") and "送货延误" not in page.text


def test_the_agents_view_matches_the_case_and_care_lists(desk_client):
    """The cases are the case list's "My cases" tab, the tasks the Care page's lists."""
    log_in(desk_client, "agent")
    mine = _soup(desk_client.get("/cases?tab=mine"))
    listed = {tr["data-number"] for tr in mine.select("table#queue tbody tr")}
    page = _soup(desk_client.get("/my"))
    assert {li["data-number"] for li in page.select("#my-cases li")} == listed
    for tab in ("today", "overdue"):
        care = _soup(desk_client.get(f"/care?tab={tab}"))
        assert {tr["data-task"] for tr in care.select("tbody tr[data-task]")} == {
            li["data-task"] for li in page.select(f"#tasks-{tab} li")}, tab


def test_my_work_service_orders_and_counts(desk_client):
    engine, desk = desk_client.engine, desk_client.desk
    with engine.connect() as conn:
        user = dict(conn.execute(select(users).where(users.c.id == desk["agent"])).mappings().one())
    work = my_work.my_work(engine, user, timezone=TIMEZONE, now=desk["now"])
    assert [r["state"] for r in work["cases"]] == ["breached", "ok"]
    assert work["overdue_cases"] == 1
    assert work["customers"]["accounts"] == 1 and work["customers"]["total"] == 3


# -- who lands where, who may see what -----------------------------------------------------------

def test_agents_land_on_their_work_and_cannot_open_the_management_view(desk_client):
    email, password = desk_client.info["logins"]["agent"]
    token = csrf_of(desk_client.get("/login").text)
    response = desk_client.post("/login", data={"email": email, "password": password,
                                                "csrf_token": token, "next": "/"},
                                follow_redirects=False)
    assert response.headers["location"] == "/my"
    desk_client.cookies.set("patronage_lang", "zh_Hans")
    assert desk_client.get("/", follow_redirects=False).headers["location"] == "/my"
    refused = desk_client.get("/management")
    assert refused.status_code == 403 and "您的角色无权访问此页面" in refused.text
    nav = _soup(desk_client.get("/my")).select_one("header nav")
    assert nav.select_one("#menu-my")["aria-current"] == "page"
    assert nav.select_one("#menu-management") is None


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_analysts_and_admins_open_both_views_and_may_start_on_the_management_view(desk_client,
                                                                                  role):
    log_in(desk_client, role)
    assert desk_client.get("/my").status_code == 200
    page = desk_client.get("/management")
    assert page.status_code == 200
    assert _soup(page).select_one("#menu-management")["aria-current"] == "page"
    email, password = desk_client.info["logins"][role]

    def landing():
        token = csrf_of(desk_client.get("/login").text)
        return desk_client.post("/login", data={"email": email, "password": password,
                                                "csrf_token": token, "next": "/"},
                                follow_redirects=False).headers["location"]

    desk_client.cookies.clear()
    assert landing() == "/"
    chosen = desk_client.post("/management/home", data={
        "home": "management", "csrf_token": csrf_of(desk_client.get("/management").text)},
        follow_redirects=False)
    assert chosen.status_code == 303
    assert _soup(desk_client.get("/management")).select_one("#home-chosen") is not None
    assert landing() == "/management"
    desk_client.post("/management/home", data={
        "home": "overview", "csrf_token": csrf_of(desk_client.get("/management").text)})
    assert landing() == "/"


def test_choosing_the_start_page_needs_the_form_token(desk_client):
    log_in(desk_client, "admin")
    assert desk_client.post("/management/home", data={"home": "management"},
                            follow_redirects=False).status_code == 403


# -- the management view on the small panel ----------------------------------------------------

def test_management_case_figures_are_those_of_the_case_list(desk_client):
    log_in(desk_client, "admin")
    page = _soup(desk_client.get("/management"))
    breached = _soup(desk_client.get("/cases?tab=breached"))
    assert page.select_one("#sla-count").text == str(
        len(breached.select("table#queue tbody tr")))
    assert page.select_one("#sla-count").text == "2"  # A1 and B1; the seeded case has no clock
    rows = [[td.text.strip() for td in tr.select("td")]
            for tr in page.select("#complaint-categories tbody tr")]
    # This month: delivery 2 (A1, A2), billing 2 (A3, B1); the same days of last month:
    # billing 2 (L1, L2). Equal counts are listed by code.
    assert [r[:3] for r in rows] == [["账单发票", "2", "50%"], ["交付物流", "2", "50%"]]
    assert "▬" in rows[0][3] and "+2" in rows[1][3]
    link = page.select_one("#complaint-categories a")["href"]
    listed = _soup(desk_client.get(link)).select("table#queue tbody tr")
    assert len(listed) == 4  # every billing case of any month, as the link says: A3, B1, L1, L2
    assert "本月至今" in page.select_one("#complaints-period").text


def test_complaint_months_count_what_the_complaint_analysis_counts(desk_client):
    engine, now = desk_client.engine, desk_client.desk["now"]
    months = management.complaint_months(engine, now=now)
    assert months["current"]
    by_month = volume(engine, "month")["cases"]
    this_month = now.strftime("%Y-%m")
    assert sum(months["counts"]["now"].values()) == by_month[this_month]


def test_management_view_in_chinese_has_no_english(desk_client):
    log_in(desk_client, "analyst")
    response = desk_client.get("/management")
    assert response.status_code == 200
    assert english_words(response.text, allowed={"East", "China"}) == []  # a region's value
    log_in(desk_client, "agent")
    response = desk_client.get("/my")
    assert english_words(response.text, allowed={"Northwind", "Traders"}) == []  # a name
    assert "&lt;b&gt;Northwind" in response.text  # the customer's markup shown as text


def test_management_view_says_it_is_being_prepared_and_shows_the_case_cards(panel, db_url):
    engine, info = panel
    _desk(engine)
    settings = Settings(database_url=db_url, page_wait_seconds=0, timezone=TIMEZONE)
    with TestClient(create_app(settings)) as client:
        client.info = {"logins": info["logins"]}
        log_in(client, "analyst")
        first = client.get("/management")
        if first.status_code == 202:  # the background computation had not ended yet
            page = _soup(first)
            assert page.select_one('meta[http-equiv="refresh"]') is not None
            assert "正在准备" in page.select_one("#card-satisfaction").text
        assert _soup(first).select_one("#sla-count").text == "2"  # read at the visit
        for _attempt in range(200):
            again = client.get("/management")
            if again.status_code == 200:
                break
            client.app.state.page_cache.idle(timeout=60)
        assert again.status_code == 200
        assert "正在准备" not in _soup(again).select_one("#card-satisfaction").text


def test_an_unknown_filter_value_is_said_in_words(desk_client):
    log_in(desk_client, "analyst")
    response = desk_client.get("/management?region=Atlantis")
    assert response.status_code == 400
    assert "Atlantis" in response.text and "Traceback" not in response.text


# -- the figures equal the detail pages' (demo company) ----------------------------------------

@pytest.fixture(scope="module")
def demo(demo_company):
    url, summary, _company = demo_company
    engine = make_engine(url)
    yield url, engine, summary
    engine.dispose()


def test_management_figures_equal_those_of_the_detail_computations(demo):
    _url, engine, _summary = demo
    slow = management.slow_figures(engine, Filters(), language="zh_Hans", gettext=str)
    shown = overview(engine)
    latest, previous = shown.waves.iloc[-1], shown.waves.iloc[-2]
    scores = slow["scores"]
    assert scores["n"] == latest["n"] and scores["previous_n"] == previous["n"]
    assert scores["nps"]["value"] == pytest.approx(latest["nps"])
    assert scores["csi"]["change"] == pytest.approx(latest["csi"] - previous["csi"])
    trend = trend_table(survey_data_from_db(engine, shown.survey))  # the Analysis page's trend
    assert trend.index[-1] == latest["wave"]
    assert scores["nps"]["p"] == pytest.approx(trend.iloc[-1]["p_value"])
    ipa = ipa_table(survey_data_from_db(engine, shown.survey))
    named = [row["code"] for row in slow["drivers"]["rows"]]
    assert len(named) == 3 and set(named) <= set(ipa.index)
    focus = ipa.index[ipa["quadrant"] == "concentrate_here"].tolist()
    assert named[:len(focus)] == sorted(focus, key=lambda d: -ipa.at[d, "importance"])[:3]
    models = fit_value_models(engine)
    risk = at_risk_table(engine, models=models)
    assert slow["risk"]["value"] == pytest.approx(risk["value_at_risk"].sum())
    assert slow["risk"]["customers"] == len(risk)
    figures = programme.programme_figures(engine)
    assert slow["liability"]["outstanding"] == figures.headline["outstanding"]
    assert slow["liability"]["net"] == pytest.approx(figures.liability["net"])
    live = management.case_figures(engine, language="zh_Hans", gettext=str)
    assert live["sla"]["count"] == len(list_cases(engine, status="open", breached=True,
                                                  limit=None))
    complaints = live["complaints"]
    month = complaints["start"].strftime("%Y-%m")
    assert complaints["n"] == volume(engine, "month")["cases"][month]


def test_the_filtered_view_follows_the_overview_filters(demo):
    _url, engine, _summary = demo
    region = survey_data_from_db(engine).meta["customer_region"].dropna().iloc[0]
    filters = Filters(region=region)
    slow = management.slow_figures(engine, filters, language="zh_Hans", gettext=str)
    shown = overview(engine, filters=filters)
    assert slow["scores"]["n"] == shown.waves.iloc[-1]["n"]
    assert slow["scores"]["nps"]["value"] == pytest.approx(shown.waves.iloc[-1]["nps"])
    assert slow["drivers"]["n"] == len(filters.apply(survey_data_from_db(engine)).meta)


def test_the_management_page_on_the_demo_shows_the_figures_in_chinese(demo):
    url, engine, summary = demo
    with TestClient(create_app(Settings(database_url=url))) as client:
        email = "analyst@demo.patronage"
        client.info = {"logins": {"analyst": (email, summary.users[email][1])}}
        log_in(client, "analyst")
        response = client.get("/management")
        assert response.status_code == 200
        page = _soup(response)
        latest = overview(engine).waves.iloc[-1]
        assert page.select_one("#figure-nps .value").text == formats.number(latest["nps"])
        assert page.select_one("#figure-csi .value").text == formats.number(latest["csi"])
        assert len(page.select("#card-drivers ol.drivers li")) == 3
        assert "抽样误差" in page.select_one("#nps-change-p").text
        assert page.select_one("#risk-value").text.endswith("万")
        # A survey's title as the company wrote it (the filter bar) is data, not words.
        assert english_words(response.text, allowed={"Customer", "pulse"}) == []
        for card in ("satisfaction", "drivers", "complaints", "risk", "liability", "sla"):
            assert page.select_one(f"#card-{card} .more a")["href"]
            assert "n = " in page.select_one(f"#card-{card}").text or card == "sla", card


def test_a_case_without_category_is_counted_but_not_linked(desk_client):
    with write_transaction(desk_client.engine) as conn:
        insert_rows(conn, cases, [{"customer_id": 1, "status": "new", "type": "inquiry",
                                   "subject": "无类别", "severity": "normal",
                                   "opened_at": _month_start(desk_client.desk["now"])}])
    log_in(desk_client, "admin")
    page = _soup(desk_client.get("/management"))
    rows = {tr.td.text.strip(): tr.td for tr in page.select("#complaint-categories tbody tr")}
    assert set(rows) == {"账单发票", "交付物流", "未填写"}
    assert rows["未填写"].a is None and rows["交付物流"].a is not None
    assert "n = 5" in page.select_one("#card-complaints").text


def test_the_purchase_models_are_fitted_once_for_the_loyalty_page_and_the_view(desk_client):
    log_in(desk_client, "analyst")
    assert desk_client.get("/loyalty").status_code == 200
    assert desk_client.get("/management").status_code == 200
    stores = desk_client.app.state.page_cache._stores.values()  # the shared results per group
    fits = [key for _version, store in stores for key in store
            if isinstance(key, tuple) and key[1] == "fit_value_models"]
    assert len(fits) == 1
