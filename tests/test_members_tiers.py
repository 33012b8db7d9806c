"""Tiers (VIP cards): the qualifying value in the rolling window, upgrades at once with the
tier's gifts, reviews that keep a qualifying member, give a grace period to one who falls short
and move them down at its end, each decision once however often (or by how many workers) the
reviews run; an admin's change with a reason; a member's tier raising their case's severity."""

from __future__ import annotations

import threading
from datetime import date, datetime

import pytest
from sqlalchemy import select

from patronage.cases.desk import NewCase, open_case
from patronage.members import tiers
from patronage.members.enrolment import enrol_member
from patronage.members.ledger import Movement, give
from patronage.members.programme import add_tier, update_policy
from patronage.messages import UserError
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import cases, customers, transactions
from patronage.storage.schema_cases import case_events
from patronage.storage.schema_members import (
    member_tier_changes, member_tiers, members, redemptions, rewards,
)

pytestmark = pytest.mark.db
T0 = datetime(2025, 1, 1, 9)


@pytest.fixture
def programme(engine):
    """Three tiers on spend (12-month window, review after 12 months, 90 days' grace), gold
    with a gift and case priority; customers 1–3 enrolled on 2025-01-01, customer 4 not."""
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, [
            {"id": i, "external_id": f"C{i}", "name": f"客户{i}", "created_at": T0,
             "updated_at": T0} for i in range(1, 5)])
        insert_rows(conn, rewards, [{"code": "lounge", "name_en": "Lounge", "name_zh_hans": "贵宾室",
                                     "name_zh_hant": "貴賓室", "kind": "service", "points": 0,
                                     "created_at": T0}])
    update_policy(engine, tier_basis="spend", tier_window_months="12", review_months="12",
                  grace_days="90")
    add_tier(engine, "basic", name_en="Basic", name_zh_hans="普卡", rank=0)
    add_tier(engine, "silver", name_en="Silver", name_zh_hans="银卡", name_zh_hant="銀卡",
             rank=1, qualify_value=1000, multiplier=1.2)
    add_tier(engine, "gold", name_en="Gold", name_zh_hans="金卡", rank=2, qualify_value=5000,
             multiplier=1.5, case_severity="high", gift_rewards="lounge")
    with write_transaction(engine) as conn:
        ids = {i: enrol_member(conn, i, joined_on=date(2025, 1, 1), now=T0).member_id
               for i in (1, 2, 3)}
    return engine, ids


def _buy(engine, customer, day, amount, key):
    with write_transaction(engine) as conn:
        insert_rows(conn, transactions, [{"external_id": key, "customer_id": customer,
                                          "occurred_at": datetime.combine(day, T0.time()),
                                          "amount": amount, "is_refund": amount < 0}])


def _member(engine, member_id):
    with engine.connect() as conn:
        return conn.execute(select(members).where(members.c.id == member_id)).mappings().one()


def _history(engine, member_id):
    t = member_tier_changes.c
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(t.kind, t.from_tier, t.to_tier, t.changed_on)
            .where(t.member_id == member_id).order_by(t.id))]


def test_spend_upgrades_at_once_with_gifts_then_review_grace_and_downgrade(programme,
                                                                          monkeypatch):
    engine, ids = programme
    gifts = []
    monkeypatch.setattr(tiers, "give_free", lambda conn, member, code, *, source_key, now=None:
                        gifts.append((member, code, source_key)) or 1)
    member = ids[1]
    _buy(engine, 1, date(2024, 12, 20), 9000, "before-joining")  # not a member's purchase
    _buy(engine, 1, date(2025, 3, 1), 4000, "T1")
    _buy(engine, 1, date(2025, 3, 2), 2500, "T2")
    _buy(engine, 1, date(2025, 3, 3), -600, "R1")  # a refund lowers the spend
    with write_transaction(engine) as conn:
        assert tiers.qualifying_values(conn, [member], on=date(2025, 3, 3)).loc[member] == 5900
        assert tiers.upgrade_now(conn, [member], on=date(2025, 3, 3), now=T0) == 1
        assert tiers.upgrade_now(conn, [member], on=date(2025, 3, 3), now=T0) == 0
    row = _member(engine, member)
    assert (row["tier_code"], row["tier_since"], row["review_on"]) == (
        "gold", date(2025, 3, 3), date(2026, 3, 3))
    assert [(m, code) for m, code, _key in gifts] == [(member, "lounge")]

    # The review a year on: nothing bought in the window, so 90 days' grace; twice is once.
    _buy(engine, 1, date(2026, 4, 10), 1500, "T3")
    review = datetime(2026, 3, 3, 2)
    assert tiers.run_reviews(engine, now=review) == 0
    assert tiers.run_reviews(engine, now=review) == 0
    assert _member(engine, member)["grace_until"] == date(2026, 6, 1)
    # 15:00 UTC is 23:00 in Shanghai, the company's day: still in grace
    assert tiers.run_reviews(engine, now=datetime(2026, 5, 31, 15),
                             timezone="Asia/Shanghai") == 0
    assert tiers.run_reviews(engine, now=datetime(2026, 6, 1, 1)) == 1  # down to what qualifies
    assert tiers.run_reviews(engine, now=datetime(2026, 6, 1, 8)) == 0
    row = _member(engine, member)
    assert (row["tier_code"], row["grace_until"], row["review_on"]) == (
        "silver", None, date(2027, 6, 1))
    assert _history(engine, member) == [
        ("enrol", None, "basic", date(2025, 1, 1)),
        ("upgrade", "basic", "gold", date(2025, 3, 3)),
        ("grace", "gold", "gold", date(2026, 3, 3)),
        ("downgrade", "gold", "silver", date(2026, 6, 1))]
    assert len(gifts) == 1  # no gift on the way down


