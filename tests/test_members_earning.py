"""Earning rules: checked with messages naming the field, said in words, managed on the page
(admins, in Chinese) and on the command line; the pure points arithmetic against its rules."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from patronage.cli import main
from patronage.members import earning, points
from patronage.members.enrolment import enrol_member
from patronage.messages import UserError
from patronage.reporting.member_rules import describe
from patronage.settings import Settings
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import customers, transactions
from patronage.storage.schema_members import member_tiers
from patronage.web import create_app
from test_web import csrf_of, login
from visible_english import english_words


def _tiers(engine):
    with write_transaction(engine) as conn:
        insert_rows(conn, member_tiers, [
            {"code": "basic", "name_en": "Basic", "name_zh_hans": "普卡", "name_zh_hant": "普卡",
             "rank": 0, "qualify_value": 0, "multiplier": 1.0},
            {"code": "gold", "name_en": "Gold", "name_zh_hans": "金卡", "name_zh_hant": "金卡",
             "rank": 1, "qualify_value": 1e9, "multiplier": 1.5}])


BAD_RULES = [
    ("purchase", {}, "needs its points per ¥1"),
    ("purchase", {"points_per_yuan": "0"}, "points per ¥1 must be a number above 0"),
    ("purchase", {"points_per_yuan": "1", "multiplier": "2"}, "takes no multiplier"),
    ("member_day", {"multiplier": "2"}, "a weekday or a day of the month"),
    ("member_day", {"multiplier": "2", "weekday": "funday"}, "weekday must be a whole number"),
    ("member_day", {"multiplier": "1"}, "multiplier must be a number above 1"),
    ("first_purchase", {"points": "2.5"}, "points must be a whole number"),
    ("survey_completed", {"points": "5", "category": "家电"}, "takes no product category"),
    ("purchase", {"points_per_yuan": "1", "tiers": "platinum"}, "no tier 'platinum'"),
    ("purchase", {"points_per_yuan": "1", "starts_on": "2027-02-01", "ends_on": "2027-01-01"},
     "before the start date"),
    ("purchase", {"points_per_yuan": "1", "ends_on": "31/01/2027"}, "end date must be a date"),
    ("purchase", {"points_per_yuan": "1", "cap_per_month": "-1"}, "cap per month must be"),
    ("lottery", {"points": "5"}, "rule kind must be one of"),
]


@pytest.mark.db
def test_a_bad_rule_is_refused_with_a_message_naming_the_field(engine):
    _tiers(engine)
    for kind, values, words in BAD_RULES:
        with pytest.raises(UserError, match=words):
            earning.add_rule(engine, kind, **values)
    assert earning.list_rules(engine) == []


@pytest.mark.db
def test_rules_are_added_changed_switched_and_kept_once_they_gave_points(engine):
    _tiers(engine)
    made = earning.add_rule(engine, "member_day", multiplier="2", weekday="wed",
                            tiers="gold, basic", language="zh_Hans")
    assert (made["code"], made["name"]) == ("member_day-1", "会员日 ×2")
    with pytest.raises(UserError, match="already"):
        earning.add_rule(engine, "purchase", points_per_yuan=1, code="member_day-1")
    earning.update_rule(engine, "member_day-1", day_of_month="8", cap_per_month="500")
    rule = earning.get_rule(engine, made["id"])
    assert (rule["day_of_month"], rule.get("weekday"), rule["cap_per_month"],
            rule["tiers"]) == (8, None, 500, ["gold", "basic"])
    assert earning.switch_rule(engine, made["id"], False) == "member_day-1"
    assert [r["active"] for r in earning.list_rules(engine)] == [False]
    assert earning.remove_rule(engine, "member_day-1") == "member_day-1"
    # A rule that has given points stays on record.
    base = earning.add_rule(engine, "purchase", points_per_yuan=1)
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, [{"external_id": "C1", "name": "甲",
                                       "created_at": datetime(2026, 1, 1),
                                       "updated_at": datetime(2026, 1, 1)}])
        enrol_member(conn, conn.execute(select(customers.c.id)).scalar_one(),
                     joined_on=date(2025, 1, 1))
        insert_rows(conn, transactions, [{"external_id": "T1", "customer_id": 1,
                                          "occurred_at": datetime(2025, 2, 1), "amount": 10.0,
                                          "is_refund": False}])
    from patronage.members.accrual import accrue

    assert accrue(engine).points == 10
    with pytest.raises(earning.RuleInUse):
        earning.remove_rule(engine, base["code"])
    assert earning.list_rules(engine)[0]["given"] == 10


def test_rules_in_words_in_chinese(translations_zh):
    gettext = translations_zh.gettext
    rule = {"kind": "purchase", "points_per_yuan": 1.0, "category": "家电", "channel": None,
            "tiers": ["gold"], "cap_per_transaction": None, "cap_per_month": 5000,
            "starts_on": date(2027, 1, 1), "ends_on": None}
    does, limits = describe(rule, gettext, tier_names={"gold": "金卡"})
    assert does == "每消费 ¥1 得 1 分"
    assert limits == ["仅限家电", "适用等级：金卡", "每位会员每月最多 5,000 分", "2027-01-01起"]
    day = {"kind": "member_day", "multiplier": 2.0, "weekday": 2}
    assert describe(day, gettext)[0] == "每周三积分 ×2"


@pytest.fixture
def translations_zh():
    from patronage.web.i18n import load_translations

    return load_translations()["zh_Hans"]


def _purchases(**columns) -> pd.DataFrame:
    n = len(columns["amount"])
    frame = pd.DataFrame({
        "transaction_id": np.arange(1, n + 1), "member_id": [1] * n,
        "occurred_at": [datetime(2025, 1, 6)] * n, "category": [None] * n,
        "channel": [None] * n, "tier": ["basic"] * n, "tier_multiplier": [1.0] * n,
        "birthday_month": [np.nan] * n, "first": [False] * n, "referrer": [np.nan] * n,
        "referrer_tier": [None] * n})
    for name, values in columns.items():
        frame[name] = values
    return frame


def test_points_round_down_after_multiplying_and_the_specific_rule_wins():
    rules = [{"id": 1, "kind": "purchase", "points_per_yuan": 100.0},
             {"id": 2, "kind": "purchase", "points_per_yuan": 1.0, "channel": "app"},
             {"id": 3, "kind": "purchase", "points_per_yuan": 5.0, "channel": "App"}]
    moves = points.purchase_points(_purchases(amount=[19.99, 10.0], channel=[None, "app"]),
                                   rules)
    # 19.99 x 100 is 1998.9999... in binary floating point: it earns 1999 points, not 1998.
    assert moves["points"].tolist() == [1999, 50]  # equally specific: the more generous rule
    assert moves["rule_id"].tolist() == [1, 3]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 500), min_size=1, max_size=12), st.integers(0, 1000),
       st.integers(0, 600))
def test_a_monthly_cap_never_gives_more_than_is_left_of_it(wanted, cap, used):
    """Whatever the sequence, each grant is at most what was asked, the month's total stays
    within the cap, and a grant falls short only when the cap is reached."""
    rule = {"id": 7, "cap_per_month": cap}
    members = np.ones(len(wanted), dtype=np.int64)
    months = np.zeros(len(wanted), dtype=np.int64)
    before = pd.DataFrame({"member_id": [1], "rule_id": [7], "month": [0], "points": [used]})
    granted = points.capped(np.array(wanted), rule, members, months, before)
    assert (granted >= 0).all() and (granted <= wanted).all()
    assert granted.sum() <= max(cap - used, 0)
    running = used + np.cumsum(granted)
    assert all(g == w or total >= cap for g, w, total in zip(granted, wanted, running,
                                                               strict=True))


def test_a_refund_takes_back_its_share_of_what_the_purchase_earned():
    rules = [{"id": 1, "kind": "purchase", "points_per_yuan": 2.0}]
    refunds = pd.DataFrame({
        "amount": [-25.0, -300.0, -10.0], "occurred_at": [datetime(2025, 2, 1)] * 3,
        "category": [None] * 3, "channel": [None] * 3, "tier": ["basic"] * 3,
        "purchase_amount": [100.0, 200.0, np.nan], "purchase_points": [333.0, 90.0, np.nan]})
    # a quarter of 333 rounded down; never more than the purchase earned; 2 per ¥ unnamed
    assert points.refund_points(refunds, rules).tolist() == [83, 90, 20]


@pytest.fixture
def rules_client(panel, db_url):
    engine, info = panel
    _tiers(engine)
    app = create_app(Settings(database_url=db_url))
    with TestClient(app) as client:
        client.info, client.engine = info, engine
        yield client


@pytest.mark.db
def test_the_rules_page_in_chinese_adds_edits_and_switches_rules(rules_client):
    client = rules_client
    client.cookies.set("patronage_lang", "zh_Hans")
    assert login(client, "agent").status_code == 303
    assert client.get("/members/rules").status_code == 403
    client.cookies.clear()
    client.cookies.set("patronage_lang", "zh_Hans")
    assert login(client, "admin").status_code == 303
    page = client.get("/members/rules")
    assert page.status_code == 200 and "没有启用的规则" in page.text
    token = csrf_of(page.text)
    bad = client.post("/members/rules", data={"kind": "purchase", "amount": "abc",
                                              "csrf_token": token})
    assert bad.status_code == 400
    assert "每 ¥1 积分" in BeautifulSoup(bad.text, "html.parser").select_one("#user-error").text
    added = client.post("/members/rules", data={
        "kind": "purchase", "amount": "2", "category": "家电", "tiers": ["gold"],
        "name": "<b>家电双倍</b>", "csrf_token": token}, follow_redirects=True)
    soup = BeautifulSoup(added.text, "html.parser")
    row = soup.select_one("#rules tbody tr")
    assert "每消费 ¥1 得 2 分" in row.text and "仅限家电" in row.text and "金卡" in row.text
    assert "<b>家电双倍</b>" in row.select_one(".rule-name strong").text  # escaped, not markup
    rule_id = row["id"].split("-")[1]
    edit = client.get(f"/members/rules?edit={rule_id}")
    assert BeautifulSoup(edit.text, "html.parser").select_one("#rule-amount")["value"] == "2"
    saved = client.post(f"/members/rules/{rule_id}", data={
        "kind": "purchase", "amount": "3", "category": "", "csrf_token": token},
        follow_redirects=True)
    assert "每消费 ¥1 得 3 分" in saved.text and "仅限家电" not in saved.text
    off = client.post(f"/members/rules/{rule_id}/off", data={"csrf_token": token},
                      follow_redirects=True)
    assert "已停用规则" in off.text
    assert english_words(off.text) == []
    assert client.post("/members/rules/999/off", data={"csrf_token": token}).status_code == 404


@pytest.mark.db
def test_rule_and_earn_commands(panel, db_url):
    engine, _ = panel
    _tiers(engine)
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(main, [*args, "--db", db_url])
        assert result.exit_code == 0, result.output
        return result.output

    assert "Added rule base" in run("members", "rule", "add", "purchase", "--points-per-yuan",
                                    "1", "--code", "base")
    bad = runner.invoke(main, ["members", "rule", "add", "referral", "--db", db_url])
    assert bad.exit_code != 0 and "needs its points" in bad.output
    run("members", "rule", "update", "base", "--cap-per-purchase", "50")
    listed = run("members", "rule", "list", "--format", "csv")
    assert "1 points per ¥1" in listed and "at most 50 points per purchase" in listed
    with write_transaction(engine) as conn:
        enrol_member(conn, 1, joined_on=date(2025, 1, 1))
    assert "10 purchases earned 500 points" in run("members", "earn", "--until", "2025-12-31")
    assert "0 purchases earned 0 points" in run("members", "earn")
    run("members", "rule", "off", "base")
    kept = runner.invoke(main, ["members", "rule", "remove", "base", "--db", db_url])
    assert kept.exit_code != 0 and "switch it off instead" in kept.output
