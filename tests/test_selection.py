"""Turning a selection of customers into work (issue 12, item 6): tasks and targeted survey
invitations for exactly the selected customers, and the lists that name customers (the loyalty
page and the lists behind it, a driver's unhappy respondents, the customer list) linking to
profiles and posting their selection, on SQLite or PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from conftest import PULSE_DEFINITION
from patronage.care import selection
from patronage.messages import UserError
from patronage.settings import Settings
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import customers, outbox, transactions, users
from patronage.storage.schema_care import care_tasks, contacts
from patronage.surveys.program import create_survey, draw_sample
from patronage.web import create_app
from test_web import csrf_of, login

pytestmark = pytest.mark.db
NOW = datetime(2026, 6, 1, 9, 0)


def _user_id(engine, role: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(users.c.id).where(users.c.role == role)).scalar_one()


def _open_pulse(engine, code: str = "pulse") -> str:
    """The conftest pulse questionnaire as an open survey with a 90-day quiet period."""
    return create_survey(engine, {**PULSE_DEFINITION, "code": code}, status="open",
                         quiet_days=90)


def _reachable(engine, *, no_consent=(2,)) -> None:
    """Every panel customer gets an e-mail address; ``no_consent`` refuse surveys."""
    with write_transaction(engine) as conn:
        for pk in (1, 2, 3):
            conn.execute(update(customers).where(customers.c.id == pk).values(
                email=f"c{pk}@example.com", consent_survey=pk not in no_consent))


def seed_shoppers(engine, n: int = 60, seed: int = 4) -> None:
    """``n`` customers (K001 ...) buying as the BG/NBD model assumes (Fader, Hardie & Lee 2005,
    "Counting your customers the easy way"): purchases at a Gamma-distributed rate per
    customer, each purchase followed by dropping out with a Beta-distributed probability, so
    the loyalty page's value models fit."""
    rng = np.random.default_rng(seed)
    end = datetime(2026, 5, 31)
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, [
            {"external_id": f"K{i:03d}", "name": f"顾客{i}", "tier": "gold", "created_at": NOW,
             "updated_at": NOW} for i in range(1, n + 1)])
        keys = dict(conn.execute(select(customers.c.external_id, customers.c.id)).all())
        rows = []
        for i in range(1, n + 1):
            at = datetime(2024, 6, 1) + timedelta(days=int(rng.integers(0, 200)))
            rate, dropout, spend = rng.gamma(1.5, 1 / 40), rng.beta(1, 6), rng.gamma(4, 150)
            k = 0
            while at < end:
                rows.append({"external_id": f"S{i}-{k}", "customer_id": keys[f"K{i:03d}"],
                             "occurred_at": at, "is_refund": False,
                             "amount": round(float(rng.gamma(8, spend / 8)), 2)})
                k += 1
                if rng.random() < dropout:
                    break
                at += timedelta(days=float(rng.exponential(1 / rate)))
        insert_rows(conn, transactions, rows)


@pytest.fixture
def client(panel, db_url):
    engine, info = panel
    app = create_app(Settings(database_url=db_url))
    with TestClient(app) as test_client:
        test_client.info, test_client.engine = info, engine
        test_client.cookies.set("patronage_lang", "zh_Hans")
        yield test_client


def _page(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def _post(client, data: dict, page: str = "/customers"):
    token = csrf_of(client.get(page).text)
    return client.post("/selection", data={**data, "csrf_token": token},
                       follow_redirects=False)


def _profile_links(soup, selector: str = "table") -> set[str]:
    return {a["href"] for a in soup.select(f"{selector} a[href^='/customers/']")}


# -- the service ---------------------------------------------------------------------------------

def test_tasks_for_a_selection_make_one_task_per_customer(panel):
    engine, _info = panel
    admin = _user_id(engine, "admin")
    due = datetime(2026, 6, 3, 1, 0)
    made = selection.tasks_for(engine, [1, "2", 3, 2], type="visit", due_at=due,
                               subject="感谢回访", assignee_id=admin, by=admin, now=NOW)
    assert made == 3
    with engine.connect() as conn:
        rows = conn.execute(select(care_tasks).order_by(care_tasks.c.customer_id)).mappings().all()
    assert [r["customer_id"] for r in rows] == [1, 2, 3]
    assert {(r["type"], r["due_at"], r["subject"], r["assignee_id"], r["status"],
             r["created_by"], r["source_key"]) for r in rows} == {
        ("visit", due, "感谢回访", admin, "open", admin, None)}
    with write_transaction(engine) as conn:  # the third customer asked not to be called
        conn.execute(update(customers).where(customers.c.id == 3)
                     .values(preferences={"do_not_call": True}))
    assert selection.tasks_for(engine, [1, 2, 3], type="call", due_at=due, subject="回访",
                               now=NOW) == 2


@pytest.mark.parametrize("chosen, words", [
    ([], "No customer is selected"), (["", " "], "No customer is selected"),
    ([str(i) for i in range(1, selection.MAX_SELECTION + 2)], "at most 5000"),
    (["1", "C001"], "'C001' is not a customer's number"),
])
def test_an_empty_oversized_or_unreadable_selection_is_refused(panel, chosen, words):
    engine, _info = panel
    with pytest.raises(UserError, match=words):
        selection.tasks_for(engine, chosen, type="call", due_at=NOW, subject="回访")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(care_tasks)).scalar() == 0


