"""The membership on a customer's profile and the words for it, in Chinese: the header shows
one tier (the programme card of a member, the imported CRM tier of anyone else, which stays a
labelled attribute), closing and reopening a membership appear on the profile's change history
with who and why (page and command line), and the member list's current memberships are not
called active the way the programme report's active members are; on SQLite or PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from patronage.cli import main
from patronage.members import enrolment, programme
from patronage.members.ledger import Movement, give
from patronage.reporting.customer360 import summary_of, summary_text
from patronage.settings import Settings
from patronage.storage import write_transaction
from patronage.storage.schema import transactions, users
from patronage.storage.schema_care import customer_changes
from patronage.web import create_app
from test_web import csrf_of, login
from visible_english import english_words

pytestmark = pytest.mark.db
CODES = {"Northwind", "Traders", "C001", "C002", "C003", "gold", "basic"}


@pytest.fixture
def client(panel, db_url):
    """Customer 1 (CRM tier ``gold``) is a member on the programme's 普卡; 2 and 3 are not
    members (2 has the CRM tier too)."""
    engine, info = panel
    programme.add_tier(engine, "classic", name_en="Classic card", name_zh_hans="普卡",
                       name_zh_hant="普卡", rank=0)
    with write_transaction(engine) as conn:
        made = enrolment.enrol_member(conn, 1, joined_on=date(2025, 1, 5))
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        client.info, client.engine, client.card = info, engine, made.card_no
        yield client


def _as(client, role, language="zh_Hans"):
    client.cookies.set("patronage_lang", language)
    assert login(client, role).status_code == 303
    client.token = csrf_of(client.get("/members").text)


def _page(response):
    return BeautifulSoup(response.text, "html.parser")


def test_the_header_shows_the_programme_card_and_the_crm_tier_as_an_attribute(client):
    _as(client, "agent")
    member = _page(client.get("/customers/1"))
    badges = member.select(".c360-title .badge.tier")
    assert [b.text for b in badges] == ["普卡"]  # one tier, the programme's, translated
    assert badges[0]["data-source"] == "programme"
    crm = member.select_one("#crm-tier")
    assert crm.find_previous_sibling("dt").text == "CRM 等级"
    assert crm.text.strip() not in ("", "–", "普卡")  # the imported tier, as its label shows it
    assert member.select_one("#member-tier").text == "普卡"  # the card agrees with the header
    other = _page(client.get("/customers/2"))
    header = other.select(".c360-title .badge.tier")
    assert len(header) == 1 and header[0]["data-source"] == "crm"
    assert header[0].text == other.select_one("#crm-tier").text  # no programme: CRM tier
    assert other.select_one("#crm-tier").find_previous_sibling("dt").text == "等级"
    client.cookies.set("patronage_lang", "en")
    english = _page(client.get("/customers/1"))
    assert english.select_one(".c360-title .badge.tier").text == "Classic card"
    assert english.select_one("#crm-tier").find_previous_sibling("dt").text == "CRM tier"
    client.cookies.set("patronage_lang", "zh_Hans")
    # a closed membership shows no card in the header: the CRM tier again
    enrolment.close_membership(client.engine, 1, reason="测试")
    closed = _page(client.get("/customers/1")).select(".c360-title .badge.tier")
    assert [b["data-source"] for b in closed] == ["crm"]
    text = summary_text(summary_of(client.engine, "C002"))
    assert "tier: gold" in text
    enrolment.reopen_membership(client.engine, 1, reason="测试")
    assert f"tier: Classic card (card {client.card}; CRM tier gold)" in summary_text(
        summary_of(client.engine, "C001"))


def test_closing_and_reopening_show_on_the_change_history_with_who_and_why(client, db_url):
    _as(client, "admin")
    refused = client.post("/customers/1/membership", data={
        "action": "close", "reason": " ", "csrf_token": client.token}, follow_redirects=False)
    assert refused.status_code == 400
    assert "原因" in _page(refused).select_one("#user-error").text
    form = _page(client.get("/customers/1")).select_one("#status-form")
    assert form.select_one("input[name=reason][required]") is not None
    closed = client.post("/customers/1/membership", data={
        "action": "close", "reason": "客户<b>要求</b>注销", "csrf_token": client.token},
        follow_redirects=False)
    assert closed.status_code == 303 and "member=closed" in closed.headers["location"]
    result = CliRunner().invoke(main, ["members", "reopen", client.card, "--reason",
                                       "客户重新申请", "--by", "agent@example.com",
                                       "--db", db_url])
    assert result.exit_code == 0, result.output
    missing = CliRunner().invoke(main, ["members", "close", client.card, "--db", db_url])
    assert missing.exit_code == 2 and "--reason" in missing.output
    with client.engine.connect() as conn:
        kept = conn.execute(select(customer_changes.c.field, customer_changes.c.new_value)
                            .where(customer_changes.c.customer_id == 1)
                            .order_by(customer_changes.c.id)).all()
    assert [(f, json.loads(v)) for f, v in kept] == [
        ("membership", {"status": "closed", "reason": "客户<b>要求</b>注销"}),
        ("membership", {"status": "active", "reason": "客户重新申请"})]
    page = client.get("/customers/1?kind=change")
    entries = _page(page).select("#timeline li")
    assert len(entries) == 2
    reopened, closing = entries  # newest first
    assert "会员" in reopened.select_one("strong").text
    assert reopened.select_one(".change .old").text == "已关闭"
    assert reopened.select_one(".change .new").text == "有效"
    assert "客户重新申请" in reopened.select_one(".reason").text
    assert closing.select_one(".change .new").text == "已关闭"
    assert closing.select_one(".reason").text == "原因: 客户<b>要求</b>注销"  # escaped text
    with client.engine.connect() as conn:
        admin = conn.execute(select(users.c.display_name, users.c.email).where(
            users.c.email == client.info["logins"]["admin"][0])).one()
        agent = conn.execute(select(users.c.display_name, users.c.email).where(
            users.c.email == "agent@example.com")).one()
    assert closing.select_one(".when").text.startswith(admin.display_name or admin.email)
    assert reopened.select_one(".when").text.startswith(agent.display_name or agent.email)
    assert english_words(str(_page(page).select_one("#timeline")), CODES) == []


def test_current_memberships_and_active_members_are_named_apart(client, db_url):
    engine = client.engine
    with write_transaction(engine) as conn:  # two more members; only 1 buys, 3 is closed
        for pk in (2, 3):
            enrolment.enrol_member(conn, pk, joined_on=date(2025, 1, 5))
        conn.execute(transactions.insert().values(
            external_id="T-ACT-1", customer_id=1, occurred_at=datetime(2026, 3, 1),
            amount=120))
    enrolment.close_membership(engine, 3, reason="测试")
    with write_transaction(engine) as conn:  # an expiry is no sign of the member
        member_2 = enrolment.member_of_customer(conn, 2)["id"]
        give(conn, member_2, Movement("adjust", 10, "adjust:test", datetime(2026, 3, 2),
                                      earned_on=date(2026, 3, 2), expires_on=date(2027, 1, 1)),
             source="adjustment")
    _as(client, "admin")
    listed = _page(client.get("/members"))
    kpi = listed.select_one("#members-active").find_previous_sibling("span")
    assert kpi.text == "有效会员" and listed.select_one("#members-active").text == "2"
    statuses = {o["value"]: o.text for o in listed.select("select[name=status] option")}
    assert statuses == {"": "全部", "active": "有效", "closed": "已关闭"}
    report = client.get("/members/report?until=2027-01-31")
    shown = _page(report)
    assert shown.select_one("#kpi-active .label").text == "近 12 个月活跃"
    assert shown.select_one("#kpi-active .value").text == "1"  # the buyer, not the adjusted
    assert "活跃会员：" in shown.select_one("#active-meaning").text
    assert "有效会员" in shown.select_one("#active-meaning").text
    assert "活跃" not in listed.select_one(".member-kpis").text
    said = {"zh_Hant": ("有效會員", "近 12 個月活躍"),
            "en": ("Current memberships", "Active in the last 12 months")}
    for language, (current, active) in said.items():
        client.cookies.set("patronage_lang", language)
        kpis = _page(client.get("/members")).select_one(".member-kpis").text
        label = _page(client.get("/members/report?until=2027-01-31")).select_one(
            "#kpi-active .label").text
        assert current in kpis and active.split()[0] not in kpis and label == active
    runner = CliRunner()
    listed_cli = runner.invoke(main, ["members", "list", "--status", "current", "--format",
                                      "json", "--db", db_url])
    assert listed_cli.exit_code == 0, listed_cli.output
    assert {r["status"] for r in json.loads(listed_cli.output)} == {"current"}
    summary = runner.invoke(main, ["analyze", "programme", "--until", "2027-01-31",
                                   "--format", "csv", "--db", db_url])
    assert summary.exit_code == 0, summary.output
    assert re.search(r"^active_in_12_months,1(\.0)?,", summary.output, re.M), summary.output
    assert "active_members" not in summary.output
