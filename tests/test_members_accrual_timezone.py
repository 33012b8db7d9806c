"""The accrual judges a purchase's day in the company's time zone, not in UTC: the day it was
earned on (and so its expiry), the member day, the birthday month, the month of a cap, the day
the member joined, the upgrades' day and a run ``until`` a day. Checked in Asia/Shanghai
(UTC+8) with purchases just after local midnight, which are still the day before in UTC; on
SQLite or PostgreSQL. The expected values follow from the calendar (2025-03-05 is a
Wednesday) and the rules as the earning rules page states them."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select, update

from patronage.members import accrual, earning
from patronage.members.tiers import set_tier
from patronage.storage import write_transaction
from patronage.storage.schema_members import member_tiers, members, point_transfers
from test_members_accrual import _buy, _setup

pytestmark = pytest.mark.db
ZONE = "Asia/Shanghai"
NOW = datetime(2026, 1, 1)


def _transfers(engine) -> dict[str, tuple[int, date, date | None]]:
    """``{source key: (points, earned on, expires on)}`` of every transfer."""
    p = point_transfers.c
    with engine.connect() as conn:
        return {key: (points, earned, expires) for key, points, earned, expires in
                conn.execute(select(p.source_key, p.points, p.earned_on, p.expires_on))}


def test_a_purchase_after_local_midnight_is_earned_on_the_local_day(engine):
    ids, _ = _setup(engine, members=1)
    earning.add_rule(engine, "purchase", points_per_yuan=1, code="any")
    txn = _buy(engine, ids, [
        # 23:30 on 31 March in Shanghai: 15:30 UTC the same day.
        ("late", "C1", datetime(2025, 3, 31, 15, 30), 100, None, None, None),
        # 01:00 on 1 April in Shanghai: still 31 March (17:00) in UTC.
        ("early", "C1", datetime(2025, 3, 31, 17, 0), 100, None, None, None),
        # 00:30 on 1 January, the day the member joined: 31 December in UTC.
        ("joined", "C1", datetime(2024, 12, 31, 16, 30), 100, None, None, None)])
    accrual.accrue(engine, now=NOW, timezone=ZONE)
    found = _transfers(engine)
    # Rolling expiry, 24 months after the day earned (the programme's default).
    assert found[f"earn:{txn['late']}"] == (100, date(2025, 3, 31), date(2027, 3, 31))
    assert found[f"earn:{txn['early']}"] == (100, date(2025, 4, 1), date(2027, 4, 1))
    assert found[f"earn:{txn['joined']}"] == (100, date(2025, 1, 1), date(2027, 1, 1))


def test_a_first_purchase_early_on_the_local_join_day_earns_the_bonus(engine):
    ids, made = _setup(engine, members=1)
    earning.add_rule(engine, "purchase", points_per_yuan=1, code="any")
    earning.add_rule(engine, "first_purchase", points=500, code="welcome")
    # C1 joined on 1 January 2025: 00:30 that day in Shanghai is 31 December in UTC.
    txn = _buy(engine, ids, [
        ("first", "C1", datetime(2024, 12, 31, 16, 30), 100, None, None, None),
        ("second", "C1", datetime(2025, 1, 5, 4, 0), 100, None, None, None)])
    accrual.accrue(engine, now=NOW, timezone=ZONE)
    p = point_transfers.c
    with engine.connect() as conn:
        given = conn.execute(select(p.transaction_id, p.points, p.earned_on)
                             .where(p.source_key == f"first:{made['C1']}")).all()
    assert [tuple(row) for row in given] == [(txn["first"], 500, date(2025, 1, 1))]


def test_the_member_day_and_birthday_month_are_local(engine):
    ids, _ = _setup(engine)
    earning.add_rule(engine, "purchase", points_per_yuan=1, code="any")
    earning.add_rule(engine, "member_day", multiplier=2, weekday="wed", code="wednesday")
    earning.add_rule(engine, "birthday_month", multiplier=3, code="birthday")
    txn = _buy(engine, ids, [
        # Wednesday 5 March 2025 at 00:30 in Shanghai (Tuesday 16:30 UTC): ×2.
        ("wed", "C2", datetime(2025, 3, 4, 16, 30), 100, None, None, None),
        # Thursday 6 March at 00:30 in Shanghai (Wednesday 16:30 UTC): no member day.
        ("thu", "C2", datetime(2025, 3, 5, 16, 30), 100, None, None, None),
        # C3 was born in July: 1 July 00:30 in Shanghai (30 June UTC) is in it, 1 August
        # 00:30 (31 July UTC) is not.
        ("jul", "C3", datetime(2025, 6, 30, 16, 30), 100, None, None, None),
        ("aug", "C3", datetime(2025, 7, 31, 16, 30), 100, None, None, None)])
    accrual.accrue(engine, now=NOW, timezone=ZONE)
    found = _transfers(engine)
    # C2 holds gold (×1.5): 100 × 1.5 × 2 = 300 on the member day, 150 the next day.
    assert found[f"earn:{txn['wed']}"][0] == 300
    assert found[f"earn:{txn['thu']}"][0] == 150
    assert found[f"earn:{txn['jul']}"][:2] == (300, date(2025, 7, 1))
    assert found[f"earn:{txn['aug']}"][:2] == (100, date(2025, 8, 1))


def test_a_month_cap_counts_the_local_month(engine):
    ids, _ = _setup(engine, members=1)
    earning.add_rule(engine, "purchase", points_per_yuan=1, cap_per_month=150, code="capped")
    txn = _buy(engine, ids, [
        # 1 May 00:30 in Shanghai (30 April UTC) and 10 May: both in May, 150 between them.
        ("may1", "C1", datetime(2025, 4, 30, 16, 30), 100, None, None, None),
        ("may10", "C1", datetime(2025, 5, 10, 4, 0), 100, None, None, None)])
    accrual.accrue(engine, now=NOW, timezone=ZONE)
    found = _transfers(engine)
    assert found[f"earn:{txn['may1']}"][0] == 100
    assert found[f"earn:{txn['may10']}"][0] == 50
    # A later run counts what the cap gave in the local May (earned on 1 May, not 30 April).
    more = _buy(engine, ids, [("may20", "C1", datetime(2025, 5, 20, 4, 0), 100, None, None,
                               None)])
    accrual.accrue(engine, now=NOW, timezone=ZONE)
    assert f"earn:{more['may20']}" not in _transfers(engine)


def test_a_run_until_a_day_takes_the_local_day_and_upgrades_on_it(engine):
    ids, made = _setup(engine, members=1)
    with write_transaction(engine) as conn:
        conn.execute(update(member_tiers).where(member_tiers.c.code == "gold")
                     .values(qualify_value=150))
    earning.add_rule(engine, "purchase", points_per_yuan=1, code="any")
    txn = _buy(engine, ids, [
        ("tue", "C1", datetime(2025, 3, 4, 12, 0), 100, None, None, None),  # 20:00 on the 4th
        ("wed", "C1", datetime(2025, 3, 4, 16, 30), 100, None, None, None)])  # 00:30 the 5th
    accrual.accrue(engine, until=date(2025, 3, 4), now=NOW, timezone=ZONE)
    assert set(_transfers(engine)) == {f"earn:{txn['tue']}"}
    # 17:00 UTC on the 4th is the 5th in Shanghai: the member moves up on the 5th.
    accrual.accrue(engine, now=datetime(2025, 3, 4, 17, 0), timezone=ZONE)
    with engine.connect() as conn:
        tier, since = conn.execute(select(members.c.tier_code, members.c.tier_since)
                                   .where(members.c.id == made["C1"])).one()
    assert (tier, since) == ("gold", date(2025, 3, 5))


def test_an_admins_tier_change_is_dated_on_the_local_day(engine):
    _, made = _setup(engine, members=1)
    assert set_tier(engine, made["C1"], "gold", reason="投诉补偿",
                    now=datetime(2025, 3, 4, 17, 0), timezone=ZONE)
    with engine.connect() as conn:
        since, review = conn.execute(select(members.c.tier_since, members.c.review_on)
                                     .where(members.c.id == made["C1"])).one()
    # The next review is review_months (12 by default) after the local day.
    assert (since, review) == (date(2025, 3, 5), date(2026, 3, 5))
