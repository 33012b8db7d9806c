"""The demo's membership programme (issue 13, item 7): two years of a programme run through its
services, whose ledger checks out, and a planted effect that the incrementality analysis
recovers (:mod:`patronage.demo.members`).

* Ledger: every member account's cached balance equals the sum of its transfers, all accounts
  add up to zero, no spendable balance below zero (double-entry bookkeeping).
* History: tiers, redemptions, cancellations, expiries, adjustments, case compensation, bonuses
  of every earning rule and refunds exist in plausible numbers; nothing is left for the worker
  at the demo's today.
* Incrementality: the demo's members joined mostly in a recruiting campaign that chose
  customers by their purchases, spend and recency in the six months before, so members bought
  more than non-members before they joined. Matching each member with non-members of the same
  pre-enrolment recency, frequency and spend (Stuart 2010, *Matching methods for causal
  inference*, Statistical Science 25(1); Abadie & Imbens 2006, Econometrica 74(1), for the
  standard errors) must cover the planted effect — the expected extra purchases and spend the
  simulation gave the matched members in their 12 months after joining — with its 95 %
  interval, as must the difference-in-differences on the matched sample (Angrist & Pischke
  2009, ch. 5); the naive member vs non-member difference must lie above the matched interval.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from patronage.demo.members import PROGRAMME_START
from patronage.members.enrolment import valid_card
from patronage.members.ledger import account_balances, entries, ledger_problems
from patronage.members.lots import due, open_lots
from patronage.members.programme import company_times
from patronage.storage import make_engine
from patronage.storage.schema import customers, transactions
from patronage.storage.schema_members import (
    earn_rules,
    member_tier_changes,
    member_tiers,
    members,
    point_transfers,
    redemptions,
    rewards,
)

TODAY = date(2026, 6, 30)
END = datetime(2026, 6, 30, 23, 59, 59)
pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def demo(demo_company):
    url, summary, company = demo_company
    engine = make_engine(url)
    yield engine, summary, company
    engine.dispose()


def _frame(engine, query) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.all(), columns=list(result.keys()))


def test_the_ledger_checks_out(demo):
    engine, _summary, _company = demo
    assert ledger_problems(engine) == []
    balances = account_balances(engine)
    assert sum(balances.values()) == 0
    # Points were issued, spent and expired: the programme's accounts carry them.
    assert balances["issue"] < 0 < balances["redemption"] and balances["expiry"] > 0


def test_members_are_the_generated_ones_with_their_join_days(demo):
    engine, summary, company = demo
    rows = _frame(engine, select(customers.c.external_id, members.c.joined_on, members.c.card_no,
                                 members.c.channel, members.c.consent, members.c.referred_by,
                                 members.c.id)
                  .join(customers, customers.c.id == members.c.customer_id)).set_index(
        "external_id")
    planted = company.members.members.set_index("customer_id")
    assert summary.members["members"] == len(rows) == len(planted) > 1000
    assert (pd.to_datetime(rows.loc[planted.index, "joined_on"]).dt.date
            == planted["joined_on"]).all()
    assert rows["card_no"].map(valid_card).all() and rows["card_no"].is_unique
    assert (rows.loc[planted.index, "consent"] == planted["consent"]).all()
    referred = rows["referred_by"].dropna().astype(int).map(dict(zip(rows["id"], rows.index)))
    assert len(referred) == planted["referred_by"].notna().sum() > 20
    assert (referred == planted["referred_by"].reindex(referred.index)).all()
    assert pd.to_datetime(rows["joined_on"]).min().date() >= PROGRAMME_START


def test_two_years_of_points_tiers_and_rewards(demo):
    engine, summary, _company = demo
    t = _frame(engine, select(point_transfers.c.kind, point_transfers.c.rule_id,
                              point_transfers.c.case_id, point_transfers.c.actor_id,
                              point_transfers.c.reason, point_transfers.c.occurred_at,
                              point_transfers.c.transaction_id))
    kinds = Counter(t["kind"])
    assert kinds["earn"] > 10_000 and kinds["expire"] > 500 and kinds["redeem"] > 300
    assert kinds["cancel"] > 10 and kinds["refund"] > 50
    assert kinds["adjust"] > 10 and kinds["compensation"] > 5
    adjusted = t[t["kind"].eq("adjust")]
    assert adjusted["reason"].str.len().gt(0).all() and adjusted["actor_id"].notna().all()
    assert t.loc[t["kind"].eq("compensation"), "case_id"].notna().all()
    assert t["occurred_at"].min() >= pd.Timestamp(PROGRAMME_START)
    assert t["occurred_at"].max() <= pd.Timestamp(END)
    # Every earning rule gave points.
    rules = _frame(engine, select(earn_rules.c.id, earn_rules.c.kind))
    given = set(t["rule_id"].dropna().astype(int))
    assert set(rules["id"]) <= given, rules[~rules["id"].isin(given)]
    # Refunds that name their purchase took back points from it.
    refunds = _frame(engine, select(transactions.c.id, transactions.c.refund_of)
                     .where(transactions.c.is_refund.is_(True)))
    taken = set(t.loc[t["kind"].eq("refund"), "transaction_id"].dropna().astype(int))
    assert refunds.loc[refunds["id"].isin(taken), "refund_of"].notna().sum() > 50

    held = _frame(engine, select(member_tiers.c.code, func.count(members.c.id))
                  .outerjoin(members, members.c.tier_code == member_tiers.c.code)
                  .group_by(member_tiers.c.code)).set_index("code").iloc[:, 0]
    assert held.gt(20).all(), held
    changes = Counter(_frame(engine, select(member_tier_changes.c.kind))["kind"])
    assert changes["upgrade"] > 200 and changes["downgrade"] > 0
    assert changes["grace"] > 0 and changes["kept"] > 0

    r = _frame(engine, select(redemptions.c.status, redemptions.c.channel,
                              redemptions.c.created_at, rewards.c.code, rewards.c.valid_from,
                              rewards.c.valid_until, rewards.c.stock)
               .join(rewards, rewards.c.id == redemptions.c.reward_id))
    assert set(r["channel"]) >= {"api", "agent", "profile", "tier_gift"}
    assert r["status"].eq("cancelled").sum() == summary.members["cancelled"] > 10
    dated = r[r["valid_from"].notna()]
    assert len(dated) > 5
    assert (pd.to_datetime(dated["created_at"]).dt.date >= dated["valid_from"]).all()
    assert (pd.to_datetime(dated["created_at"]).dt.date <= dated["valid_until"]).all()
    assert r["stock"].dropna().ge(0).all()


def test_nothing_is_left_for_the_worker_at_the_demos_today(demo):
    """The replay ran the worker's jobs up to the demo's today: no points are due to expire,
    no tier review is due and every member's purchase since joining has earned."""
    engine, _summary, _company = demo
    with engine.connect() as conn:
        ids = conn.execute(select(members.c.id)).scalars().all()
        lots = entries(conn, ids)
        m = members.c
        due_reviews = conn.execute(select(func.count()).select_from(members).where(
            m.status == "active",
            ((m.grace_until.is_(None)) & (m.review_on <= TODAY)) | (m.grace_until <= TODAY))
        ).scalar_one()
    assert all(not due(open_lots(rows), TODAY) for rows in lots.values())
    assert due_reviews == 0
    t = transactions.c
    # Since joining in the company's days: 00:30 in Shanghai on the day they joined is the
    # day before in UTC, and earns.
    bought = _frame(engine, select(t.id, t.occurred_at, members.c.joined_on)
                    .join(members, members.c.customer_id == t.customer_id)
                    .where(t.is_refund.is_(False), t.amount >= 1))
    local_day = company_times(pd.to_datetime(bought["occurred_at"])).dt.normalize()
    bought = bought[(local_day >= pd.to_datetime(bought["joined_on"])).to_numpy()]
    earned = _frame(engine, select(point_transfers.c.transaction_id)
                    .where(point_transfers.c.kind == "earn"))
    assert set(bought["id"]) == set(earned["transaction_id"].dropna().astype(int))


