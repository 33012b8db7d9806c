"""Rewards and redemption: the catalogue's checks, validity, stock, the limit per member, the
lowest tier, cancellation, idempotent replay and key reuse, a tier's free gift, points from an
approved case remedy, and expiry by rolling and fixed policies oldest first, once per day; the
profile's redemption form and the API, in Chinese; on SQLite or PostgreSQL."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, update

from patronage.api_keys import create_key
from patronage.cases import remedies
from patronage.cases.config import DeskConfig
from patronage.members import catalogue, rewards
from patronage.members.enrolment import enrol_member
from patronage.members.expiry import expires_for, member_points, run_expiry
from patronage.members.ledger import Movement, NotEnoughPoints, balance, give, ledger_problems
from patronage.messages import UserError
from patronage.settings import Settings
from patronage.storage import write_transaction
from patronage.storage.schema import cases, customers, users
from patronage.storage.schema_members import (
    member_programme, member_tiers, members, point_transfers, redemptions,
)
from patronage.web import create_app
from test_web import csrf_of, login
from visible_english import english_words

pytestmark = pytest.mark.db
NOW = datetime(2026, 6, 1, 10, 0)
TODAY = NOW.date()


def _points(engine, member_id: int) -> int:
    with engine.connect() as conn:
        return balance(conn, member_id)["points"]


def _earn(engine, member_id: int, points: int, day: date, key: str) -> None:
    with write_transaction(engine) as conn:
        give(conn, member_id, Movement("earn", points, key, datetime(day.year, day.month, day.day),
                                       earned_on=day, expires_on=expires_for(conn, day)))


def _light_panel(engine) -> None:
    """Customers 1-3, an agent and an admin (no password: they never log in) and a case of
    customer 2: what the service tests need of the shared panel, without its slow logins."""
    with write_transaction(engine) as conn:
        conn.execute(insert(customers), [
            {"external_id": f"C00{i}", "name": f"客户{i}", "created_at": NOW, "updated_at": NOW}
            for i in (1, 2, 3)])
        conn.execute(insert(users), [
            {"email": f"{role}@example.com", "password_hash": "-", "role": role,
             "created_at": NOW} for role in ("agent", "admin")])
        conn.execute(insert(cases).values(customer_id=2, type="complaint", status="new",
                                          subject="送货延误", opened_at=NOW))


def _programme(engine):
    """Two tiers, customers C002 (gold) and C003 (entry tier) enrolled with 1000 points each,
    and a catalogue: a limited mug, a coupon, a gold-only upgrade, an expired and a switched-off
    reward."""
    with write_transaction(engine) as conn:
        conn.execute(insert(member_tiers), [
            {"code": "basic", "name_en": "Basic", "name_zh_hans": "普卡", "name_zh_hant": "普卡",
             "rank": 0},
            {"code": "gold", "name_en": "Gold", "name_zh_hans": "金卡", "name_zh_hant": "金卡",
             "rank": 1, "qualify_value": 5000}])
        gold = enrol_member(conn, 2, joined_on=date(2025, 1, 1), now=NOW)
        basic = enrol_member(conn, 3, joined_on=date(2025, 1, 1), now=NOW)
        conn.execute(update(members).where(members.c.id == gold.member_id)
                     .values(tier_code="gold"))
    for made in (gold, basic):
        _earn(engine, made.member_id, 1000, date(2025, 6, 1), f"txn:seed:{made.member_id}")
    catalogue.add_reward(engine, "MUG", name_zh_hans="定制马克杯", kind="gift", points=300,
                         stock=3, per_member_limit=2, cost=18.5)
    catalogue.add_reward(engine, "CPN10", name_en="¥10 coupon", name_zh_hans="十元券",
                         kind="coupon", points=100)
    catalogue.add_reward(engine, "LOUNGE", name_zh_hans="贵宾室", kind="service", points=200,
                         min_tier="gold")
    catalogue.add_reward(engine, "OLD", name_zh_hans="旧礼品", kind="gift", points=10,
                         valid_until="2026-01-31")
    catalogue.add_reward(engine, "OFF", name_zh_hans="停用礼品", kind="gift", points=10)
    catalogue.update_reward(engine, "OFF", active=False)
    return gold, basic


@pytest.fixture
def programme(engine):
    _light_panel(engine)
    return (engine, None, *_programme(engine))


def test_the_catalogue_checks_what_it_is_given(programme):
    engine, *_ = programme
    bad = [({"code": "has space", "points": 1}, "reward code"),
           ({"code": "X1", "points": -1}, "whole number"),
           ({"code": "X1", "points": "1.5"}, "whole number"),
           ({"code": "X1", "points": 1, "stock": "many"}, "stock"),
           ({"code": "X1", "points": 1, "valid_from": "2026-02-01", "valid_until": "2026-01-01"},
            "before the first valid day"),
           ({"code": "X1", "points": 1, "min_tier": "platinum"}, "tiers are basic, gold"),
           ({"code": "X1", "points": 1, "cost": "free"}, "amount"),
           ({"code": "MUG", "points": 1}, "exists already"),
           ({"code": "X1", "points": 1, "name_zh_hans": " "}, "name")]
    for fields, message in bad:
        code = fields.pop("code")
        with pytest.raises(UserError, match=message):
            catalogue.add_reward(engine, code, kind="gift", **{"name_zh_hans": "礼品", **fields})
    listed = catalogue.list_rewards(engine, language="zh_Hans", today=TODAY).set_index("code")
    assert listed.loc["MUG", "name"] == "定制马克杯" and listed.loc["CPN10", "name"] == "十元券"
    assert listed["valid_now"].to_dict() == {"MUG": True, "CPN10": True, "LOUNGE": True,
                                             "OLD": False, "OFF": False}
    assert catalogue.set_stock(engine, "MUG", add=2) == 5
    with pytest.raises(UserError, match="cannot be taken out"):
        catalogue.set_stock(engine, "MUG", add=-6)
    assert catalogue.set_stock(engine, "MUG", stock="3") == 3


def test_redemption_keeps_to_validity_tier_limit_stock_and_balance(programme):
    engine, _info, gold, basic = programme

    def redeem(card, reward, quantity=1, key=None):
        return rewards.redeem(engine, card, reward, quantity, key=key or f"k{redeem.n}", now=NOW)
    redeem.n = 0
    refusals = [(basic.card_no, "OLD", 1, "not_valid"), (basic.card_no, "OFF", 1, "not_valid"),
                (basic.card_no, "LOUNGE", 1, "tier"), (basic.card_no, "MUG", 3, "limit"),
                (basic.card_no, "NOPE", 1, "unknown_reward"), (basic.card_no, "MUG", 0,
                                                               "quantity")]
    for card, reward, quantity, reason in refusals:
        redeem.n += 1
        with pytest.raises(rewards.RedemptionRefused) as refused:
            redeem(card, reward, quantity)
        assert refused.value.reason == reason
    with pytest.raises(rewards.UnknownCard):
        redeem("999", "MUG")
    first = redeem(basic.card_no, "MUG", 2, key="basic-mugs").body
    assert (first["points"], first["balance_after"], first["status"]) == (600, 400, "done")
    with pytest.raises(rewards.RedemptionRefused) as refused:
        redeem(gold.card_no, "MUG", 2, key="gold-mugs")
    assert refused.value.reason == "stock"
    assert redeem(gold.card_no, "LOUNGE", key="lounge").body["points"] == 200
    with pytest.raises(NotEnoughPoints):
        redeem(basic.card_no, "CPN10", 5, key="too-many")
    coupons = redeem(basic.card_no, "CPN10", 4, key="coupons").body
    assert re.fullmatch(r"CP[A-Z0-9]{10}", coupons["coupon_code"])
    assert _points(engine, basic.member_id) == 0
    with engine.connect() as conn:
        stock = conn.execute(select(func.min(catalogue.rewards.c.stock))
                             .where(catalogue.rewards.c.code == "MUG")).scalar()
    assert stock == 1 and ledger_problems(engine) == []


def test_cancelling_returns_points_and_stock_and_a_replay_returns_the_first_result(programme):
    engine, _info, gold, _basic = programme
    done = rewards.redeem(engine, gold.card_no, "MUG", 2, key="order-7781", now=NOW)
    again = rewards.redeem(engine, gold.card_no, "MUG", 2, key="order-7781")
    assert again.replayed and again.body == done.body and not done.replayed
    with pytest.raises(rewards.KeyReused):
        rewards.redeem(engine, gold.card_no, "MUG", 1, key="order-7781")
    with pytest.raises(UserError, match="idempotency key"):
        rewards.redeem(engine, gold.card_no, "MUG", 1, key=" ")
    assert _points(engine, gold.member_id) == 400
    with pytest.raises(UserError, match="Say why"):
        rewards.cancel(engine, done.body["redemption"], "")
    cancelled = rewards.cancel(engine, done.body["redemption"], "客户退回", by="agent@example.com",
                               now=datetime(2026, 6, 3))
    assert cancelled["points"] == 600 and _points(engine, gold.member_id) == 1000
    with pytest.raises(UserError, match="cancelled already"):
        rewards.cancel(engine, done.body["redemption"], "again")
    with engine.connect() as conn:
        returned = conn.execute(select(point_transfers.c.earned_on, point_transfers.c.expires_on,
                                       point_transfers.c.kind, point_transfers.c.reason)
                                .where(point_transfers.c.source_key
                                       == f"cancel:{done.body['redemption']}")).one()
        stock = conn.execute(select(catalogue.rewards.c.stock)
                             .where(catalogue.rewards.c.code == "MUG")).scalar()
    assert returned.kind == "cancel" and returned.reason == "客户退回"
    assert returned.earned_on == TODAY and returned.expires_on == date(2028, 6, 1)
    assert stock == 3
    assert rewards.redeem(engine, gold.card_no, "MUG", 2, key="order-7781").body["status"] \
        == "cancelled"  # a replay shows the redemption as it is now
    assert ledger_problems(engine) == []


def test_a_tier_gift_is_given_once_at_no_points_while_in_stock(programme):
    engine, _info, gold, basic = programme
    catalogue.set_stock(engine, "MUG", stock=1)
    with write_transaction(engine) as conn:
        first = rewards.give_free(conn, gold.member_id, "MUG", source_key="gift:gold:1")
        assert rewards.give_free(conn, gold.member_id, "MUG", source_key="gift:gold:1") is None
        assert rewards.give_free(conn, basic.member_id, "MUG", source_key="gift:basic:1") is None
        assert rewards.give_free(conn, basic.member_id, "NOPE", source_key="gift:x") is None
    with engine.connect() as conn:
        row = conn.execute(select(redemptions).where(redemptions.c.id == first)).mappings().one()
    assert (row["points"], row["channel"], row["quantity"]) == (0, "tier_gift", 1)
    assert _points(engine, gold.member_id) == 1000


def test_an_approved_remedy_gives_a_member_points_once(programme):
    engine, *_ = programme  # case 1 is customer C002's, a member
    with engine.connect() as conn:
        agent, admin = (conn.execute(select(users.c.id).where(users.c.email == e)).scalar()
                        for e in ("agent@example.com", "admin@example.com"))
        member_id = conn.execute(select(members.c.id).where(members.c.customer_id == 2)).scalar()
    remedy, status = remedies.add_remedy(engine, 1, "goodwill_points", points=300, by=agent,
                                         note="配送延误致歉")
    assert status == "approved" and _points(engine, member_id) == 1300
    config = DeskConfig(approval_above=100)
    waiting, status = remedies.add_remedy(engine, 1, "compensation", amount=500, points=200,
                                          by=agent, config=config)
    assert status == "pending" and _points(engine, member_id) == 1300
    remedies.decide(engine, waiting, True, by=admin)
    assert _points(engine, member_id) == 1500
    with engine.connect() as conn:
        given = conn.execute(select(point_transfers.c.source_key, point_transfers.c.case_id,
                                    point_transfers.c.kind)
                             .where(point_transfers.c.kind == "compensation")
                             .order_by(point_transfers.c.id)).all()
    assert given == [(f"remedy:{remedy}", 1, "compensation"),
                     (f"remedy:{waiting}", 1, "compensation")]


def test_expiry_takes_the_oldest_points_by_policy_once_per_day(programme):
    engine, _info, gold, basic = programme  # 1000 points each, earned 2025-06-01 (24 months)
    with write_transaction(engine) as conn:
        conn.execute(update(member_programme).values(expiry_policy="rolling", expiry_months=12))
    _earn(engine, gold.member_id, 500, date(2026, 1, 10), "txn:2026")  # expires 2027-01-10
    # 600 of the oldest points (due in 2027-06), none of those due first (a shorter policy).
    rewards.redeem(engine, gold.card_no, "LOUNGE", 3, key="l1", now=NOW)
    with engine.connect() as conn:
        assert member_points(conn, gold.member_id, TODAY)["expiring"] == {
            "on": date(2027, 1, 10), "points": 500}
    assert run_expiry(engine, now=datetime(2027, 1, 9)) == 0
    assert run_expiry(engine, now=datetime(2027, 1, 10, 8)) == 1
    assert run_expiry(engine, now=datetime(2027, 1, 10, 9)) == 0  # once per day
    assert _points(engine, gold.member_id) == 400
    # Points written late, already past their day, expire at the next run of the same day.
    _earn(engine, basic.member_id, 70, date(2025, 5, 1), "txn:imported-late")
    assert run_expiry(engine, now=datetime(2027, 1, 10, 10)) == 1
    assert _points(engine, basic.member_id) == 1000
    assert run_expiry(engine, now=datetime(2027, 6, 1)) == 2  # what is left of 2025-06-01
    assert _points(engine, gold.member_id) == 0 and _points(engine, basic.member_id) == 0
    # Fixed: points of 2027 expire on 31 March 2028.
    with write_transaction(engine) as conn:
        conn.execute(update(member_programme).values(expiry_policy="fixed", expiry_month=3,
                                                     expiry_day=31, expiry_years=1))
    _earn(engine, basic.member_id, 40, date(2027, 6, 15), "txn:fixed")
    with engine.connect() as conn:
        assert member_points(conn, basic.member_id, date(2027, 6, 15))["expiring"] == {
            "on": date(2028, 3, 31), "points": 40}
    assert run_expiry(engine, now=datetime(2028, 3, 30)) == 0
    assert run_expiry(engine, now=datetime(2028, 3, 31)) == 1
    with engine.connect() as conn:
        keys = conn.execute(select(point_transfers.c.source_key, point_transfers.c.points)
                            .where(point_transfers.c.kind == "expire")
                            .order_by(point_transfers.c.id)).all()
    g, b = gold.member_id, basic.member_id
    assert keys == [(f"expire:{g}:2027-01-10", 500), (f"expire:{b}:2026-05-01", 70),
                    (f"expire:{g}:2027-06-01", 400), (f"expire:{b}:2027-06-01", 1000),
                    (f"expire:{b}:2028-03-31", 40)]
    assert ledger_problems(engine) == []


# -- pages and the API ---------------------------------------------------------------------------

@pytest.fixture
def client(panel, db_url):
    engine, info = panel
    gold, basic = _programme(engine)
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        client.info, client.engine, client.gold, client.basic = info, engine, gold, basic
        yield client


def test_an_agent_redeems_and_cancels_on_the_profile_in_chinese(client):
    client.cookies.set("patronage_lang", "zh_Hans")
    assert login(client, "agent").status_code == 303
    page = client.get("/customers/3")
    form = BeautifulSoup(page.text, "html.parser").select_one("form#redeem-form")
    offered = [o["value"] for o in form.select("select[name=reward] option")]
    assert offered == ["CPN10", "MUG"]  # affordable, valid, for this tier
    data = {i["name"]: i.get("value", "") for i in form.select("input[type=hidden]")}
    data.update(reward="MUG", quantity="2")
    for _ in range(2):  # a double click redeems once
        sent = client.post("/customers/3/redeem", data=data, follow_redirects=False)
        assert sent.status_code == 303
        assert sent.headers["location"] == "/customers/3?done=redeemed#membership"
    assert _points(client.engine, client.basic.member_id) == 400
    shown = BeautifulSoup(client.get(sent.headers["location"]).text, "html.parser")
    assert shown.select_one("#notice").text == "礼品已兑换。"
    assert len(shown.select("#member-redemptions tbody tr")) == 1
    refused = client.post("/customers/3/redeem", data={**data, "key": "new", "quantity": "1"})
    assert refused.status_code == 400
    assert "每位会员最多可兑换 'MUG' 2 次" in BeautifulSoup(refused.text, "html.parser").select_one(
        "#user-error").text
    cancel = shown.select_one("#member-redemptions form")
    data = {i["name"]: i.get("value", "") for i in cancel.select("input[type=hidden]")}
    back = client.post(cancel["action"], data={**data, "reason": "客户改选"},
                       follow_redirects=False)
    assert back.headers["location"] == "/customers/3?done=redemption_cancelled#membership"
    assert _points(client.engine, client.basic.member_id) == 1000
    catalogue_page = client.get("/members/rewards")
    assert catalogue_page.status_code == 200
    assert not english_words(catalogue_page.text), english_words(catalogue_page.text)
    assert "定制马克杯" in catalogue_page.text and "已取消" in catalogue_page.text


def test_the_api_redeems_once_per_key_and_refuses_in_the_readers_language(client):
    key = create_key(client.engine, "pos", ["members:read", "members:redeem"])
    reader = create_key(client.engine, "report", ["members:read"])
    card = client.gold.card_no
    auth = {"Authorization": f"Bearer {key}", "Accept-Language": "zh-CN"}
    shown = client.get(f"/api/members/{card}", headers=auth).json()
    assert (shown["points"], shown["tier"], shown["tier_name"]) == (1000, "gold", "金卡")
    assert shown["expiring"] == {"on": "2027-06-01", "points": 1000}
    path = f"/api/members/{card}/redemptions"
    first = client.post(path, json={"reward": "LOUNGE"}, headers={**auth, "Idempotency-Key": "p1"})
    assert first.status_code == 201 and first.json()["balance_after"] == 800
    replay = client.post(path, json={"reward": "LOUNGE", "idempotency_key": "p1"}, headers=auth)
    assert (replay.status_code, replay.json()) == (201, first.json())
    assert replay.headers["idempotent-replayed"] == "true"
    reused = client.post(path, json={"reward": "MUG"}, headers={**auth, "Idempotency-Key": "p1"})
    assert reused.status_code == 409 and reused.json()["reason"] == "key_reused"
    short = client.post(path, json={"reward": "MUG", "quantity": 3},
                        headers={**auth, "Idempotency-Key": "p2"})
    assert short.status_code == 422 and short.json() == {
        "error": "每位会员最多可兑换 'MUG' 2 次；该会员已兑换 0 次。", "reason": "limit"}
    poor = client.post(path, json={"reward": "CPN10", "quantity": 9},
                       headers={**auth, "Idempotency-Key": "p3"})
    assert poor.status_code == 422 and poor.json()["error"] == "该会员有 800 积分，需要 900 积分。"
    assert client.post(path, json={"reward": "MUG"}, headers=auth).status_code == 400
    assert client.post("/api/members/123/redemptions", json={"reward": "MUG"},
                       headers={**auth, "Idempotency-Key": "p4"}).status_code == 404
    assert client.post(path, json={"reward": "MUG", "price": 1},
                       headers={**auth, "Idempotency-Key": "p5"}).status_code == 422
    assert client.post(path, json={"reward": "MUG"}, headers={
        "Authorization": f"Bearer {reader}", "Idempotency-Key": "p6"}).status_code == 403
    assert client.post(path, json={"reward": "MUG"},
                       headers={"Idempotency-Key": "p7"}).status_code == 401
    with client.engine.connect() as conn:
        made = conn.execute(select(redemptions.c.channel, redemptions.c.api_key_id)).all()
    assert len(made) == 1 and made[0].channel == "api" and made[0].api_key_id is not None
    assert _points(client.engine, client.gold.member_id) == 800


def test_an_admin_adjusts_points_on_the_profile_with_a_reason(client):
    client.cookies.set("patronage_lang", "zh_Hans")
    assert login(client, "admin").status_code == 303
    form = BeautifulSoup(client.get("/customers/2").text, "html.parser").select_one(
        "#adjust-points form")
    token = form.select_one("input[name=csrf_token]")["value"]
    done = client.post(form["action"], data={"csrf_token": token, "points": "-150",
                                             "reason": "重复积分更正"}, follow_redirects=False)
    assert done.headers["location"] == "/customers/2?done=points_adjusted#membership"
    assert _points(client.engine, client.gold.member_id) == 850
    refused = client.post(form["action"], data={"csrf_token": token, "points": "50",
                                                "reason": ""})
    assert refused.status_code == 400 and "请说明调整积分的原因" in refused.text
    with client.engine.connect() as conn:
        audit = conn.execute(select(point_transfers.c.reason, users.c.email)
                             .join(users, users.c.id == point_transfers.c.actor_id)
                             .where(point_transfers.c.kind == "adjust")).all()
    assert audit == [("重复积分更正", "admin@example.com")]
