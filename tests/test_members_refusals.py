"""Refused redemptions kept under their idempotency key: a retry of the same request gets the
same refusal (by the service, the API with the same status and message in the reader's
language, the profile form and the command line), even once it could succeed; the key for
another request is a conflict whichever table holds it; concurrent replays of one key give one
answer and one row; on SQLite or PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from patronage.api_keys import create_key
from patronage.cli import main
from patronage.members import catalogue, rewards
from patronage.members.enrolment import close_membership, reopen_membership
from patronage.members.ledger import NotEnoughPoints
from patronage.settings import Settings
from patronage.storage.schema_members import redemption_refusals, redemptions
from patronage.web import create_app
from test_members_rewards import NOW, _earn, _light_panel, _points, _programme
from test_web import login

pytestmark = pytest.mark.db


@pytest.fixture
def programme(engine):
    _light_panel(engine)
    return (engine, *_programme(engine))


def _kept(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            select(redemption_refusals).order_by(redemption_refusals.c.id)).mappings()]


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def test_each_refusal_is_kept_and_replayed_even_once_the_request_could_succeed(programme):
    engine, gold, basic = programme
    cases = [("points", basic.card_no, "CPN10", 11), ("limit", basic.card_no, "MUG", 3),
             ("not_valid", basic.card_no, "OLD", 1), ("tier", basic.card_no, "LOUNGE", 1)]
    first = {}
    for reason, card, reward, quantity in cases:
        with pytest.raises((rewards.RedemptionRefused, NotEnoughPoints)) as refused:
            rewards.redeem(engine, card, reward, quantity, key=f"key-{reason}", now=NOW)
        assert getattr(refused.value, "reason", "points") == reason
        assert not getattr(refused.value, "replayed", False)
        first[reason] = str(refused.value)
    kept = {r["idempotency_key"]: r for r in _kept(engine)}
    assert sorted(kept) == sorted(f"key-{reason}" for reason, *_ in cases)
    assert kept["key-points"]["reason"] == "points" and kept["key-points"]["quantity"] == 11
    assert kept["key-points"]["member_id"] == basic.member_id
    assert kept["key-points"]["channel"] == "cli" and kept["key-points"]["reward_id"] is not None
    # What refused them is gone: points earned, the limit raised, the reward valid again, the
    # member moved up; the same request under the same key still gets the first answer.
    _earn(engine, basic.member_id, 5000, NOW.date(), "txn:more")
    catalogue.update_reward(engine, "MUG", per_member_limit=5)
    catalogue.update_reward(engine, "OLD", valid_until="2030-01-01")
    catalogue.update_reward(engine, "LOUNGE", min_tier="basic")
    for reason, card, reward, quantity in cases:
        with pytest.raises(rewards.RedemptionRefused) as again:
            rewards.redeem(engine, card, reward, quantity, key=f"key-{reason}", now=NOW)
        assert again.value.replayed and again.value.reason == reason
        assert str(again.value) == first[reason]
        # ... and a new key is a new try
        assert rewards.redeem(engine, card, reward, quantity, key=f"new-{reason}",
                              now=NOW).body["status"] == "done"
    assert _count(engine, redemption_refusals) == len(cases)


def test_a_key_is_one_request_across_redemptions_and_refusals(programme):
    engine, gold, basic = programme
    with pytest.raises(NotEnoughPoints):
        rewards.redeem(engine, basic.card_no, "CPN10", 11, key="shared", now=NOW)
    for card, reward, quantity in [(basic.card_no, "CPN10", 1), (gold.card_no, "CPN10", 11),
                                   (basic.card_no, "MUG", 11)]:
        with pytest.raises(rewards.KeyReused):  # a refused key, for another request
            rewards.redeem(engine, card, reward, quantity, key="shared", now=NOW)
    made = rewards.redeem(engine, gold.card_no, "CPN10", 1, key="made", now=NOW)
    with pytest.raises(rewards.KeyReused):  # a redeemed key, for a request that would be refused
        rewards.redeem(engine, gold.card_no, "CPN10", 50, key="made", now=NOW)
    assert rewards.redeem(engine, gold.card_no, "CPN10", 1, key="made").body == made.body
    assert _count(engine, redemption_refusals) == 1 and _count(engine, redemptions) == 1
    assert _points(engine, basic.member_id) == 1000 and _points(engine, gold.member_id) == 900


def test_a_closed_membership_and_stock_refusals_are_kept(programme):
    engine, gold, basic = programme
    assert close_membership(engine, basic.card_no, reason="测试", now=NOW)
    with pytest.raises(rewards.RedemptionRefused, match="closed"):
        rewards.redeem(engine, basic.card_no, "CPN10", key="closed", now=NOW)
    assert reopen_membership(engine, basic.card_no, reason="测试")
    with pytest.raises(rewards.RedemptionRefused) as again:
        rewards.redeem(engine, basic.card_no, "CPN10", key="closed", now=NOW)
    assert again.value.reason == "closed" and again.value.replayed
    catalogue.set_stock(engine, "MUG", stock=0)
    with pytest.raises(rewards.RedemptionRefused, match="Only 0"):
        rewards.redeem(engine, gold.card_no, "MUG", key="stock", now=NOW)
    catalogue.set_stock(engine, "MUG", stock=5)
    with pytest.raises(rewards.RedemptionRefused, match="Only 0") as again:
        rewards.redeem(engine, gold.card_no, "MUG", key="stock", now=NOW)
    assert again.value.reason == "stock"
    # an unknown card has no member to keep a refusal for: nothing is kept, the key stays free
    with pytest.raises(rewards.UnknownCard):
        rewards.redeem(engine, "999", "MUG", key="nobody", now=NOW)
    assert [r["idempotency_key"] for r in _kept(engine)] == ["closed", "stock"]


def test_the_command_line_says_a_refusal_is_kept_under_its_key(programme, db_url):
    engine, _gold, basic = programme
    runner = CliRunner()
    args = ["members", "redeem", basic.card_no, "CPN10", "--quantity", "11", "--key", "till-9",
            "--db", db_url]
    first = runner.invoke(main, args)
    assert first.exit_code == 1
    assert "The member has 1000 points; 1100 are needed. (Refused under key till-9" \
        in first.output
    _earn(engine, basic.member_id, 500, NOW.date(), "txn:cli-more")
    again = runner.invoke(main, args)
    assert again.exit_code == 1 and "Refused earlier under key till-9" in again.output
    assert "1000 points; 1100 are needed" in again.output and "Traceback" not in again.output
    assert _kept(engine)[0]["channel"] == "cli"


# -- the API and the pages -----------------------------------------------------------------------

@pytest.fixture
def client(panel, db_url):
    engine, info = panel
    gold, basic = _programme(engine)
    settings = Settings(database_url=db_url, api_requests_per_minute=1000)
    with TestClient(create_app(settings)) as client:
        client.info, client.engine, client.gold, client.basic = info, engine, gold, basic
        yield client


def test_the_api_replays_a_refusal_with_its_status_and_message(client):
    key = create_key(client.engine, "pos", ["members:redeem"])
    path = f"/api/members/{client.basic.card_no}/redemptions"
    auth = {"Authorization": f"Bearer {key}", "Idempotency-Key": "pos-1"}
    first = client.post(path, json={"reward": "CPN10", "quantity": 11},
                        headers={**auth, "Accept-Language": "zh-CN"})
    assert first.status_code == 422 and "idempotent-replayed" not in first.headers
    assert first.json() == {"error": "该会员有 1000 积分，需要 1100 积分。", "reason": "points"}
    _earn(client.engine, client.basic.member_id, 500, NOW.date(), "txn:api-more")
    again = client.post(path, json={"reward": "CPN10", "quantity": 11},
                        headers={**auth, "Accept-Language": "zh-CN"})
    assert (again.status_code, again.json()) == (422, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    in_english = client.post(path, json={"reward": "CPN10", "quantity": 11},
                             headers={**auth, "Accept-Language": "en"})
    assert in_english.json()["error"] == "The member has 1000 points; 1100 are needed."
    other = client.post(path, json={"reward": "CPN10", "quantity": 2}, headers=auth)
    assert other.status_code == 409 and other.json()["reason"] == "key_reused"
    kept = _kept(client.engine)
    assert len(kept) == 1 and kept[0]["channel"] == "api" and kept[0]["api_key_id"] is not None
    assert _points(client.engine, client.basic.member_id) == 1500


def test_a_refused_form_comes_back_with_a_new_key_and_its_refusal_is_kept(client):
    client.cookies.set("patronage_lang", "zh_Hans")
    assert login(client, "agent").status_code == 303
    page = BeautifulSoup(client.get("/members/rewards").text, "html.parser")
    form = page.select_one("input[name=card]").find_parent("form")
    data = {i["name"]: i.get("value", "") for i in form.select("input[type=hidden]")}
    data.update(card=client.basic.card_no, reward="MUG", quantity="3")
    refused = client.post("/members/redemptions", data=data)
    shown = BeautifulSoup(refused.text, "html.parser")
    assert refused.status_code == 400
    assert "最多可兑换 'MUG' 2 次" in shown.select_one("#user-error").text
    shown = shown.select_one("input[name=card]").find_parent("form")
    new_key = shown.select_one("input[name=key]")["value"]
    assert new_key and new_key != data["key"]  # a corrected form is a new request
    assert shown.select_one("input[name=card]")["value"] == client.basic.card_no
    fixed = {i["name"]: i.get("value", "") for i in shown.select("input[type=hidden]")}
    fixed.update(card=client.basic.card_no, reward="MUG", quantity="2")
    assert client.post("/members/redemptions", data=fixed,
                       follow_redirects=False).status_code == 303
    kept = _kept(client.engine)
    assert [(r["idempotency_key"], r["channel"], r["reason"]) for r in kept] == [
        (data["key"], "agent", "limit")]
    profile = BeautifulSoup(client.get("/customers/3").text, "html.parser").select_one(
        "form#redeem-form")
    sent = {i["name"]: i.get("value", "") for i in profile.select("input[type=hidden]")}
    sent.update(reward="CPN10", quantity="5")
    for _ in range(2):  # a double click on a refused form: the same refusal, kept once
        twice = client.post("/customers/3/redeem", data=sent)
        assert twice.status_code == 400 and "需要 500 积分" in twice.text
    assert [r["channel"] for r in _kept(client.engine)] == ["agent", "profile"]


@pytest.mark.parametrize("same_request", [True, False], ids=["same", "different"])
def test_concurrent_requests_under_one_key_get_one_answer(client, same_request):
    """Eight requests with one key at the same moment: with the same (refused) request, all get
    the same 422 and one refusal is kept; with different requests (some affordable), one of
    them is the key's answer and the rest get it again or 409, and one row holds the key."""
    key = create_key(client.engine, "pos", ["members:redeem"])
    path = f"/api/members/{client.gold.card_no}/redemptions"
    asked = [{"reward": "CPN10", "quantity": 11 if same_request or i % 2 else 1 + i % 4}
             for i in range(8)]
    answers: list = [None] * len(asked)
    start = threading.Barrier(len(asked))

    def call(i: int) -> None:
        start.wait()
        answers[i] = client.post(path, json=asked[i], headers={
            "Authorization": f"Bearer {key}", "Idempotency-Key": "one-key"})
    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(asked))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    rows = _count(client.engine, redemption_refusals) + _count(client.engine, redemptions)
    assert rows == 1
    if same_request:
        assert {a.status_code for a in answers} == {422}
        assert len({a.text for a in answers}) == 1
        assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) >= 1
        return
    kept = _kept(client.engine)
    with client.engine.connect() as conn:
        made = conn.execute(select(redemptions.c.quantity)).scalars().all()
    winner = kept[0]["quantity"] if kept else made[0]
    for request, answer in zip(asked, answers, strict=True):
        if request["quantity"] == winner:
            assert answer.status_code == (422 if kept else 201), answer.text
        else:
            assert answer.status_code == 409, answer.text
    assert _points(client.engine, client.gold.member_id) == 1000 - 100 * sum(made)