def test_the_planted_truth_is_what_the_simulation_drew(demo):
    """The expected extra purchases per member (a Poisson mean) against the extra purchases
    actually drawn: their total is within 3 Poisson standard deviations."""
    truth = demo[2].truth.members
    rows = truth.members[truth.members["full_year"]]
    expected, drawn = rows["extra_purchases"].sum(), rows["planted_purchases"].sum()
    assert len(rows) > 500 and abs(drawn - expected) < 3 * np.sqrt(expected)
    assert truth.effect()["n"] == len(rows)


@pytest.mark.parametrize("pre_months, members", [(None, 50), (6, 200)])
def test_matching_recovers_the_planted_effect_and_the_naive_comparison_does_not(
        demo, pre_months, members):
    """As the report page runs it (the longest pre-period that leaves enough members: the
    demo's purchases start in mid-2024) and over six months before joining (more members)."""
    from patronage.members.report import programme_effect_of

    engine, _summary, company = demo
    effect = programme_effect_of(engine, until=TODAY, pre_months=pre_months)
    treated = effect.sample[effect.sample["role"].eq("treated")]
    assert len(treated) > members
    month = pd.PeriodIndex(treated["month"], freq="M")
    truth = company.truth.members.expected(treated["customer"], (month + 1).start_time,
                                           (month + 13).start_time)
    # Retention: the programme changes whether a member buys in months 7-12 only for a member
    # who would not have bought there: the chance of an extra purchase then.
    t = company.transactions
    own = t[~t["is_refund"] & ~t["external_id"].isin(company.members.purchases["external_id"])]
    late = company.truth.members.expected(treated["customer"], (month + 7).start_time,
                                          (month + 13).start_time)
    window = pd.DataFrame({"customer_id": treated["customer"].to_numpy(),
                           "begin": (month + 7).start_time, "end": (month + 13).start_time})
    bought = window.reset_index().merge(own[["customer_id", "occurred_at"]], on="customer_id")
    bought = bought[(bought["occurred_at"] >= bought["begin"])
                    & (bought["occurred_at"] < bought["end"])]["index"].unique()
    stays = np.where(np.isin(np.arange(len(window)), bought), 0.0, late["chance"].to_numpy())
    planted = {"spend": truth["spend"].mean(), "purchases": truth["purchases"].mean(),
               "retained": stays.mean()}
    for outcome, value in planted.items():
        matched = effect.estimate(outcome, "matched")
        assert matched["low"] <= value <= matched["high"], (outcome, value, matched)
        if outcome != "retained":
            did = effect.estimate(outcome, "did")
            assert did["low"] <= value <= did["high"], (outcome, value, did)
            naive = effect.estimate(outcome, "naive")
            assert naive["estimate"] > matched["high"], (outcome, naive, matched)
    balance = effect.balance
    assert balance["smd_before"].abs().max() > 0.25  # members were chosen by what they bought
    assert balance["smd_after"].abs().max() < 0.1