def test_a_qualifying_member_keeps_the_tier_and_two_workers_decide_once(programme):
    engine, ids = programme
    keeper, short = ids[2], ids[3]
    _buy(engine, 2, date(2025, 2, 1), 1200, "K1")
    _buy(engine, 3, date(2025, 2, 1), 1200, "S1")
    with write_transaction(engine) as conn:
        assert tiers.upgrade_now(conn, [keeper, short], on=date(2025, 2, 1), now=T0) == 2
    _buy(engine, 2, date(2025, 12, 1), 1100, "K2")  # inside the window of the review
    done = []
    review = datetime(2026, 2, 1, 3)
    workers = [threading.Thread(target=lambda: done.append(tiers.run_reviews(engine, now=review)))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert done == [0, 0]
    assert _member(engine, keeper)["review_on"] == date(2027, 2, 1)
    assert [h[0] for h in _history(engine, keeper)] == ["enrol", "upgrade", "kept"]
    assert [h[0] for h in _history(engine, short)] == ["enrol", "upgrade", "grace"]
    # Buying again during the grace period: kept at its end.
    _buy(engine, 3, date(2026, 3, 1), 1500, "S2")
    assert tiers.run_reviews(engine, now=datetime(2026, 5, 2, 3)) == 0
    row = _member(engine, short)
    assert (row["tier_code"], row["grace_until"], row["review_on"]) == (
        "silver", None, date(2027, 5, 2))


def test_points_basis_counts_purchase_points_net_of_refunds(programme):
    engine, ids = programme
    member = ids[1]
    update_policy(engine, tier_basis="points")
    with write_transaction(engine) as conn:
        for key, kind, points, day in (("earn:1", "earn", 800, date(2025, 5, 1)),
                                       ("bonus:1", "bonus", 5000, date(2025, 5, 1)),
                                       ("earn:old", "earn", 900, date(2024, 5, 1)),
                                       ("earn:2", "earn", 400, date(2025, 6, 1))):
            give(conn, member, Movement(kind=kind, points=points, source_key=key,
                                        occurred_at=datetime.combine(day, T0.time()),
                                        base_points=points if kind == "earn" else None))
        from patronage.members.ledger import take
        take(conn, member, Movement(kind="refund", points=150, source_key="refund:1",
                                    occurred_at=datetime(2025, 6, 2), base_points=150),
             to="issue")
        value = tiers.qualifying_values(conn, [member, ids[2]], on=date(2025, 6, 30))
    assert value.to_dict() == {member: 1050.0, ids[2]: 0.0}


def test_an_admin_sets_a_tier_with_a_reason(programme, monkeypatch):
    engine, ids = programme
    monkeypatch.setattr(tiers, "give_free", lambda *a, **k: None)
    with pytest.raises(UserError, match="reason is required"):
        tiers.set_tier(engine, ids[1], "gold", reason=" ")
    with pytest.raises(UserError, match="no tier 'platinum'"):
        tiers.set_tier(engine, ids[1], "platinum", reason="VIP")
    now = datetime(2025, 7, 1, 10)
    assert tiers.set_tier(engine, ids[1], "gold", reason="董事长的朋友", now=now)
    assert not tiers.set_tier(engine, ids[1], "gold", reason="again", now=now)
    t = member_tier_changes.c
    with engine.connect() as conn:
        kind, reason = conn.execute(select(t.kind, t.reason).where(
            t.member_id == ids[1]).order_by(t.id.desc())).first()
    assert (kind, reason) == ("manual", "董事长的朋友")
    assert _member(engine, ids[1])["review_on"] == date(2026, 7, 1)


def test_a_gold_members_case_opens_at_the_tiers_severity(programme, monkeypatch):
    engine, ids = programme
    monkeypatch.setattr(tiers, "give_free", lambda *a, **k: None)
    tiers.set_tier(engine, ids[1], "gold", reason="test")
    gold = open_case(engine, NewCase(customer="C1", subject="Late delivery", severity="normal"))
    urgent = open_case(engine, NewCase(customer="C1", subject="Fire", severity="urgent"))
    other = open_case(engine, NewCase(customer="C4", subject="Late delivery"))
    c, e = cases.c, case_events.c
    with engine.connect() as conn:
        severities = dict(conn.execute(select(c.subject, c.severity)
                                       .where(c.subject.in_(["Late delivery", "Fire"]))
                                       .where(c.customer_id == 1)).all())
        other_severity = conn.execute(select(c.severity).where(c.customer_id == 4)).scalar()
        opened = conn.execute(select(e.changes).join(cases, cases.c.id == e.case_id)
                              .where(e.kind == "opened", c.customer_id == 1)
                              .order_by(e.id)).scalars().all()
    assert severities == {"Late delivery": "high", "Fire": "urgent"}
    assert other_severity == "normal"
    assert opened[0]["priority"] == "tier gold" and "priority" not in opened[1]
    assert gold and urgent and other


def test_reaching_a_tier_gives_its_gifts_once_per_move_up(programme):
    engine, ids = programme
    member = ids[1]
    _buy(engine, 1, date(2025, 3, 1), 6000, "G1")
    with write_transaction(engine) as conn:
        assert tiers.upgrade_now(conn, [member], on=date(2025, 3, 1), now=T0) == 1
        assert tiers.upgrade_now(conn, [member], on=date(2025, 3, 2), now=T0) == 0
    tiers.set_tier(engine, member, "basic", reason="test", now=datetime(2025, 4, 1))
    tiers.set_tier(engine, member, "gold", reason="test", now=datetime(2025, 5, 1))
    d = redemptions.c
    with engine.connect() as conn:
        given = conn.execute(select(d.channel, d.points, d.status).where(
            d.member_id == member)).all()
    assert given == [("tier_gift", 0, "done")] * 2  # the upgrade's and the move back up's


def test_window_sums_for_many_members_agree_and_forget_a_rolled_back_chunk(programme,
                                                                          monkeypatch):
    """The accrual's path (many members: sums kept per engine) gives the direct sums, counts
    the caller's own uncommitted rows for its decision only, and picks up rows and members
    added since the sums were read."""
    from patronage.members import qualifying

    engine, ids = programme
    update_policy(engine, tier_basis="points")
    on, at = date(2025, 6, 30), datetime(2025, 6, 1, 10)

    def earn(conn, member, points, key):
        give(conn, member, Movement(kind="earn", points=points, source_key=key, occurred_at=at,
                                    base_points=points))

    def values(conn=None):
        if conn is not None:
            return tiers.qualifying_values(conn, everyone, on=on).to_dict()
        with engine.connect() as conn:
            return tiers.qualifying_values(conn, everyone, on=on).to_dict()

    everyone = list(ids.values())
    with write_transaction(engine) as conn:
        earn(conn, ids[1], 700, "earn:a")
        earn(conn, ids[2], 300, "earn:b")
    direct = values()
    monkeypatch.setattr(qualifying, "ALL_AT_ONCE", 1)
    assert values() == direct == {ids[1]: 700.0, ids[2]: 300.0, ids[3]: 0.0}
    with pytest.raises(RuntimeError):
        with write_transaction(engine) as conn:
            earn(conn, ids[3], 900, "earn:c")
            assert values(conn)[ids[3]] == 900.0  # its own rows count for its decision
            raise RuntimeError("the chunk fails")
    assert values() == direct
    with write_transaction(engine) as conn:
        earn(conn, ids[3], 50, "earn:d")
        late = enrol_member(conn, 4, joined_on=date(2025, 1, 1), now=T0).member_id
        earn(conn, late, 80, "earn:e")
    everyone.append(late)
    assert values() == {**direct, ids[3]: 50.0, late: 80.0}
    # On spend, read whole: members who joined before the window and within it.
    update_policy(engine, tier_basis="spend")
    _buy(engine, 1, date(2024, 12, 20), 9000, "S-before-joining")
    _buy(engine, 1, date(2025, 2, 1), 1200, "S1")
    _buy(engine, 1, date(2025, 2, 2), -200, "S1-refund")
    _buy(engine, 4, date(2024, 11, 1), 700, "S4")
    _buy(engine, 4, date(2024, 6, 1), 999, "S4-before-the-window")
    with write_transaction(engine) as conn:  # customer 4 joined before the window opened
        conn.execute(members.update().where(members.c.id == late).values(
            joined_on=date(2024, 1, 1)))
    monkeypatch.setattr(qualifying, "ALL_AT_ONCE", 10_000)
    direct = values()
    monkeypatch.setattr(qualifying, "ALL_AT_ONCE", 1)
    assert values() == direct == {ids[1]: 1000.0, ids[2]: 0.0, ids[3]: 0.0, late: 700.0}


def test_points_tiers_count_base_points_whatever_the_multipliers_and_refunds_take_their_share(
        programme):
    """A gold member (×2) and basic members (×1) buy the same on a member day (×2): gold
    earns twice the points, yet both qualify on the same base points (the purchase rule's
    1 point per ¥); a refund of a quarter takes back a quarter of the base points, and a refund
    beyond the spendable balance (carried) still takes its whole base share."""
    from patronage.members import accrual, earning
    from patronage.storage.schema_members import point_transfers

    engine, ids = programme
    update_policy(engine, tier_basis="points")
    earning.add_rule(engine, "purchase", points_per_yuan=1, code="any")
    earning.add_rule(engine, "member_day", multiplier=2, day_of_month=8, code="eighth")
    with write_transaction(engine) as conn:
        conn.execute(members.update().where(members.c.id == ids[1]).values(tier_code="gold"))
        conn.execute(member_tiers.update().where(member_tiers.c.code == "gold")
                     .values(multiplier=2))
        conn.execute(members.update().where(members.c.id.in_([ids[2], ids[3]]))
                     .values(tier_code="basic"))
    day = datetime(2025, 5, 8, 10)
    with write_transaction(engine) as conn:
        insert_rows(conn, transactions, [
            {"external_id": f"P{c}", "customer_id": c, "occurred_at": day, "amount": 99.5,
             "is_refund": False} for c in (1, 2, 3)])
    accrual.accrue(engine, now=datetime(2025, 5, 20))
    p = point_transfers.c
    with engine.connect() as conn:
        earned = dict(conn.execute(select(p.member_id, p.points).where(p.kind == "earn")).all())
        base = dict(conn.execute(select(p.member_id, p.base_points).where(p.kind == "earn")).all())
        on = date(2025, 5, 31)
        before = tiers.qualifying_values(conn, list(ids.values()), on=on).to_dict()
    # 99.5 × 2 × 2 = 398 and 99.5 × 2 = 199 points; 99 base points each.
    assert earned == {ids[1]: 398, ids[2]: 199, ids[3]: 199}
    assert base == {ids[1]: 99, ids[2]: 99, ids[3]: 99}
    assert before == {ids[1]: 99.0, ids[2]: 99.0, ids[3]: 99.0}
    with write_transaction(engine) as conn:  # member 3 spends their points first
        from patronage.members.ledger import take
        take(conn, ids[3], Movement(kind="redeem", points=199, source_key="redeem:x",
                                    occurred_at=day), to="redemption")
        insert_rows(conn, transactions, [
            {"external_id": f"R{c}", "customer_id": c, "occurred_at": datetime(2025, 5, 9),
             "amount": -24.88, "is_refund": True, "refund_of": f"P{c}"} for c in (1, 3)])
    accrual.accrue(engine, now=datetime(2025, 5, 20))
    with engine.connect() as conn:
        refunds = {m: (points, b) for m, points, b in conn.execute(
            select(p.member_id, p.points, p.base_points).where(p.kind == "refund"))}
        after = tiers.qualifying_values(conn, list(ids.values()), on=on).to_dict()
    # 24.88 / 99.5 of 398, 199 and 99 points, rounded down (99.52, 49.76, 24.76); member 3's
    # refund is carried whole as a pending balance.
    assert refunds == {ids[1]: (99, 24), ids[3]: (49, 24)}
    assert after == {ids[1]: 75.0, ids[2]: 99.0, ids[3]: 75.0}