def test_a_task_is_due_at_nine_on_its_day_in_the_company_time_zone():
    assert selection.due_at_from_day("2027-03-01", "Asia/Shanghai") == datetime(2027, 3, 1, 1)
    assert selection.due_at_from_day(date(2027, 3, 1), None) == datetime(2027, 3, 1, 9)
    with pytest.raises(UserError, match="2027-03-01"):
        selection.due_at_from_day("next week", "Asia/Shanghai")


def test_a_targeted_survey_invites_exactly_the_selection_and_counts_who_was_skipped(panel):
    engine, _info = panel
    code = _open_pulse(engine)
    _reachable(engine)  # C002 refuses surveys
    other = _open_pulse(engine, "pulse_b")  # C003 was asked 10 days ago: inside 90 quiet days
    draw_sample(engine, other, None, method="targeted", ids=["C003"], channel="link",
                now=NOW - timedelta(days=10))
    done = selection.survey_for(engine, code, [1, 2, 3], channel="email", by=1, now=NOW)
    assert (done.invited, done.mails, done.skipped) == (1, 1, {"consent": 1, "quiet": 1})
    with engine.connect() as conn:
        mail = conn.execute(select(outbox.c.to_address)).scalars().all()
        logged = conn.execute(select(contacts.c.customer_id, contacts.c.kind,
                                     contacts.c.channel)).all()
    assert mail == ["c1@example.com"]
    assert [tuple(r) for r in logged] == [(1, "survey", "email")]
    again = selection.survey_for(engine, code, [1], channel="email", now=NOW)
    assert (again.invited, again.skipped) == (0, {"invited": 1})
    with pytest.raises(UserError, match="no survey 'nope'"):
        selection.survey_for(engine, "nope", [1], channel="email")


def test_a_case_is_for_one_customer_and_a_campaign_takes_the_list(panel):
    engine, _info = panel
    assert selection.case_address(engine, ["1"]) == "/cases/new?customer=C001"
    with pytest.raises(UserError, match="2 are selected"):
        selection.case_address(engine, [1, 2])
    assert selection.campaign_address([2, 3, 2]) == \
        "/care/campaigns/new?customer_id=2&customer_id=3"


# -- the form ------------------------------------------------------------------------------------

def test_posting_a_selection_makes_tasks_and_comes_back_with_a_notice(client):
    assert login(client, "agent").status_code == 303
    response = _post(client, {"customer_id": ["1", "2"], "action": "task", "type": "call",
                              "due": "2027-03-01", "subject": "感谢回访", "assignee": "",
                              "next": "/customers?q=C00"})
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert target.path == "/customers"
    assert parse_qs(target.query) == {"q": ["C00"], "selected": ["task"], "count": ["2"]}
    page = _page(client.get(response.headers["location"]))
    assert "已为 2 位客户创建回访任务" in page.select_one("p.notice").get_text()
    with client.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(care_tasks)).scalar() == 2


def test_posting_a_survey_reports_the_skipped_in_chinese(client):
    _open_pulse(client.engine)
    _reachable(client.engine)
    assert login(client, "analyst").status_code == 303
    response = _post(client, {"customer_id": ["1", "2", "3"], "action": "survey",
                              "survey": "pulse", "channel": "email", "next": "/customers"})
    notice = _page(client.get(response.headers["location"])).select_one("p.notice").get_text()
    assert "已向 2 位客户发送问卷" in notice and "1 位未同意接受调查" in notice


def test_a_selection_needs_the_csrf_token_and_never_leaves_the_site(client):
    assert login(client, "admin").status_code == 303
    refused = client.post("/selection", data={"customer_id": "1", "action": "task",
                                              "due": "2027-03-01", "subject": "回访"},
                          follow_redirects=False)
    assert refused.status_code == 403
    for foreign in ("https://evil.example/x", "//evil.example/x", "/\t/evil.example",
                    "/\\evil.example"):
        response = _post(client, {"customer_id": "1", "action": "task", "due": "2027-03-01",
                                  "subject": "回访", "next": foreign})
        assert response.headers["location"].startswith("/customers?selected=task"), foreign
    with client.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(care_tasks)).scalar() == 4


def test_a_refused_action_shows_the_form_again_with_the_reason(client):
    assert login(client, "admin").status_code == 303
    response = _post(client, {"customer_id": ["1", "2"], "action": "task", "due": "soon",
                              "subject": "回访", "next": "/customers"})
    assert response.status_code == 400
    page = _page(response)
    assert "不是日期" in page.select_one("p.error").get_text()
    assert {i["value"] for i in page.select("form#selection input[name=customer_id]")} == \
        {"1", "2"}
    empty = _post(client, {"action": "task", "due": "2027-03-01", "subject": "回访"})
    assert "尚未选择客户" in _page(empty).select_one("p.error").get_text()


