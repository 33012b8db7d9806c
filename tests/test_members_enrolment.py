"""Enrolment: bulk from a selection or a segment (once per customer), closing and reopening a
membership, finding a member by card or customer id, the programme's settings and tiers
checked with messages that name the field, and ``patronage import members`` all or nothing."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from patronage.cli import main
from patronage.members import enrolment, programme
from patronage.members.enrolment import valid_card
from patronage.messages import UserError
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import customers, transactions
from patronage.storage.schema_members import member_tier_changes, members, point_accounts

pytestmark = pytest.mark.db


@pytest.fixture
def panel3(engine):
    """Customers C001–C003 (tier gold, East China) with a year of purchases; an entry tier."""
    now = datetime(2026, 6, 1, 9)
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, [
            {"id": i, "external_id": f"C00{i}", "name": f"客户{i}", "region": "East China",
             "tier": "gold", "created_at": now, "updated_at": now} for i in (1, 2, 3)])
        insert_rows(conn, transactions, [
            {"external_id": f"T{i}", "customer_id": 1 + i % 3, "amount": 100.0 + i * (i % 3),
             "occurred_at": datetime(2025, 1 + i % 12, 1 + i % 27), "is_refund": False}
            for i in range(30)])
    programme.add_tier(engine, "basic", name_en="Basic", name_zh_hans="普卡", rank=0)
    return engine


def _count(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_bulk_enrolment_from_a_selection_and_a_segment_enrols_each_customer_once(panel3):
    engine = panel3
    done = enrolment.enrol_customers(engine, ["2", 1, "2"], channel="门店")
    assert (done.created, done.existing) == (2, 0)
    with pytest.raises(UserError, match="no customer '99'"):
        enrolment.enrol_customers(engine, [3, 99])
    assert _count(engine, members) == 2  # the refused enrolment wrote nothing
    done = enrolment.enrol_segment(engine, "region:east china", joined_on="2026-05-01")
    assert (done.created, done.existing) == (1, 2)
    with engine.connect() as conn:
        rows = conn.execute(select(members.c.customer_id, members.c.card_no, members.c.channel,
                                   members.c.joined_on, members.c.tier_code)
                            .order_by(members.c.customer_id)).all()
        opened = _count(engine, point_accounts) - 5  # the programme's own five accounts
        history = conn.execute(select(member_tier_changes.c.kind)).scalars().all()
    assert [r.channel for r in rows] == ["门店", "门店", None]
    assert rows[2].joined_on == date(2026, 5, 1)
    assert all(valid_card(r.card_no) and r.card_no.startswith("8") for r in rows)
    assert {r.tier_code for r in rows} == {"basic"} and history == ["enrol"] * 3
    assert opened == 6  # points and owed for each member
    with pytest.raises(UserError, match="KIND:VALUE"):
        enrolment.segment_customers(engine, "gold")
    with pytest.raises(UserError, match="No customer has"):
        enrolment.segment_customers(engine, "tier:platinum")
    assert enrolment.segment_customers(engine, "tier:GOLD") == [1, 2, 3]


def test_rfm_segment_names_the_customers_of_the_loyalty_analysis(panel3):
    from patronage.loyalty.analysis import rfm_table

    engine = panel3
    scores = rfm_table(engine)
    segment = scores["segment"].dropna().iloc[0]
    expected = sorted(int(k[1:]) for k in scores.index[scores["segment"] == segment])
    assert sorted(enrolment.segment_customers(engine, f"rfm:{segment}")) == expected
    with pytest.raises(UserError, match="no RFM segment"):
        enrolment.segment_customers(engine, "rfm:Nobody")


def test_close_reopen_and_find_a_member(panel3):
    engine = panel3
    card = enrolment.enrol(engine, "C003", card_no="6222020000000001").card_no
    with engine.connect() as conn:
        assert enrolment.find_member(conn, card)["customer_id"] == 3
        assert enrolment.find_member(conn, "C003")["card_no"] == card
        with pytest.raises(UserError, match="no member with card number or customer id"):
            enrolment.find_member(conn, "C001")
    with pytest.raises(UserError, match="Say why"):
        enrolment.close_membership(engine, card, reason=" ")
    assert enrolment.close_membership(engine, card, reason="客户要求", now=datetime(2026, 6, 1))
    assert not enrolment.close_membership(engine, "C003", reason="again")
    with engine.connect() as conn:
        row = enrolment.member_of_customer(conn, 3)
    assert (row["status"], row["closed_at"]) == ("closed", datetime(2026, 6, 1))
    assert enrolment.reopen_membership(engine, 3, reason="客户回来了")
    with engine.connect() as conn:
        assert enrolment.member_of_customer(conn, 3)["status"] == "active"
    with pytest.raises(UserError, match="not a member"):
        enrolment.close_membership(engine, 1, reason="x")


def test_programme_settings_and_tiers_are_checked(panel3):
    engine = panel3
    policy = programme.update_policy(engine, grace_days="60", cost_per_point="0.02",
                                     tier_basis="points")
    assert (policy.grace_days, policy.cost_per_point, policy.tier_basis) == (60, 0.02, "points")
    for values, words in (({"grace_days": "-1"}, r"grace period \(days\) must be a whole number"),
                          ({"tier_basis": "visits"}, "must be one of points, spend"),
                          ({"colour": "red"}, "no programme setting 'colour'"),
                          ({"expiry_month": "2", "expiry_day": "30"}, "does not exist in month 2"),
                          ({"card_prefix": "A8"}, "must be 1 to 8 digits")):
        with pytest.raises(UserError, match=words):
            programme.update_policy(engine, **values)
    with engine.connect() as conn:
        assert programme.load_policy(conn).grace_days == 60  # nothing half-written
    with pytest.raises(UserError, match="rank"):
        programme.add_tier(engine, "silver", name_en="Silver", rank=0)
    with pytest.raises(UserError, match="no reward 'spa'"):
        programme.add_tier(engine, "gold", name_en="Gold", rank=2, gift_rewards="spa")
    with pytest.raises(UserError, match="multiplier must be a number above 0"):
        programme.add_tier(engine, "gold", name_en="Gold", rank=2, multiplier="0")
    gold = programme.add_tier(engine, "gold", name_en="Gold", name_zh_hans="金卡", rank=2,
                              qualify_value="5000", case_severity="high")
    assert (gold.name("zh_Hant"), gold.case_severity, gold.qualify_value) == ("金卡", "high",
                                                                              5000.0)
    gold = programme.update_tier(engine, "gold", benefits_zh_hans="专属客服", active="no")
    assert (gold.benefit("zh_Hans"), gold.active) == ("专属客服", False)
    enrolment.enrol(engine, "C001")
    with pytest.raises(UserError, match="1 members hold tier basic"):
        programme.remove_tier(engine, "basic")
    programme.remove_tier(engine, "gold")
    with pytest.raises(UserError, match="no tier 'gold'"):
        programme.update_tier(engine, "gold", rank=3)


def test_import_members_is_all_or_nothing_and_names_the_row(panel3, db_url, tmp_path):
    engine = panel3
    bad = tmp_path / "members.csv"
    bad.write_text("客户编号,会员卡号,入会日期,渠道,同意,推荐人\n"
                   "C001,6222000011112222,2025-03-01,门店,是,\n"
                   "C002,,2025-04-01,网店,maybe,6222000011112222\n"
                   "C404,,2025-04-01,,,\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["import", "members", str(bad), "--db", db_url])
    assert result.exit_code == 1
    assert "Nothing was written" in result.output
    assert "line 3" in result.output and "同意" in result.output
    assert "line 4" in result.output and "C404" in result.output
    assert _count(engine, members) == 0
    good = tmp_path / "good.csv"
    good.write_text("customer,card,joined,channel,consent,referrer\n"
                    "C001,6222000011112222,2025-03-01,store,yes,\n"
                    "C002,,2025-04-01,web,no,6222000011112222\n", encoding="utf-8")
    result = runner.invoke(main, ["import", "members", str(good), "--db", db_url])
    assert result.exit_code == 0, result.output
    again = runner.invoke(main, ["import", "members", str(good), "--db", db_url])
    assert again.exit_code == 0 and "unchanged 2" in again.output
    with engine.connect() as conn:
        first, second = conn.execute(select(members).order_by(members.c.customer_id)).mappings()
    assert (first["card_no"], first["joined_on"], first["consent"]) == (
        "6222000011112222", date(2025, 3, 1), True)
    assert (second["referred_by"], second["consent"], second["channel"]) == (
        first["id"], False, "web")
    clash = tmp_path / "clash.csv"
    clash.write_text("customer,card\nC002,6222000011112222\n", encoding="utf-8")
    result = runner.invoke(main, ["import", "members", str(clash), "--db", db_url])
    assert result.exit_code == 1 and "is a member already with card" in result.output


def test_the_members_commands(panel3, db_url):
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(main, ["members", *args, "--db", db_url])
        assert result.exit_code == 0, result.output
        return result.output

    run("tier", "add", "gold", "--name", "Gold", "--name-zh", "金卡", "--rank", "1",
        "--qualify", "800", "--case-severity", "high")
    assert "card 6222000099990001" in run("enroll", "C001", "--card", "6222000099990001",
                                          "--joined", "2025-01-01", "--channel", "store")
    assert run("enroll", "--segment", "tier:gold").strip() == (
        "enrolled 2; 1 were members already")
    assert "now gold" in run("tier", "set", "C002", "gold", "--reason", "key account")
    shown = json.loads(run("show", "6222000099990001", "--format", "json"))
    assert (shown["tier"]["code"], shown["channel"], shown["points"]) == ("basic", "store", 0)
    listed = json.loads(run("list", "--tier", "gold", "--format", "json"))
    assert [row["customer"] for row in listed] == ["C002"]
    assert "C003: closed" in run("close", "C003", "--reason", "客户要求")
    assert "changed: grace_days" in run("programme", "set", "grace_days=30")
    bad = runner.invoke(main, ["members", "programme", "set", "grace_days=x", "--db", db_url])
    assert bad.exit_code == 1 and "grace period (days)" in bad.output
    assert "0 members changed tier" in run("review")
