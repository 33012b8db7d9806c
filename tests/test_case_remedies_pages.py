"""Service recovery on the case desk's pages: recording a remedy on a case, approvals by an admin
who did not ask for it, the approvals list, and the customer's cost of recovery on the profile,
on SQLite or PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_case_pages import CODES, _as, _page, _post, seed_desk
from visible_english import english_words

from patronage.accounts import create_user
from patronage.cases import remedies
from patronage.settings import Settings
from patronage.storage.schema_cases import case_remedies
from patronage.web import create_app

pytestmark = pytest.mark.db


@pytest.fixture
def desk_client(panel, db_url):
    engine, info = panel
    numbers = seed_desk(engine)
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        client.info, client.engine, client.numbers = info, engine, numbers
        yield client


def _remedies(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(case_remedies)
                                              .order_by(case_remedies.c.id)).mappings()]


def test_an_agent_records_remedies_and_a_large_refund_waits(desk_client):
    east = desk_client.numbers["east"]
    page = f"/cases/{east}"
    _as(desk_client, "agent")
    small = _post(desk_client, f"{page}/remedy",
                  {"kind": "apology", "amount": "", "points": "200", "note": "电话致歉"}, page)
    assert small.status_code == 303 and small.headers["location"] == f"{page}?done=remedy"
    big = _post(desk_client, f"{page}/remedy",
                {"kind": "refund", "amount": "¥1,200.50", "note": "<b>退一半</b>"}, page)
    assert big.headers["location"] == f"{page}?done=remedy_pending"
    shown = desk_client.get(big.headers["location"])
    soup = _page(shown)
    assert "等待经理审批" in soup.select_one("#notice").text
    rows = soup.select("#remedy-list tbody tr")
    assert [r.select_one(".badge").text for r in rows] == ["待审批", "已批准"]
    assert "退款" in rows[0].text and "¥1,200.50" in rows[0].text
    assert "<b>退一半</b>" in rows[0].select_one(".remedy-note").text  # escaped, shown as text
    assert "<b>退一半</b>" not in shown.text
    assert "¥0.00" in soup.select_one("#remedy-cost").text  # only approved amounts count
    assert "200" in soup.select_one("#remedy-cost").text   # the goodwill points
    assert not soup.select("#remedy-list form.decide")     # agents do not decide
    assert not english_words(shown.text, allowed=CODES)
    stored = _remedies(desk_client.engine)
    assert [(r["kind"], r["status"], r["amount"]) for r in stored] == [
        ("apology", "approved", 0.0), ("refund", "pending", 1200.5)]


@pytest.mark.parametrize("fields, words", [
    ({"kind": "refund", "amount": "一百"}, "必须是数字"),
    ({"kind": "compensation", "amount": "-5"}, "不能为负数"),
    ({"kind": "goodwill_points", "points": "1.5"}, "必须是数字"),
    ({"kind": "refund", "amount": "inf"}, "金额"),
    ({"kind": "refund", "amount": "1e20"}, "金额"),
])
def test_bad_remedies_are_refused_in_the_readers_language(desk_client, fields, words):
    east = desk_client.numbers["east"]
    page = f"/cases/{east}"
    _as(desk_client, "agent")
    response = _post(desk_client, f"{page}/remedy", fields, page)
    assert response.status_code == 400
    error = _page(response).select_one("#user-error").text
    assert words in error
    assert not english_words(response.text, allowed=CODES)
    form = _page(response).select_one("#remedy-form")
    assert form.select_one("#remedy-kind option[selected]")["value"] == fields["kind"]
    assert _remedies(desk_client.engine) == []


def test_an_unknown_kind_or_someone_elses_case_is_refused(desk_client):
    east, key = desk_client.numbers["east"], desk_client.numbers["key"]
    _as(desk_client, "agent")
    page = f"/cases/{east}"
    assert _post(desk_client, f"{page}/remedy", {"kind": "bribe"}, page).status_code == 422
    other = _post(desk_client, f"/cases/{key}/remedy", {"kind": "apology"}, page)
    assert other.status_code == 403
    assert _remedies(desk_client.engine) == []


def test_approvals_by_another_admin_only(desk_client):
    engine, east = desk_client.engine, desk_client.numbers["east"]
    create_user(engine, "boss@example.com", "Quiet-Harbour-2291", "admin")
    desk_client.info["logins"]["boss"] = ("boss@example.com", "Quiet-Harbour-2291")
    page = f"/cases/{east}"
    _as(desk_client, "admin")
    _post(desk_client, f"{page}/remedy", {"kind": "compensation", "amount": "800"}, page)
    _as(desk_client, "agent")
    _post(desk_client, f"{page}/remedy", {"kind": "refund", "amount": "600"}, page)
    own, agents = (r["id"] for r in _remedies(engine))
    # agents and analysts neither see the list nor decide
    assert desk_client.get("/cases/approvals").status_code == 403
    forged = _post(desk_client, f"/cases/remedies/{agents}/decide", {"decision": "approve"}, page)
    assert forged.status_code == 403
    _as(desk_client, "analyst")
    assert desk_client.get("/cases/approvals").status_code == 403
    _as(desk_client, "admin")
    badge = _page(desk_client.get("/cases")).select_one("#approvals-link .count")
    assert badge.text == "2" and badge["title"] == "待审批的补救措施"
    listing = desk_client.get("/cases/approvals")
    soup = _page(listing)
    rows = {r["data-remedy"]: r for r in soup.select("table#approvals tbody tr")}
    assert set(rows) == {str(own), str(agents)}
    assert "上海华东精密机械有限公司" in rows[str(own)].text and east in rows[str(own)].text
    assert "agent@example.com" in rows[str(agents)].text and "¥600.00" in rows[str(agents)].text
    assert rows[str(own)].select_one("form") is None          # not one's own request
    assert "须由他人审批" in rows[str(own)].text
    assert not english_words(listing.text, allowed=CODES)
    refused = _post(desk_client, f"/cases/remedies/{own}/decide",
                    {"decision": "approve", "back": "approvals"}, "/cases/approvals")
    assert refused.status_code == 400
    assert "须由他人审批" in _page(refused).select_one("#user-error").text
    approved = _post(desk_client, f"/cases/remedies/{agents}/decide",
                     {"decision": "approve", "back": "approvals"}, "/cases/approvals")
    assert approved.headers["location"] == "/cases/approvals?done=approved"
    again = _post(desk_client, f"/cases/remedies/{agents}/decide", {"decision": "reject"}, page)
    assert again.status_code == 400 and "没有等待审批" in _page(again).select_one("#user-error").text
    assert _post(desk_client, f"/cases/remedies/{own}/decide", {"decision": "maybe"},
                 page).status_code == 422
    assert _post(desk_client, "/cases/remedies/99999/decide", {"decision": "approve"},
                 page).status_code == 404
    _as(desk_client, "boss")
    rejected = _post(desk_client, f"/cases/remedies/{own}/decide", {"decision": "reject"}, page)
    assert rejected.headers["location"] == f"{page}?done=rejected"
    shown = _page(desk_client.get(rejected.headers["location"]))
    assert "已驳回" in shown.select_one("#notice").text
    assert [r["status"] for r in _remedies(engine)] == ["rejected", "approved"]
    assert "¥600.00" in shown.select_one("#remedy-cost").text
    assert "决定：已驳回" in shown.select_one("#timeline").text
    assert "退款 ¥600.00：待审批" in shown.select_one("#timeline").text
    assert "没有等待审批的补救措施" in desk_client.get("/cases/approvals").text


def test_the_customer_profile_shows_the_cost_of_recovery(desk_client):
    engine, east = desk_client.engine, desk_client.numbers["east"]
    remedies.add_remedy(engine, east, "refund", amount=300)
    remedies.add_remedy(engine, east, "compensation", amount=12000)  # pending: not a cost yet
    _as(desk_client, "agent")
    profile = desk_client.get("/customers/1")
    cost = _page(profile).select_one("#recovery-cost")
    assert cost.text == "¥300" and cost["title"] == "¥300.00"
    assert "1 项已批准" in cost.parent.text
    assert _page(desk_client.get("/customers/2")).select_one("#recovery-cost").text == "¥0"
    assert remedies.recovery_cost(engine)[1] == 300.0  # the same figure as the whole-panel query
    desk_client.cookies.set("patronage_lang", "en")
    assert "Cost of recovery" in desk_client.get("/customers/1").text