def test_an_agent_may_survey_one_customer_but_not_a_list(client):
    _open_pulse(client.engine)
    assert login(client, "agent").status_code == 303
    many = _post(client, {"customer_id": ["1", "3"], "action": "survey", "survey": "pulse",
                          "channel": "link"})
    assert many.status_code == 403
    one = _post(client, {"customer_id": "3", "action": "survey", "survey": "pulse",
                         "channel": "link", "next": "/customers/3"})
    assert one.headers["location"] == "/customers/3?selected=survey&count=1"


def test_the_confirmation_form_names_the_customers_and_hands_cases_and_campaigns_on(client):
    assert login(client, "agent").status_code == 303
    form = client.get("/selection/new?customer_id=2&customer_id=1&action=task&next=/loyalty")
    page = _page(form)
    assert _profile_links(page, "ul.chosen") == {"/customers/1", "/customers/2"}
    assert "<b>Northwind</b> Traders" in page.select_one("ul.chosen").get_text()  # escaped
    assert page.select_one("form#selection")["action"] == "/selection"
    assert page.select_one("form#selection input[name=next]")["value"] == "/loyalty"
    case = client.get("/selection/new?customer_id=3&action=case", follow_redirects=False)
    assert case.headers["location"] == "/cases/new?customer=C003"
    campaign = client.get("/selection/new?all_ids=1,2&action=campaign", follow_redirects=False)
    assert campaign.headers["location"] == "/care/campaigns/new?customer_id=1&customer_id=2"


# -- the lists -----------------------------------------------------------------------------------

def test_the_customer_list_links_names_and_asks_what_to_do(client):
    assert login(client, "agent").status_code == 303
    page = _page(client.get("/customers"))
    boxes = page.select("table#customers input[name=customer_id][form=pick-customers]")
    assert sorted(b["value"] for b in boxes) == ["1", "2", "3"]
    names = {a.get_text(): a["href"] for a in page.select("table#customers td:nth-child(3) a")}
    assert names["王伟"] == "/customers/3"
    assert page.select_one("form#pick-customers")["action"] == "/selection/new"


def test_a_drivers_unhappy_respondents_are_listed_lowest_first(client):
    # In the seeded panel response i (customer 1 + i mod 3, sent on day 1 + i mod 28 of its
    # wave's month) rates overall satisfaction 1 + (7i mod 11) mod 10. The latest answers are
    # responses 54 (C001: 5), 55 (C002: 1) and 53 (C003: 9).
    assert login(client, "analyst").status_code == 303
    response = client.get("/analysis/respondents?item=overall_satisfaction&max=6")
    page = _page(response)
    rows = page.select("table#customer-list tbody tr")
    assert [r.select("td")[1].get_text() for r in rows] == ["C002", "C001"]
    assert [r.select("td")[3].get_text() for r in rows] == ["1.0", "5.0"]
    assert _profile_links(page) == {"/customers/1", "/customers/2"}
    assert "<b>Northwind</b> Traders" in rows[0].get_text()
    assert "3 位受访者中有 2 位" in response.text
    assert page.select_one("form#selection")["method"] == "post"
    assert client.get("/analysis/respondents?item=nothing").status_code == 404


def test_the_loyalty_page_and_the_lists_behind_it_link_and_select_customers(client):
    seed_shoppers(client.engine)
    assert login(client, "analyst").status_code == 303
    loyalty = _page(client.get("/loyalty"))
    clv = loyalty.select_one("#section-clv")
    assert len(clv.select("input[name=customer_id][form=pick-clv]")) == 20
    assert len(_profile_links(clv)) == 20
    assert clv.select_one("form#pick-clv")["action"] == "/selection/new"
    segments = {a.get_text(): a["href"] for a in loyalty.select("#section-rfm td a")}
    counts = {row.select("td")[0].get_text(): row.select("td")[1].get_text()
              for row in loyalty.select("#section-rfm tbody tr")}
    name, address = next(iter(segments.items()))
    listing = _page(client.get(address))
    rows = listing.select("table#customer-list tbody tr")
    assert str(len(rows)) == counts[name].replace(",", "")  # the segment's count on the page
    assert len(_profile_links(listing)) == len(rows)
    assert listing.select_one("form#selection input[name=next]")["value"] == address

    everyone = _page(client.get("/loyalty/customers?list=clv"))
    assert len(everyone.select("table#customer-list tbody tr")) == 63
    every_box = everyone.select_one("input[name=all_ids]")["value"].split(",")
    assert len(set(every_box)) == 63

    whales = _page(client.get("/loyalty/customers?list=whales"))
    shares = [float(r.select("td")[-1].get_text().rstrip("%")) for r in
              whales.select("table#customer-list tbody tr")]
    # The fewest most-profitable customers reaching 80% of the profit (Kaplan & Cooper 1998),
    # shares shown to one decimal.
    assert shares == sorted(shares) and shares[-1] >= 79.95 and shares[-2] < 80.05
    assert client.get("/loyalty/customers?list=nonsense").status_code == 404
