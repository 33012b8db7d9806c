"""The accrual job: what purchases, refunds and survey answers earn under the rules, exactly
once however often it runs, after a kill, with two workers, for members enrolled late and
purchases dated later than the run; on SQLite or PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date, datetime

import pandas as pd
import pytest
from sqlalchemy import select, text, update

from patronage.members import accrual, accrual_batch, earning, ledger
from patronage.members.enrolment import enrol_member
from patronage.storage import insert_rows, write_transaction
from patronage.storage.importing import import_file
from patronage.storage.schema import customers, responses, surveys, transactions
from patronage.storage.schema_members import member_programme, member_tiers, point_transfers

pytestmark = pytest.mark.db
NOW = datetime(2026, 1, 1)
#: Customers: (external id, birthday); the first three become members on 2025-01-01.
PEOPLE = [("C1", date(1980, 3, 5)), ("C2", date(1985, 12, 1)), ("C3", date(1990, 7, 9)),
          ("C4", None)]


def _setup(engine, *, members=3):
    with write_transaction(engine) as conn:
        insert_rows(conn, member_tiers, [
            {"code": "basic", "name_en": "Basic", "name_zh_hans": "普卡", "name_zh_hant": "普卡",
             "rank": 0, "qualify_value": 0, "multiplier": 1.0},
            {"code": "gold", "name_en": "Gold", "name_zh_hans": "金卡", "name_zh_hant": "金卡",
             "rank": 1, "qualify_value": 1e9, "multiplier": 1.5}])
        insert_rows(conn, customers, [
            {"external_id": ext, "name": ext, "birthday": born, "created_at": NOW,
             "updated_at": NOW} for ext, born in PEOPLE])
        ids = dict(conn.execute(select(customers.c.external_id, customers.c.id)).all())
        made = {}
        for ext, _ in PEOPLE[:members]:
            made[ext] = enrol_member(conn, ids[ext], joined_on=date(2025, 1, 1), now=NOW,
                                     referred_by=made["C1"] if ext == "C3" else None
                                     ).member_id
        if "C2" in made:
            conn.execute(text(f"UPDATE members SET tier_code = 'gold' WHERE id = {made['C2']}"))
    return ids, made


def _buy(engine, ids, rows):
    """Insert transactions: (external id, customer, when, amount, category, channel,
    refund_of)."""
    with write_transaction(engine) as conn:
        insert_rows(conn, transactions, [
            {"external_id": ext, "customer_id": ids[who], "occurred_at": when, "amount": amount,
             "category": category, "channel": channel, "is_refund": amount < 0,
             "refund_of": refund_of}
            for ext, who, when, amount, category, channel, refund_of in rows])
        return dict(conn.execute(select(transactions.c.external_id, transactions.c.id)).all())


def _ledger(engine) -> dict[str, tuple[int, int]]:
    """``{source key: (member id, points)}`` of every transfer."""
    p = point_transfers.c
    with engine.connect() as conn:
        return {key: (member, points) for key, member, points in conn.execute(
            select(p.source_key, p.member_id, p.points))}


def _balances(engine, member_ids):
    with engine.connect() as conn:
        return {m: ledger.balance(conn, m) for m in member_ids}


def _rules(engine):
    earning.add_rule(engine, "purchase", points_per_yuan=1, code="any")
    earning.add_rule(engine, "purchase", points_per_yuan=2, category="家电", code="appliances")
    earning.add_rule(engine, "purchase", points_per_yuan=3, category="家电", channel="app",
                     code="appliances-app")
    earning.add_rule(engine, "purchase", points_per_yuan=1.5, channel="app", code="app")
    earning.add_rule(engine, "member_day", multiplier=2, weekday="wed", code="wednesday")
    earning.add_rule(engine, "birthday_month", multiplier=2, code="birthday")
    earning.add_rule(engine, "first_purchase", points=100, code="first")
    earning.add_rule(engine, "referral", points=500, code="referral")


@pytest.mark.parametrize("one_pass", [False, True], ids=["first-purchases-by-list",
                                                          "first-purchases-in-one-pass"])
def test_purchases_earn_by_the_most_specific_rule_with_multipliers_and_bonuses(engine,
                                                                               monkeypatch,
                                                                               one_pass):
    if one_pass:  # the path of a run whose first chunk holds many members
        monkeypatch.setattr(accrual_batch, "MANY_NEW", 0)
    ids, member = _setup(engine)
    _rules(engine)
    txn = _buy(engine, ids, [
        ("T1", "C1", datetime(2024, 12, 20), 100.0, None, None, None),  # before joining
        ("T2", "C1", datetime(2025, 1, 6, 10), 99.5, None, None, None),  # a Monday
        ("T3", "C1", datetime(2025, 3, 3, 10), 50.0, "家电", "门店", None),  # birthday month; C3 spends 300 in the window
        ("T4", "C2", datetime(2025, 1, 8, 10), 100.0, "家电", "app", None),  # a Wednesday
        ("T5", "C2", datetime(2025, 1, 9, 10), 100.0, "厨具", "APP ", None),
        ("T6", "C3", datetime(2025, 2, 4, 10), 10.01, None, None, None),
        ("T7", "C4", datetime(2025, 2, 4, 10), 100.0, None, None, None),  # not a member
    ])
    done = accrual.accrue(engine, now=NOW)
    m1, m2, m3 = member["C1"], member["C2"], member["C3"]
    expected = {
        f"earn:{txn['T2']}": (m1, 99),  # ¥99.50 x 1, rounded down
        f"first:{m1}": (m1, 100),
        f"earn:{txn['T3']}": (m1, 50 * 2 * 2),  # the category's rule, x2 in the birthday month
        f"earn:{txn['T4']}": (m2, int(100 * 3 * 1.5 * 2)),  # category and channel, gold, Wed
        f"first:{m2}": (m2, 100),
        f"earn:{txn['T5']}": (m2, int(100 * 1.5 * 1.5)),  # the channel's rule (case, spaces)
        f"earn:{txn['T6']}": (m3, 10),
        f"first:{m3}": (m3, 100),
        f"referral:{m3}": (m1, 500),  # to the member who referred C3
    }
    assert _ledger(engine) == expected
    assert (done.transactions, done.points) == (5, sum(p for _, p in expected.values()))
    assert _balances(engine, [m1, m2, m3]) == {
        m1: {"points": 99 + 100 + 200 + 500, "owed": 0},
        m2: {"points": 900 + 100 + 225, "owed": 0}, m3: {"points": 110, "owed": 0}}
    assert ledger.check_balances(engine) == []
    assert accrual.accrue(engine, now=NOW).points == 0  # run again: nothing more
    last = accrual.last_run(engine)
    assert (last["transactions"], last["points"], last["waiting"]) == (5, done.points, 0)
    # A later run reads again which bonuses were given and gives none twice.
    _buy(engine, ids, [("T8", "C1", datetime(2025, 4, 1, 10), 20.0, None, None, None)])
    assert accrual.accrue(engine, now=NOW).points == 20


def test_refunds_take_back_points_pro_rata_and_carry_or_write_off_the_rest(engine):
    ids, member = _setup(engine)
    earning.add_rule(engine, "purchase", points_per_yuan=1, code="any")
    earning.add_rule(engine, "purchase", points_per_yuan=2, category="家电", code="appliances")
    earning.add_rule(engine, "birthday_month", multiplier=2, cap_per_month=1000, code="birthday")
    txn = _buy(engine, ids, [
        ("T1", "C1", datetime(2025, 3, 2), 200.0, "家电", None, None),  # 400 + birthday 400
        ("R1", "C1", datetime(2025, 3, 9), -50.0, "家电", None, "T1"),  # a quarter of 800
        ("R2", "C2", datetime(2025, 4, 1), -30.0, "家电", None, None),  # names no purchase
        ("T2", "C3", datetime(2025, 4, 1), 110.0, None, None, None),
        ("R3", "C3", datetime(2025, 4, 2), -1000.0, None, None, None),  # more than C3 has
    ])
    m1, m2, m3 = member["C1"], member["C2"], member["C3"]
    accrual.accrue(engine, now=NOW)
    found = _ledger(engine)
    assert found[f"earn:{txn['T1']}"] == (m1, 400)
    assert found[f"refund:{txn['R1']}"] == (m1, 800 // 4)
    # C2 had nothing to take back from: the category's 2 points per ¥ are all carried.
    assert found[f"refund:{txn['R2']}"] == (m2, 60)
    assert found[f"refund:{txn['R3']}"] == (m3, 110)
    assert found[f"refund:{txn['R3']}:rest"] == (m3, 890)
    assert _balances(engine, [m1, m3]) == {m1: {"points": 600, "owed": 0},
                                           m3: {"points": 0, "owed": -890}}
    # A later purchase settles the pending balance first.
    _buy(engine, ids, [("T3", "C3", datetime(2025, 5, 1), 500.0, None, None, None)])
    accrual.accrue(engine, now=NOW)
    assert _balances(engine, [m3])[m3] == {"points": 0, "owed": -390}
    # With the write-off policy the programme bears what the member cannot give back.
    with write_transaction(engine) as conn:
        conn.execute(update(member_programme).values(refund_shortfall="write_off"))
    txn = _buy(engine, ids, [("R4", "C2", datetime(2025, 6, 1), -40.0, None, None, None)])
    accrual.accrue(engine, now=NOW)
    p = point_transfers.c
    with engine.connect() as conn:
        kind = conn.execute(select(p.kind, p.points).where(
            p.source_key == f"refund:{txn['R4']}")).one()
    assert tuple(kind) == ("write_off", 40)
    assert _balances(engine, [m2])[m2] == {"points": 0, "owed": -60}
    assert ledger.check_balances(engine) == []


def test_purchases_of_a_member_who_owes_settle_the_pending_balance_one_movement_at_a_time(
        engine):
    """In one chunk, each movement given to a member with a negative pending balance settles
    what is still owed (``min(points, owed)``, key ``settle:<its key>``), as ``ledger.give``
    does movement by movement; members who owe nothing get no settle transfer."""
    ids, member = _setup(engine)
    earning.add_rule(engine, "purchase", points_per_yuan=1, code="any")
    earning.add_rule(engine, "birthday_month", multiplier=2, cap_per_month=150,
                     code="birthday")
    txn = _buy(engine, ids, [("T1", "C3", datetime(2025, 4, 1), 100.0, None, None, None),
                             ("R1", "C3", datetime(2025, 4, 2), -1000.0, None, None, None)])
    accrual.accrue(engine, now=NOW)
    m1, m3 = member["C1"], member["C3"]
    assert _balances(engine, [m3])[m3] == {"points": 0, "owed": -900}
    txn = _buy(engine, ids, [
        ("T2", "C3", datetime(2025, 5, 1), 500.0, None, None, None),
        ("T3", "C1", datetime(2025, 5, 2), 40.0, None, None, None),
        ("T4", "C3", datetime(2025, 6, 1), 300.0, None, None, None),
        ("T5", "C3", datetime(2025, 7, 3), 120.0, None, None, None),  # birthday: +120 (cap 150)
        ("T6", "C3", datetime(2025, 7, 4), 80.0, None, None, None),  # birthday: +30, capped
    ])
    accrual.accrue(engine, now=NOW)
    found = _ledger(engine)
    settles = {key: value for key, value in found.items() if key.startswith("settle:")}
    assert settles == {f"settle:earn:{txn['T2']}": (m3, 500),
                       f"settle:earn:{txn['T4']}": (m3, 300),
                       f"settle:earn:{txn['T5']}": (m3, 100)}
    # T5's earning settled the last 100 owed: its bonus and T6 are spendable.
    assert _balances(engine, [m1, m3]) == {m1: {"points": 40, "owed": 0},
                                           m3: {"points": 20 + 120 + 80 + 30, "owed": 0}}
    p = point_transfers.c
    with engine.connect() as conn:
        kinds = set(conn.execute(select(p.kind, p.debit_account_id, p.credit_account_id)
                                 .where(p.source_key.like("settle:%"))).all())
        spend, owed = (conn.execute(text(
            f"SELECT id FROM point_accounts WHERE member_id = {m3} AND kind = '{kind}'")
        ).scalar_one() for kind in ("points", "owed"))
    assert kinds == {("settle", spend, owed)}
    assert ledger.ledger_problems(engine) == []
    assert accrual.accrue(engine, now=NOW).points == 0


def test_a_killed_run_resumes_and_two_workers_earn_each_purchase_once(engine, monkeypatch):
    ids, member = _setup(engine)
    earning.add_rule(engine, "purchase", points_per_yuan=1)
    amounts = [10.5, 20.0, 30.9, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]
    txn = _buy(engine, ids, [(f"T{i}", f"C{1 + i % 3}", datetime(2025, 2, 1 + i), amount,
                              None, None, None) for i, amount in enumerate(amounts)])
    real, calls = accrual.apply, []

    def dies_on_the_second_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(accrual, "apply", dies_on_the_second_chunk)
    with pytest.raises(RuntimeError):
        accrual.accrue(engine, now=NOW, chunk=3)
    assert len(_ledger(engine)) == 3  # the first chunk was kept, the second rolled back
    monkeypatch.setattr(accrual, "apply", real)
    # Two workers resume at once: each purchase still earns once.
    errors = []

    def worker():
        try:
            accrual.accrue(engine, now=NOW, chunk=2)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    found = _ledger(engine)
    assert sorted(found) == sorted(f"earn:{txn[f'T{i}']}" for i in range(len(amounts)))
    gold = {1}  # C2 (every third purchase from the second) holds the gold card: x1.5
    assert sum(points for _, points in found.values()) == sum(
        int(a * (1.5 if i % 3 in gold else 1)) for i, a in enumerate(amounts))
    assert ledger.check_balances(engine) == []


def test_later_dated_purchases_wait_and_late_members_are_caught_up(engine):
    ids, member = _setup(engine, members=2)
    earning.add_rule(engine, "purchase", points_per_yuan=1)
    txn = _buy(engine, ids, [
        ("T1", "C1", datetime(2025, 1, 10), 10.0, None, None, None),
        ("T2", "C1", datetime(2025, 3, 10), 30.0, None, None, None),  # after the first run
        ("T3", "C2", datetime(2025, 2, 10), 20.0, None, None, None),  # read past T2
        ("T4", "C3", datetime(2025, 2, 11), 40.0, None, None, None),  # not yet a member
    ])
    first = accrual.accrue(engine, until=date(2025, 2, 28), now=NOW)
    assert first.transactions == 2
    assert set(_ledger(engine)) == {f"earn:{txn['T1']}", f"earn:{txn['T3']}"}
    assert accrual.last_run(engine)["waiting"] == 3  # the cursor waits before T2
    with write_transaction(engine) as conn:  # C3 joins with a date in the past
        late = enrol_member(conn, ids["C3"], joined_on=date(2025, 2, 1), now=NOW).member_id
    second = accrual.accrue(engine, until=date(2025, 3, 31), now=NOW)
    assert second.transactions == 2  # T2, and C3's T4; T3 is not earned twice
    assert _ledger(engine)[f"earn:{txn['T4']}"] == (late, 40)
    assert len(_ledger(engine)) == 4 and accrual.last_run(engine)["waiting"] == 0


def test_survey_answers_and_monthly_caps_count_once_across_runs(engine):
    ids, member = _setup(engine)
    earning.add_rule(engine, "purchase", points_per_yuan=1)
    earning.add_rule(engine, "birthday_month", multiplier=2, cap_per_month=150)
    earning.add_rule(engine, "survey_completed", points=20, cap_per_month=30)
    with write_transaction(engine) as conn:
        insert_rows(conn, surveys, [{"code": "s", "title": "S", "status": "open",
                                     "definition": {}, "created_at": NOW}])
        survey = conn.execute(select(surveys.c.id)).scalar_one()
        insert_rows(conn, responses, [
            {"external_id": f"R{i}", "survey_id": survey, "customer_id": ids["C2"],
             "submitted_at": when, "channel": "web", "weight": 1.0}
            for i, when in enumerate([datetime(2024, 12, 1), datetime(2025, 2, 1),
                                      datetime(2025, 2, 2), datetime(2025, 3, 1)])])
    _buy(engine, ids, [("T1", "C1", datetime(2025, 3, 2), 100.0, None, None, None)])
    accrual.accrue(engine, until=date(2025, 3, 5), now=NOW)
    _buy(engine, ids, [("T2", "C1", datetime(2025, 3, 20), 100.0, None, None, None)])
    accrual.accrue(engine, until=date(2025, 3, 31), now=NOW)
    found = _ledger(engine)
    birthday = sorted(points for key, (_, points) in found.items() if key.startswith("bonus:"))
    assert birthday == [50, 100]  # 100 extra, then what is left of the 150 a month
    survey_points = sorted(points for key, (_, points) in found.items()
                           if key.startswith("survey:"))
    assert survey_points == [10, 20, 20]  # not before joining; 30 a month at most
    assert accrual.accrue(engine, now=NOW).points == 0
    assert ledger.check_balances(engine) == []


def test_imported_refunds_name_their_purchase_and_take_back_its_points(engine, tmp_path):
    ids, member = _setup(engine)
    earning.add_rule(engine, "purchase", points_per_yuan=1)
    good = tmp_path / "orders.csv"
    good.write_text("订单号,客户编号,日期,金额,原订单号\n"
                    "R1,C1,2025-02-03,-25,T1\nT1,C1,2025-02-01,100,\n", encoding="utf-8")
    report = import_file(engine, "transactions", good)
    assert report.ok, report.to_text()
    with engine.connect() as conn:
        order = dict(conn.execute(select(transactions.c.external_id, transactions.c.id)).all())
    assert order["T1"] < order["R1"]  # the purchase is written first, whatever the file order
    accrual.accrue(engine, now=NOW)
    assert _balances(engine, [member["C1"]])[member["C1"]] == {"points": 75, "owed": 0}
    bad = tmp_path / "bad.csv"
    bad.write_text("order_no,customer_id,date,amount,refund_of\n"
                   "R2,C1,2025-02-05,-5,T404\nR3,C2,2025-02-05,-5,T1\n", encoding="utf-8")
    report = import_file(engine, "transactions", bad)
    assert [(issue.line, issue.column) for issue in report.errors] == [(2, "refund_of"),
                                                                       (3, "refund_of")]
    assert "T404" in report.errors[0].message and "C1" in report.errors[1].message
    assert report.inserted == 0


@pytest.mark.parametrize("ahead", [True, False], ids=["prepared-ahead", "one-chunk-at-a-time"])
def test_a_chunk_prepared_while_the_one_before_is_written_sees_its_upgrades_and_caps(
        engine, monkeypatch, ahead):
    """With one transaction per chunk, each chunk is prepared while the one before it is
    written: it must still earn at the tier that chunk moved its member up to, and under the
    monthly cap that chunk used up (the same points as chunk by chunk)."""
    if not ahead:
        monkeypatch.setattr(accrual, "_purchases", lambda engine, run, top, chunk, *_: accrual._stream(
            engine, run, top, chunk, table=transactions, stamp="occurred_at",
            cursor=accrual.CURSOR, seen=accrual.SEEN, accrue=accrual_batch.accrue_rows,
            read=accrual_batch.transaction_rows))
    ids, member = _setup(engine)
    with write_transaction(engine) as conn:  # gold (x1.5) at 150 in the window
        conn.execute(update(member_tiers).where(member_tiers.c.code == "gold")
                     .values(qualify_value=150))
    earning.add_rule(engine, "purchase", points_per_yuan=1)
    earning.add_rule(engine, "birthday_month", multiplier=2, cap_per_month=150)
    txn = _buy(engine, ids, [
        ("T1", "C1", datetime(2025, 2, 3), 200.0, None, None, None),  # basic; moves up
        ("T2", "C1", datetime(2025, 2, 4), 100.0, None, None, None),  # gold: x1.5
        ("T3", "C3", datetime(2025, 7, 1), 100.0, None, None, None),  # birthday month; C3 spends 300 in the window
        ("T4", "C3", datetime(2025, 7, 2), 100.0, None, None, None),  # gold; 50 left of the cap
        ("T5", "C3", datetime(2025, 7, 3), 100.0, None, None, None),  # gold, cap used up
    ])
    done = accrual.accrue(engine, now=NOW, chunk=1)
    found = _ledger(engine)
    earned = {name: sum(points for key, (_, points) in found.items()
                        if key.rsplit(":", 1)[-1] == str(txn[name])) for name in txn}
    assert earned == {"T1": 200, "T2": 150, "T3": 200, "T4": 200, "T5": 150}
    assert done.transactions == 5 and ledger.check_balances(engine) == []


def _random_programme(engine, seed: int):
    """Thirty members (every third referred by the one before), gold at 300 spent in the
    window, and 240 purchases and refunds over 2025 in random order of id."""
    import numpy as np

    rng = np.random.default_rng(seed)
    with write_transaction(engine) as conn:
        insert_rows(conn, member_tiers, [
            {"code": "basic", "name_en": "Basic", "name_zh_hans": "普卡", "name_zh_hant": "普卡",
             "rank": 0, "qualify_value": 0, "multiplier": 1.0},
            {"code": "gold", "name_en": "Gold", "name_zh_hans": "金卡", "name_zh_hant": "金卡",
             "rank": 1, "qualify_value": 300, "multiplier": 1.5}])
        insert_rows(conn, customers, [
            {"external_id": f"C{i}", "name": f"C{i}", "birthday": date(1980, 1 + i % 12, 3),
             "created_at": NOW, "updated_at": NOW} for i in range(30)])
        ids = dict(conn.execute(select(customers.c.external_id, customers.c.id)).all())
        made = {}
        for i in range(30):
            made[i] = enrol_member(conn, ids[f"C{i}"], joined_on=date(2025, 1, 1), now=NOW,
                                   referred_by=made[i - 1] if i % 3 == 2 else None).member_id
    earning.add_rule(engine, "purchase", points_per_yuan=1)
    earning.add_rule(engine, "purchase", points_per_yuan=2, category="家电")
    earning.add_rule(engine, "member_day", multiplier=2, weekday="wed")
    earning.add_rule(engine, "birthday_month", multiplier=2, cap_per_month=120)
    earning.add_rule(engine, "first_purchase", points=100)
    earning.add_rule(engine, "referral", points=500)
    rows = []
    for n in range(240):
        who = int(rng.integers(0, 30))
        when = datetime(2025, 1, 2) + (NOW - datetime(2025, 1, 2)) * float(rng.random())
        category = "家电" if rng.random() < 0.3 else None
        if n > 10 and rng.random() < 0.05:
            of = rows[int(rng.integers(0, len(rows)))]
            if of[3] > 0 and of[6] is None:
                rows.append((f"R{n}", of[1], of[2], -of[3], of[4], None, of[0]))
                continue
        rows.append((f"T{n}", f"C{who}", when, float(rng.integers(10, 200)), category, None, None))
    _buy(engine, ids, rows)


@pytest.mark.parametrize("seed", [1, 2])
def test_chunks_prepared_ahead_earn_what_one_chunk_at_a_time_earns(engine, tmp_path,
                                                                   monkeypatch, seed):
    """Chunks of 7 transactions, each prepared while the one before is written (members move up
    to gold between chunks, refer one another and reach the birthday cap), earn exactly what the
    same chunks earn one at a time on another database."""
    from patronage.storage import make_engine, upgrade

    reference = make_engine(f"sqlite:///{tmp_path / 'reference.db'}")
    try:
        upgrade(reference)
        _random_programme(reference, seed)
        with monkeypatch.context() as patch:
            patch.setattr(accrual, "_purchases", lambda engine, run, top, chunk, *_: accrual._stream(
                engine, run, top, chunk, table=transactions, stamp="occurred_at",
                cursor=accrual.CURSOR, seen=accrual.SEEN, accrue=accrual_batch.accrue_rows,
                read=accrual_batch.transaction_rows))
            accrual.accrue(reference, now=NOW, chunk=7)
        expected = _ledger(reference)
    finally:
        reference.dispose()
    _random_programme(engine, seed)
    accrual.accrue(engine, now=NOW, chunk=7)
    found = _ledger(engine)
    assert len(expected) > 250 and any(key.startswith("referral:") for key in expected)
    assert any(key.startswith("refund:") for key in expected)
    assert {k: p for k, (_, p) in found.items()} == {k: p for k, (_, p) in expected.items()}
    assert ledger.check_balances(engine) == []


POSTGRES_ONLY = "COPY and the growing chunks are PostgreSQL's; run with PATRONAGE_TEST_DATABASE_URL"


def test_postgresql_reads_transactions_by_copy_as_row_by_row(engine):
    """The CSV text of ``COPY … TO STDOUT`` gives the frame the row-by-row reader gives: quotes,
    commas and line breaks inside a category, no category, microseconds, amounts, refunds; an
    empty text is read as none (what the accrual makes of an empty category)."""
    if engine.dialect.name != "postgresql":
        pytest.skip(POSTGRES_ONLY)
    ids, _ = _setup(engine)
    txn = _buy(engine, ids, [
        ("T1", "C1", datetime(2025, 3, 5, 10, 0, 0, 123456), 19.99, 'a,"b"\nc', "app", None),
        ("T2", "C2", datetime(2025, 3, 6), 1234567.891, None, None, None),
        ("T3", "C1", datetime(2025, 3, 7, 23, 59, 59), -5.5, "家电", "门店", "T1"),
        ("T4", "C3", datetime(2025, 3, 8, 1, 2, 3, 4), 0.1, "", "NA", None)])
    t = transactions.c
    query = select(t.id.label("transaction_id"), t.customer_id, t.occurred_at, t.amount,
                   t.category, t.channel, t.is_refund, t.refund_of).where(
        t.id >= min(txn.values()), t.occurred_at <= NOW).order_by(t.id)
    with engine.connect() as conn:
        copied = accrual_batch._copied(conn, query)
        rows = accrual_batch._frame(conn, query)
    assert list(copied.columns) == list(rows.columns) and len(copied) == 4
    assert copied.loc[3, "category"] != copied.loc[3, "category"]  # "" read as none
    rows.loc[3, "category"] = None
    for column in rows.columns:
        mine, theirs = copied[column].tolist(), rows[column].tolist()
        same = [a == b or (pd.isna(a) and pd.isna(b)) for a, b in zip(mine, theirs, strict=True)]
        assert all(same), (column, mine, theirs)
    assert copied["category"].tolist()[0] == 'a,"b"\nc'
    assert copied["is_refund"].tolist() == [False, False, True, False]
    assert copied["occurred_at"].tolist()[0] == pd.Timestamp(2025, 3, 5, 10, 0, 0, 123456)
    with engine.connect() as conn:  # no rows (new members with nothing bought before)
        none = accrual_batch._copied(conn, query.where(t.id < 0))
    assert none.empty and list(none.columns) == list(copied.columns)
    assert none["transaction_id"].dtype == "int64" and none["amount"].dtype == "float64"


def test_on_postgresql_default_chunks_grow_from_a_small_first_one(engine, monkeypatch):
    """Without a chunk size, PostgreSQL's first chunk is PG_CHUNK / PG_RAMP and each next one
    doubles up to PG_CHUNK, so that writing starts soon; each purchase still earns once."""
    if engine.dialect.name != "postgresql":
        pytest.skip(POSTGRES_ONLY)
    ids, _ = _setup(engine)
    earning.add_rule(engine, "purchase", points_per_yuan=1)
    _buy(engine, ids, [(f"T{i}", f"C{1 + i % 3}", datetime(2025, 2, 1, i % 24), 10.0 + i, None,
                        None, None) for i in range(30)])
    monkeypatch.setattr(accrual, "PG_CHUNK", 8)
    monkeypatch.setattr(accrual, "PG_RAMP", 4)
    sizes, real = [], accrual._chunk_end

    def recorded(conn, run, after, top, chunk):
        sizes.append(chunk)
        return real(conn, run, after, top, chunk)

    monkeypatch.setattr(accrual, "_chunk_end", recorded)
    done = accrual.accrue(engine, now=NOW)
    assert sizes[:4] == [2, 4, 8, 8] and set(sizes[4:]) <= {8}
    assert done.transactions == 30 and len(_ledger(engine)) == 30
    assert ledger.check_balances(engine) == []
