"""The points ledger: FIFO lots, the audit of adjustments, the whole-ledger check, and a
property test that any sequence of earning, redeeming, expiry, adjustments and refunds keeps
every balance equal to the sum of its transfers, the accounts summing to zero and the
spendable balance never below zero; on SQLite or PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from patronage.cli import main
from patronage.members import lots
from patronage.members.adjustments import adjust, statement_of_card
from patronage.members.enrolment import enrol_member
from patronage.members.expiry import expire_member
from patronage.members.ledger import (
    Movement, NotEnoughPoints, account_balances, balance, entries, give, ledger_problems, take,
)
from patronage.messages import UserError
from patronage.storage import write_transaction
from patronage.storage.schema import customers
from patronage.storage.schema_members import members as members_table
from patronage.storage.schema_members import TRANSFER_KINDS, point_accounts, point_transfers

pytestmark = pytest.mark.db
START = date(2025, 1, 1)
NOW = datetime(2026, 6, 1, 9, 0)


def _member(engine, external_id: str | None = None) -> tuple[int, str]:
    external_id = external_id or f"M{uuid.uuid4().hex[:10]}"
    with write_transaction(engine) as conn:
        pk = conn.execute(customers.insert().values(external_id=external_id, name=external_id,
                                                    created_at=NOW, updated_at=NOW)
                          ).inserted_primary_key[0]
        made = enrol_member(conn, pk, joined_on=START, now=NOW)
    return made.member_id, made.card_no


def _earn(conn, member_id: int, points: int, day: date, months: int = 12) -> None:
    give(conn, member_id, Movement("earn", points, f"txn:{uuid.uuid4().hex}",
                                   datetime.combine(day, datetime.min.time()), earned_on=day,
                                   expires_on=day + timedelta(days=30 * months)))


# -- FIFO lots (pure) ----------------------------------------------------------------------------

def test_lots_are_spent_oldest_first_and_expiry_takes_what_is_due():
    d = date
    history = [lots.Entry(1, 100, d(2025, 3, 1), d(2026, 3, 1)),
               lots.Entry(2, 50, d(2025, 1, 1), d(2026, 1, 1)),   # written later, earned earlier
               lots.Entry(3, -70, d(2025, 4, 1), kind="redeem"),
               lots.Entry(4, 40, d(2025, 6, 1), None)]            # never expires
    open_ = lots.open_lots(history)
    assert [(lot.transfer_id, lot.left) for lot in open_] == [(2, 0), (1, 80), (4, 40)]
    assert lots.left(open_) == 120
    assert lots.due(open_, d(2026, 2, 1)) == {}
    assert lots.due(open_, d(2026, 3, 1)) == {d(2026, 3, 1): (80, 1)}
    assert lots.next_expiring(open_, d(2026, 2, 1)) == (d(2026, 3, 1), 80)
    expired = lots.open_lots([*history, lots.Entry(5, -80, d(2026, 3, 1), d(2026, 3, 1),
                                                   "expire")])
    assert lots.left(expired) == 40 and lots.next_expiring(expired, d(2026, 3, 1)) is None
    # An expiry debit takes the lots due by its day even when an older one never expires.
    never_first = [lots.Entry(1, 30, d(2024, 1, 1), None), lots.Entry(2, 20, d(2025, 1, 1),
                                                                       d(2026, 1, 1)),
                   lots.Entry(3, -20, d(2026, 1, 1), d(2026, 1, 1), "expire")]
    assert [lot.left for lot in lots.open_lots(never_first)] == [30, 0]
    with pytest.raises(ValueError, match="does not add up"):
        lots.open_lots([lots.Entry(1, 10, d(2025, 1, 1)), lots.Entry(2, -11, d(2025, 1, 2))])


# -- the ledger ----------------------------------------------------------------------------------

def test_adjustments_carry_who_and_why_and_the_check_finds_a_tampered_balance(panel, db_url):
    engine, _info = panel
    member_id, card = _member(engine)
    done = adjust(engine, card, 500, "开卡礼遗漏补发", by="admin@example.com", now=NOW)
    assert done["balance"] == 500
    with pytest.raises(NotEnoughPoints):
        adjust(engine, card, -501, "更正", by="agent@example.com")
    for points, reason in ((0, "x"), ("lots", "x"), (10, ""), (10, " ")):
        with pytest.raises(UserError):
            adjust(engine, card, points, reason)
    with pytest.raises(UserError, match="no active staff member"):
        adjust(engine, card, 10, "x", by="nobody@example.com")
    adjust(engine, card, -200, "重复积分更正", by="agent@example.com", now=NOW)
    lines = statement_of_card(engine, card)
    assert lines["points"].tolist() == [500, -200] and lines["balance"].tolist() == [500, 300]
    assert lines["by"].tolist() == ["admin@example.com", "agent@example.com"]
    assert lines["reason"].tolist() == ["开卡礼遗漏补发", "重复积分更正"]
    assert ledger_problems(engine) == []
    runner = CliRunner()
    assert runner.invoke(main, ["members", "check", "--db", db_url]).exit_code == 0
    with engine.begin() as conn:  # written history cannot be changed ...
        with pytest.raises(Exception, match="append-only"):
            conn.execute(update(point_transfers).values(points=1))
    with engine.begin() as conn:  # ... but a cached balance could be, and the check says so
        conn.execute(update(point_accounts).where(point_accounts.c.code == f"m{member_id}:points")
                     .values(balance=301))
    assert ledger_problems(engine) == [f"m{member_id}:points: cached balance 301, transfers "
                                       "sum to 300"]
    failed = runner.invoke(main, ["members", "check", "--db", db_url])
    assert failed.exit_code == 1 and "cached balance 301" in failed.output


def test_a_refund_beyond_the_balance_is_carried_or_written_off_and_earnings_settle_it(engine):
    member_id, _card = _member(engine)
    with write_transaction(engine) as conn:
        _earn(conn, member_id, 100, START)
        assert take(conn, member_id, Movement("refund", 160, "refund:1", NOW), to="issue",
                    shortfall="carry") == 100
        assert balance(conn, member_id) == {"points": 0, "owed": -60}
        _earn(conn, member_id, 50, START)
        assert balance(conn, member_id) == {"points": 0, "owed": -10}
        _earn(conn, member_id, 50, START)
        assert balance(conn, member_id) == {"points": 40, "owed": 0}
        take(conn, member_id, Movement("refund", 100, "refund:2", NOW), to="issue",
             shortfall="write_off")
        assert balance(conn, member_id) == {"points": 0, "owed": 0}
        assert take(conn, member_id, Movement("refund", 100, "refund:2", NOW), to="issue",
                    shortfall="write_off") is None  # the same source once
    summed = account_balances(engine)
    assert summed["write_off"] == -60 and sum(summed.values()) == 0



def test_transfers_keep_their_source_ids_and_nothing_written_can_change(engine):
    """Migration 0009: the ids of what made a movement are history, not foreign keys (a
    transfer may name a purchase or rule that is gone), while the accounts stay foreign keys
    and every column of a written transfer, base points too, stays fixed (the trigger is
    re-created after SQLite's table rebuild)."""
    member_id, _card = _member(engine)
    with write_transaction(engine) as conn:
        transfer = give(conn, member_id, Movement(
            "earn", 30, "earn:gone", NOW, transaction_id=987_654, rule_id=98_765,
            response_id=9_876, redemption_id=987, case_id=98, actor_id=9, base_points=20))
    with engine.connect() as conn:
        row = conn.execute(select(point_transfers).where(point_transfers.c.id == transfer)
                           ).mappings().one()
    assert (row["transaction_id"], row["rule_id"], row["base_points"]) == (987_654, 98_765, 20)
    for change in ({"points": 1}, {"base_points": 1}, {"source_key": "x"}, {"member_id": 0},
                   {"credit_account_id": row["debit_account_id"]}):
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(update(point_transfers).where(point_transfers.c.id == transfer)
                         .values(**change))
    with pytest.raises(IntegrityError), engine.begin() as conn:  # no such account
        conn.execute(insert(point_transfers).values(
            debit_account_id=row["debit_account_id"], credit_account_id=10**8, points=1,
            kind="earn", member_id=member_id, source_key="earn:nowhere", occurred_at=NOW,
            created_at=NOW))
    assert ledger_problems(engine) == []
    # The kind is checked by equalities (migration 0020): every known kind passes, others fail.
    for n, kind in enumerate(TRANSFER_KINDS):
        with engine.begin() as conn:
            conn.execute(insert(point_transfers).values(
                debit_account_id=row["debit_account_id"],
                credit_account_id=row["credit_account_id"], points=1, kind=kind,
                member_id=member_id, source_key=f"kind:{n}", occurred_at=NOW, created_at=NOW))
    for kind in ("gift", "EARN", ""):
        with pytest.raises(IntegrityError, match="kind"), engine.begin() as conn:
            conn.execute(insert(point_transfers).values(
                debit_account_id=row["debit_account_id"],
                credit_account_id=row["credit_account_id"], points=1, kind=kind,
                member_id=member_id, source_key=f"kind:{kind}", occurred_at=NOW,
                created_at=NOW))


def test_a_bulk_insert_naming_an_unknown_account_is_refused_whole(engine):
    """The accounts of transfers written many at once (the accrual's path: one multi-row
    statement on SQLite, COPY on PostgreSQL, where migration 0017 checks them once per
    statement) must exist: one unknown account fails the whole statement as a foreign key
    would, and deleting an account or a member still takes its transfers with it."""
    import sqlite3

    import pandas as pd
    import psycopg

    from patronage.members.posting import Accounts, insert_transfers

    refused = (IntegrityError, sqlite3.IntegrityError, psycopg.IntegrityError)

    members = [_member(engine)[0] for _ in range(3)]
    with engine.connect() as conn:
        accounts = Accounts(conn)
    issue = accounts.programme["issue"]

    def frame(credits, tag):
        return pd.DataFrame({
            "debit_account_id": issue, "credit_account_id": credits, "points": 5, "kind": "earn",
            "member_id": members, "source_key": [f"earn:{tag}:{m}" for m in members],
            "occurred_at": pd.Timestamp(NOW), "created_at": pd.Timestamp(NOW)})

    good = [accounts.points[m] for m in members]
    attempts = [frame([good[0], 10**8, good[2]], "bad"), frame([good[0], good[1], -1], "bad"),
                frame(good, "bad").assign(debit_account_id=10**8),  # an unknown debit
                frame(good, "bad").assign(member_id=[members[0], 10**8, members[2]])]
    for attempt in attempts:
        with pytest.raises(refused) as caught, write_transaction(engine) as conn:
            insert_transfers(conn, attempt)
        error = getattr(caught.value, "orig", caught.value)
        assert getattr(error, "sqlstate", "23503") == "23503"  # foreign_key_violation
        assert "FOREIGN KEY" in str(error) or "does not exist" in str(error)
    with engine.connect() as conn:
        assert conn.execute(select(point_transfers.c.id).where(
            point_transfers.c.source_key.like("earn:bad:%"))).all() == []
    with write_transaction(engine) as conn:
        assert insert_transfers(conn, frame(good, "good")) == 3
    with write_transaction(engine) as conn:  # the cascades the foreign keys had
        conn.execute(point_accounts.delete().where(point_accounts.c.id == good[1]))
    with engine.connect() as conn:
        left = conn.execute(select(point_transfers.c.credit_account_id).where(
            point_transfers.c.source_key.like("earn:good:%"))).scalars().all()
    assert sorted(left) == sorted([good[0], good[2]])
    with write_transaction(engine) as conn:
        conn.execute(members_table.delete().where(members_table.c.id == members[2]))
    with engine.connect() as conn:
        left = conn.execute(select(point_transfers.c.member_id).where(
            point_transfers.c.source_key.like("earn:good:%"))).scalars().all()
    assert left == [members[0]]


# -- property: any sequence keeps the ledger whole -----------------------------------------------

OPERATION = st.one_of(
    st.tuples(st.just("earn"), st.integers(1, 500), st.integers(0, 720)),
    st.tuples(st.just("redeem"), st.integers(1, 600)),
    st.tuples(st.just("expire"), st.integers(0, 1200)),
    st.tuples(st.just("adjust"), st.integers(-400, 400).filter(bool)),
    st.tuples(st.just("refund"), st.integers(1, 600), st.sampled_from(["carry", "write_off"])),
)


def _apply(conn, member_id: int, op: tuple) -> None:
    key = uuid.uuid4().hex
    if op[0] == "earn":
        _earn(conn, member_id, op[1], START + timedelta(days=op[2]))
    elif op[0] == "redeem":
        take(conn, member_id, Movement("redeem", op[1], f"redeem:{key}", NOW), to="redemption")
    elif op[0] == "expire":
        expire_member(conn, member_id, START + timedelta(days=op[1]))
    elif op[0] == "adjust" and op[1] > 0:
        give(conn, member_id, Movement("adjust", op[1], f"adjust:{key}", NOW, reason="test",
                                       earned_on=NOW.date()), source="adjustment")
    elif op[0] == "adjust":
        take(conn, member_id, Movement("adjust", -op[1], f"adjust:{key}", NOW, reason="test"),
             to="adjustment")
    else:
        take(conn, member_id, Movement("refund", op[1], f"refund:{key}", NOW), to="issue",
             shortfall=op[2])


@settings(max_examples=50, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations=st.lists(OPERATION, min_size=1, max_size=12))
def test_any_sequence_of_movements_keeps_the_ledger_whole(engine, operations):
    member_id, _card = _member(engine)
    for op in operations:
        with engine.connect() as conn:
            before = balance(conn, member_id)
        try:
            with write_transaction(engine) as conn:
                _apply(conn, member_id, op)
        except NotEnoughPoints:
            assert op[0] in ("redeem", "adjust")
            with engine.connect() as conn:
                assert balance(conn, member_id) == before  # refused: nothing written
        with engine.connect() as conn:
            now = balance(conn, member_id)
            member_lots = lots.open_lots(entries(conn, [member_id])[member_id])
        assert now["points"] >= 0 and now["owed"] <= 0
        assert lots.left(member_lots) == now["points"]
        if op[0] == "expire":
            assert lots.due(member_lots, START + timedelta(days=op[1])) == {}
    summed = account_balances(engine)
    assert summed[f"m{member_id}:points"] == now["points"]
    assert summed[f"m{member_id}:owed"] == now["owed"]
    assert sum(summed.values()) == 0
    assert ledger_problems(engine) == []

