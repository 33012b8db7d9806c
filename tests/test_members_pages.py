"""The membership pages through an in-process client, in Chinese: the member list and its
filters, the programme page (admins only), enrolling from the profile and from a selection,
and the membership card on the profile (tier, points, what expires, movements, an admin's
tier change)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import select

from patronage.members import enrolment, programme
from patronage.members.ledger import Movement, give
from patronage.settings import Settings
from patronage.storage import write_transaction
from patronage.storage.schema_members import members
from patronage.web import create_app
from test_web import csrf_of, login
from visible_english import english_words

pytestmark = pytest.mark.db
#: Data on the pages (the seeded panel's names, ids and codes, card numbers), not words.
CODES = {"Northwind", "Traders", "C001", "C002", "C003", "gold", "basic"}


@pytest.fixture
def members_client(panel, db_url):
    """Customers 1 (gold, 500 points, expiring) and 2 (basic) are members; 3 is not."""
    engine, info = panel
    programme.add_tier(engine, "basic", name_en="Basic", name_zh_hans="普卡",
                       name_zh_hant="普卡", rank=0)
    programme.add_tier(engine, "gold", name_en="Gold", name_zh_hans="金卡", name_zh_hant="金卡",
                       rank=1, qualify_value=5000, case_severity="high",
                       benefits_zh_hans="专属客服")
    today = datetime.now(UTC).replace(tzinfo=None)
    with write_transaction(engine) as conn:
        first = enrolment.enrol_member(conn, 1, joined_on=date(2025, 1, 5), channel="门店")
        enrolment.enrol_member(conn, 2, joined_on=date(2026, 2, 1))
        give(conn, first.member_id, Movement(
            kind="earn", points=500, source_key="earn:test", occurred_at=today,
            earned_on=today.date(), expires_on=today.date() + timedelta(days=40)))
    from patronage.members.tiers import set_tier
    set_tier(engine, first.member_id, "gold", reason="大客户")
    app = create_app(Settings(database_url=db_url))
    with TestClient(app) as client:
        client.info, client.engine, client.card = info, engine, first.card_no
        yield client


def _as(client, role, language="zh_Hans"):
    client.cookies.set("patronage_lang", language)
    assert login(client, role).status_code == 303
    client.token = csrf_of(client.get("/members").text)  # the session's token, for every form


def _page(response):
    return BeautifulSoup(response.text, "html.parser")


def _post(client, path, data):
    return client.post(path, data={**data, "csrf_token": client.token}, follow_redirects=False)


def _cards(response) -> list[str]:
    return [row["data-card"] for row in _page(response).select("table#members tbody tr")]


def test_an_agent_lists_members_reads_a_card_and_enrols_a_customer(members_client):
    client = members_client
    _as(client, "agent")
    listed = client.get("/members")
    assert listed.status_code == 200
    page = _page(listed)
    assert len(_cards(listed)) == 2 and page.select_one("#members-n").text == "2"
    links = {a["href"] for a in page.select("table#members td.customer a")}
    assert links == {"/customers/1", "/customers/2"}
    assert "<b>Northwind</b>" in page.select_one("table#members").text  # escaped, not markup
    assert page.select("input[name=customer_id][form=pick-members]")  # selection boxes
    assert english_words(listed.text, CODES) == []
    assert _cards(client.get("/members?tier=gold")) == [client.card]
    assert _cards(client.get(f"/members?q={client.card[-4:]}")) == [client.card]
    assert len(_cards(client.get("/members?joined_from=2026-01-01"))) == 1
    assert _cards(client.get("/members?status=closed")) == []
    bad = client.get("/members?joined_from=yesterday")
    assert bad.status_code == 200 and "入会起始日期" in _page(bad).select_one("#user-error").text
    assert len(_cards(bad)) == 2
    assert client.get("/members/programme").status_code == 403  # admins only
    assert _post(client, "/selection", {"action": "enrol", "customer_id": ["3"],
                                        "next": "/members"}).status_code == 403

    card = _page(client.get("/customers/1")).select_one("#membership")
    assert card.select_one("#member-card").text.endswith(client.card)
    assert card.select_one("#member-tier").text == "金卡"
    assert card.select_one("#member-points").text == "500"
    assert card.select_one("#member-expiring").text == "500"
    assert "专属客服" in card.text and "大客户" in card.select_one("#tier-history").text
    assert card.select_one("#member-ledger tbody tr")["data-kind"] == "earn"
    assert card.select_one("#member-admin") is None  # an agent does not change tiers
    assert english_words(str(card), CODES) == []
    outsider = _page(client.get("/customers/3"))
    assert outsider.select_one("#enrol-form") is not None
    done = _post(client, "/customers/3/enrol", {"channel": "电话"})
    assert done.status_code == 303 and "member=enrolled" in done.headers["location"]
    shown = _page(client.get(done.headers["location"]))
    assert shown.select_one("#member-notice") is not None
    assert shown.select_one("#member-tier").text == "普卡"
    with client.engine.connect() as conn:
        assert conn.execute(select(members.c.channel).where(members.c.customer_id == 3)
                            ).scalar() == "电话"


def test_an_admin_sets_the_programme_changes_a_tier_and_enrols_a_selection(members_client):
    client = members_client
    _as(client, "admin")
    shown = client.get("/members/programme")
    assert shown.status_code == 200
    assert english_words(shown.text, CODES) == []
    assert [r["data-tier"] for r in _page(shown).select("#tiers-table tbody tr")] == [
        "basic", "gold"]
    refused = _post(client, "/members/programme", {"grace_days": "-5", "name": "会员计划"})
    assert refused.status_code == 400
    assert "宽限期（天）" in _page(refused).select_one("#user-error").text
    saved = _post(client, "/members/programme", {"grace_days": "30", "tier_basis": "points"})
    assert saved.status_code == 303
    with client.engine.connect() as conn:
        policy = programme.load_policy(conn)
    assert (policy.grace_days, policy.tier_basis) == (30, "points")
    added = _post(client, "/members/programme/tiers",
                  {"code": "silver", "name_en": "Silver", "name_zh_hans": "银卡", "rank": "2",
                   "qualify_value": "800", "multiplier": "1.2", "active": "yes"})
    assert added.status_code == 303
    clash = _post(client, "/members/programme/tiers/silver",
                  {"action": "save", "name_en": "Silver", "name_zh_hans": "银卡",
                   "name_zh_hant": "銀卡", "rank": "1", "qualify_value": "800",
                   "multiplier": "1.2"})
    assert clash.status_code == 400 and "级别序号" in _page(clash).select_one("#user-error").text
    held = _post(client, "/members/programme/tiers/gold", {"action": "remove"})
    assert held.status_code == 400 and "不能删除" in _page(held).select_one("#user-error").text
    assert _post(client, "/members/programme/tiers/silver", {"action": "remove"}
                 ).status_code == 303

    changed = _post(client, "/customers/2/membership",
                    {"action": "tier", "tier": "gold", "reason": "年度合同"})
    assert changed.status_code == 303 and "member=tier" in changed.headers["location"]
    no_reason = _post(client, "/customers/1/membership",
                      {"action": "tier", "tier": "basic", "reason": ""})
    assert no_reason.status_code == 400
    assert "原因" in _page(no_reason).select_one("#user-error").text
    enrolled = _post(client, "/selection", {"action": "enrol", "customer_id": ["2", "3"],
                                            "next": "/members"})
    assert enrolled.status_code == 303
    notice = _page(client.get(enrolled.headers["location"])).select_one("p.notice").text
    assert "已为 1 位客户办理入会" in notice and "1 位已是会员" in notice
    assert len(_cards(client.get("/members"))) == 3
    assert len(_cards(client.get("/members?tier=gold"))) == 2
