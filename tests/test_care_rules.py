"""Follow-up rules make each triggering event's task once: per purchase, touchpoint, resolved
case, key-account visit period and P(alive) drop; not for years of history; never a call to a
customer who asked for none; in two workers at once. On SQLite or PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select, update

from patronage.accounts import create_user
from patronage.care import rules
from patronage.care.contacts import log_contact
from patronage.cases import setup
from patronage.cases.inputs import user_id_of
from patronage.messages import UserError
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import cases, customers, touchpoints, transactions
from patronage.storage.schema_care import care_tasks

pytestmark = pytest.mark.db
NOW = datetime(2026, 6, 1, 9, 0)
OLD = NOW - timedelta(days=800)


def _customer(i, name, **extra):
    row = {"id": i, "external_id": f"K{i}", "name": name, "created_at": OLD, "updated_at": OLD,
           "language": None, "size": None, "tier": "gold", "visit_every_days": None,
           "preferences": None, "account_owner_id": None}
    return {**row, **extra}


@pytest.fixture
def shop(engine):
    """Four customers (an English speaker, a key account, one who asked not to be called) and
    purchases of air conditioners recent and two years old."""
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, [
            _customer(1, "王伟"), _customer(2, "Alice Chen", language="en"),
            _customer(3, "华东精密", size="大客户"),
            _customer(4, "李娜", preferences={"do_not_call": True})])
        insert_rows(conn, transactions, [
            {"external_id": ext, "customer_id": cid, "occurred_at": at, "amount": 3999.0,
             "product": product, "category": category, "is_refund": False}
            for ext, cid, at, product, category in [
                ("T1", 1, NOW - timedelta(days=1), "KFR-35", "空调"),
                ("T2", 2, NOW - timedelta(days=2), "KFR-50", "空调"),
                ("T3", 4, NOW - timedelta(days=1), "KFR-35", "空调"),
                ("T4", 1, NOW - timedelta(days=700), "KFR-26", "空调"),  # history
                ("T5", 3, NOW - timedelta(days=1), "冰箱", "冰箱")]])
    return engine


def _tasks(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(care_tasks).order_by(care_tasks.c.id))
                .mappings()]


def test_a_purchase_rule_makes_each_task_once_in_the_customers_language(shop):
    rules.add_rule(shop, trigger="purchase", params={"days": 3, "category": "空调"},
                   scripts={"zh_Hans": "您好{name}，您{date}购买的{product}用得怎么样？",
                            "en": "Hello {first_name}, how is your {product}?"}, now=NOW)
    assert rules.run_rules(shop, now=NOW) == 2  # T1, T2: not the old T4, the fridge, nor 李娜
    assert rules.run_rules(shop, now=NOW + timedelta(hours=1)) == 0
    made = {t["customer_id"]: t for t in _tasks(shop)}
    assert set(made) == {1, 2}
    assert made[1]["script"] == f"您好王伟，您{NOW - timedelta(days=1):%Y-%m-%d}购买的KFR-35用得怎么样？"
    assert made[2]["script"] == "Hello Alice, how is your KFR-50?"
    assert made[1]["due_at"] == NOW - timedelta(days=1) + timedelta(days=3)
    assert made[1]["source_key"] == f"rule:1:transaction:{1}"
    # A sale imported late (it happened yesterday, the worker last ran an hour ago) still counts.
    with write_transaction(shop) as conn:
        insert_rows(conn, transactions, [{"external_id": "T6", "customer_id": 3,
                                          "occurred_at": NOW, "amount": 10.0, "product": "KFR-72",
                                          "category": "空调", "is_refund": False}])
    assert rules.run_rules(shop, now=NOW + timedelta(hours=2)) == 1


def test_two_workers_at_once_make_each_task_once(shop):
    rules.add_rule(shop, trigger="purchase", params={"days": 2}, now=NOW)
    rules.add_rule(shop, trigger="visit_due", params={"every_days": 90}, task_type="visit",
                   now=NOW)
    barrier, counts, errors = threading.Barrier(2), [], []

    def worker():
        try:
            barrier.wait()
            counts.append(rules.run_rules(shop, now=NOW))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    keys = [t["source_key"] for t in _tasks(shop)]
    assert len(keys) == len(set(keys)) == sum(counts) == 4  # T1, T2, T5 and the key account


def test_visit_plans_touchpoints_and_resolved_cases(shop):
    with write_transaction(shop) as conn:
        conn.execute(update(customers).where(customers.c.id == 2).values(visit_every_days=30))
        insert_rows(conn, touchpoints, [
            {"customer_id": 1, "occurred_at": NOW - timedelta(hours=20), "kind": "installation"},
            {"customer_id": 2, "occurred_at": NOW - timedelta(hours=20), "kind": "delivery"}])
        insert_rows(conn, cases, [
            {"customer_id": 1, "type": "complaint", "status": "resolved", "subject": "漏水",
             "opened_at": NOW - timedelta(days=5), "resolved_at": NOW - timedelta(days=1)},
            {"customer_id": 2, "type": "complaint", "status": "resolved", "subject": "old",
             "opened_at": OLD, "resolved_at": OLD + timedelta(days=1)}])
        log_contact(conn, customer_id=2, channel="visit", kind="visit",
                    at=NOW - timedelta(days=10))
    visit = rules.add_rule(shop, trigger="visit_due", params={}, task_type="visit", now=NOW)
    rules.add_rule(shop, trigger="touchpoint", params={"kind": "installation", "days": 1},
                   now=NOW)
    rules.add_rule(shop, trigger="case_resolved", params={"days": 2}, now=NOW)
    assert rules.run_rules(shop, now=NOW) == 3
    by_rule = {t["rule_id"]: t for t in _tasks(shop)}
    # The key account (never visited) is due; 2 was visited 10 days ago on a 30-day plan.
    assert by_rule[visit["id"]]["customer_id"] == 3
    assert by_rule[2]["customer_id"] == 1 and by_rule[3]["customer_id"] == 1
    # 20 days on, customer 2's own 30-day plan is due within the week's lead; one task each.
    assert rules.run_rules(shop, now=NOW + timedelta(days=20)) == 1
    assert rules.run_rules(shop, now=NOW + timedelta(days=21)) == 0


def test_a_p_alive_drop_rule_fits_the_model_only_when_it_exists(shop, monkeypatch):
    fits = []
    alive = pd.DataFrame({"p_alive": [0.3, 0.9, 0.2], "tier": ["gold", "gold", "silver"],
                          "last_purchase": [NOW - timedelta(days=30)] * 3}, index=[1, 2, 3])
    monkeypatch.setattr(rules, "alive_table", lambda engine: fits.append(1) or alive)
    rules.add_rule(shop, trigger="purchase", params={"days": 1}, now=NOW)
    rules.run_rules(shop, now=NOW)
    assert fits == []
    rules.add_rule(shop, trigger="alive_drop", params={"below": 0.5, "tiers": "gold"}, now=NOW)
    before = len(_tasks(shop))
    assert rules.run_rules(shop, now=NOW) == 1 and fits == [1]
    new = _tasks(shop)[before:]
    assert [t["customer_id"] for t in new] == [1]  # 2 is likely alive, 3 is silver
    assert rules.run_rules(shop, now=NOW + timedelta(days=1)) == 0


def test_team_rotation_account_owners_and_no_calls_to_who_said_no(shop):
    for email in ("a@example.com", "b@example.com", "owner@example.com"):
        create_user(shop, email, "a long enough password 1", "agent")
    setup.add_team(shop, "华东服务组", members=["a@example.com", "b@example.com"])
    with shop.connect() as conn:
        a, b, owner = (user_id_of(conn, f"{who}@example.com") for who in ("a", "b", "owner"))
    with write_transaction(shop) as conn:
        conn.execute(update(customers).where(customers.c.id == 2)
                     .values(account_owner_id=owner))
    rules.add_rule(shop, trigger="purchase", params={"days": 3}, team="华东服务组",
                   to_account_owner=True, now=NOW)
    rules.run_rules(shop, now=NOW)
    made = {t["customer_id"]: t["assignee_id"] for t in _tasks(shop)}
    assert 4 not in made  # asked not to be called
    assert made[2] == owner
    assert (made[1], made[3]) == (a, b)  # round-robin in the team


def test_bad_rules_are_refused_with_the_reason(shop):
    with pytest.raises(UserError, match="trigger"):
        rules.parse_params("birthday")
    with pytest.raises(UserError, match="whole number"):
        rules.add_rule(shop, trigger="purchase", params={"days": "three"})
    with pytest.raises(UserError, match="probability"):
        rules.add_rule(shop, trigger="alive_drop", params={"below": "1.5"})
    with pytest.raises(UserError, match="team"):
        rules.add_rule(shop, trigger="case_resolved", params={}, team="没有这个组")
    made = rules.add_rule(shop, trigger="case_resolved", params={}, code="after-case")
    with pytest.raises(UserError, match="already"):
        rules.add_rule(shop, trigger="case_resolved", params={}, code="after-case")
    rules.switch_rule(shop, "after-case", False)
    assert rules.run_rules(shop, now=NOW) == 0
    assert rules.remove_rule(shop, made["id"]) == "after-case"
    assert rules.list_rules(shop) == []


# The fit's quality is not the point here (40 made-up customers): only how it is keyed.
@pytest.mark.filterwarnings("ignore::patronage.analytics.btyd._base.ConvergenceWarning")
def test_the_p_alive_table_is_keyed_by_the_customers_database_ids(engine):
    """The BG/NBD fit is indexed by external ids ("C00012"); the rule's tasks need database ids.
    Ids here start at 101 so that no external id could pass for a database id."""
    rng = np.random.default_rng(7)
    people, sales = [], []
    for n in range(40):
        pk = 101 + n
        people.append(_customer(pk, f"客户{n}", external_id=f"C{n:05d}",
                                tier="gold" if n % 2 else "silver"))
        days = sorted(rng.choice(np.arange(5, 700), size=int(rng.integers(1, 6)), replace=False))
        sales += [{"external_id": f"S{pk}-{d}", "customer_id": pk,
                   "occurred_at": NOW - timedelta(days=int(d)), "amount": 100.0 + d,
                   "product": "KFR-35", "category": "空调", "is_refund": False} for d in days]
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, people)
        insert_rows(conn, transactions, sales)
    table = rules.alive_table(engine)
    assert table is not None and set(table.index) <= set(range(101, 141))
    assert table.loc[102, "tier"] == "gold" and table.loc[101, "tier"] == "silver"
    rules.add_rule(engine, trigger="alive_drop", params={"below": 0.9999, "within_days": 3650},
                   now=NOW - timedelta(days=1))
    rules.run_rules(engine, None, now=NOW)
    made = {t["customer_id"] for t in _tasks(engine)}
    assert made and made <= set(range(101, 141))
