"""The demo company's customer care (issue 12, item 9): the care services recover the truth the
demo planted (:mod:`patronage.demo.care`).

* Reach rate per team: each team reaches a customer on a call attempt with a known chance; the
  care report's reach rate (reached / completed tasks) estimates the implied per-task chance, a
  binomial proportion, checked within three standard errors (normal approximation; Agresti 2013,
  *Categorical Data Analysis*, 3rd ed., §1.3).
* Win-back: targets buy again with probability 0.20, the random control group with 0.07; the
  campaign's difference of proportions must cover 0.13 with its 95% interval (Newcombe 1998).
* Visits: the overdue key accounts are exactly the planted ones; the latent-switching accounts
  are the ones the account health view reads as spending less than their own history
  (partial defection, Buckinx & Van den Poel 2005).
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from patronage.storage import make_engine
from patronage.storage.schema import customers
from patronage.storage.schema_care import (
    campaign_members,
    care_campaigns,
    care_greetings,
    care_rules,
    care_tasks,
    contacts,
)

TODAY = date(2026, 6, 30)
pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def demo(demo_company):
    url, summary, company = demo_company
    engine = make_engine(url)
    yield engine, summary, company
    engine.dispose()


def test_care_report_recovers_each_teams_reach_rate(demo):
    from patronage.care.report import care_report

    engine, _summary, company = demo
    truth = company.truth.care
    report = care_report(engine, weeks=30, now=datetime(2026, 6, 30, 12))
    teams = report["rates"].groupby("team")[["completed", "reached"]].sum()
    assert set(teams.index) == set(truth.reach_per_task)
    for team, row in teams.iterrows():
        p = truth.reach_per_task[team]
        n = int(row["completed"])
        assert n > 200, team
        assert abs(row["reached"] / n - p) < 3 * math.sqrt(p * (1 - p) / n), team
    observed = (teams["reached"] / teams["completed"]).sort_values().index.tolist()
    assert observed == sorted(truth.reach_per_task, key=truth.reach_per_task.get)


def test_greetings_respect_consent_and_are_sent_once(demo):
    engine, _summary, company = demo
    with engine.connect() as conn:
        rows = pd.DataFrame(conn.execute(
            select(care_greetings.c.customer_id, care_greetings.c.occasion_id,
                   care_greetings.c.occasion_on, customers.c.consent_care, customers.c.language,
                   contacts.c.kind, contacts.c.body, contacts.c.customer_id.label("to"))
            .join(customers, customers.c.id == care_greetings.c.customer_id)
            .join(contacts, contacts.c.id == care_greetings.c.contact_id)).all())
    assert len(rows) == len(company.care.greetings) > 5000
    assert rows["consent_care"].all()
    assert (rows["to"] == rows["customer_id"]).all() and rows["kind"].eq("greeting").all()
    on = pd.to_datetime(rows["occasion_on"])
    assert not rows.assign(year=on.dt.year).duplicated(["customer_id", "occasion_id",
                                                         "year"]).any()
    # The quiet period (3 days by default): no customer greeted twice within it.
    gaps = on.sort_values().groupby(rows["customer_id"]).diff().dropna()
    assert (gaps > pd.Timedelta(days=3)).all()
    # Each customer is greeted in their language: English texts for English readers.
    chinese = rows["body"].str.contains(r"[\u4e00-\u9fff]", regex=True)
    assert not chinese[rows["language"].eq("en")].any()
    assert chinese[rows["language"].isin(["zh_Hans", "zh_Hant"])].all()
    assert rows["language"].eq("zh_Hant").any()


def test_win_back_campaign_recovers_the_planted_uplift(demo):
    from patronage.care.campaigns import campaign_results

    engine, _summary, company = demo
    truth = company.truth.care
    result = campaign_results(engine, truth.campaign, TODAY)
    rates = result["rates"]
    assert result["complete"] and not rates["small"]
    assert rates["low"] <= truth.uplift <= rates["high"]
    assert abs(rates["diff"] - truth.uplift) <= 0.06
    groups = result["groups"]
    share = groups.loc["control", "n"] / groups["n"].sum()
    assert share == pytest.approx(truth.control_share, abs=0.01)
    with engine.connect() as conn:
        campaign = conn.execute(select(care_campaigns.c.id).where(
            care_campaigns.c.code == truth.campaign)).scalar_one()
        control = select(campaign_members.c.customer_id).where(
            campaign_members.c.campaign_id == campaign, campaign_members.c.group == "control")
        touched = [conn.execute(select(func.count()).select_from(table).where(
            table.c.customer_id.in_(control), table.c.campaign_id == campaign)).scalar_one()
            for table in (care_tasks, contacts)]
        target_tasks = conn.execute(select(func.count()).select_from(care_tasks).where(
            care_tasks.c.campaign_id == campaign)).scalar_one()
    assert touched == [0, 0] and target_tasks > 250


def test_overdue_visits_and_declining_key_accounts_on_the_health_view(demo):
    from patronage.care.accounts import account_health

    engine, _summary, company = demo
    truth = company.truth
    health = account_health(engine, TODAY).set_index("external_id")
    overdue = set(health.index[health["overdue_days"].fillna(0) > 0])
    assert overdue == set(truth.care.overdue_visits) and len(overdue) > 20
    planned = health["every_days"].dropna()
    assert planned.to_dict() == {k: v for k, v in truth.care.visit_plans.items()
                                 if k in planned.index}
    params = truth.customer_params.reindex(health.index)
    declining = params["declining_key_account"].to_numpy()
    healthy = ~declining & params["alive"].to_numpy()
    assert declining.sum() > 50 and healthy.sum() > 100
    spend = health["reasons"].str.contains("spend_").to_numpy()
    drop = health["spend_drop"].to_numpy()
    # Most declining accounts read as spending less than their own history ...
    assert spend[declining].mean() >= 0.8
    # ... the strict drop flag (below 60% of their mean and a standard deviation below it)
    # catches many of them and few healthy accounts.
    assert drop[declining].mean() >= 0.4 and drop[healthy].mean() <= 0.1


def test_the_today_list_is_not_empty_on_the_real_date(demo):
    engine, summary, company = demo
    with engine.connect() as conn:
        due = pd.to_datetime(pd.Series(conn.execute(select(care_tasks.c.due_at).where(
            care_tasks.c.status == "open")).scalars().all()))
    days = (due + timedelta(hours=8)).dt.date.value_counts()  # Shanghai dates
    busiest = days.idxmax()
    assert abs((busiest - date.today()).days) <= 1 and days.max() >= 25
    assert sum(n for day, n in days.items() if day < busiest) >= 3  # a few overdue
    assert "Customer care:" in summary.describe()
    assert len(company.care.purchases) == len(company.truth.care.won_back)


def test_history_tasks_carry_the_keys_the_rules_make(demo):
    """The worker makes each rule's task once per event: the history's tasks carry the very
    keys the rules compute, so running the worker on the demo makes none of them again."""
    from patronage.care.rules import EVENTS

    engine, _summary, _company = demo
    with engine.connect() as conn:
        rules = [dict(r) for r in conn.execute(select(care_rules)).mappings()]
        made = pd.DataFrame(conn.execute(select(care_tasks.c.rule_id, care_tasks.c.source_key)
                                         .where(care_tasks.c.rule_id.is_not(None))).all())
        history = [rule for rule in rules if rule["trigger"] in EVENTS
                   and rule["trigger"] != "visit_due"]
        assert len(history) == 3 and made["rule_id"].isin([r["id"] for r in history]).all()
        for rule in history:
            events = EVENTS[rule["trigger"]](conn, {**rule, "last_run_at": None},
                                             datetime(2026, 7, 1))
            keys = {f"rule:{rule['id']}:{key}" for key, *_rest in events}
            mine = set(made.loc[made["rule_id"] == rule["id"], "source_key"])
            assert len(mine) > 300 and mine <= keys, rule["code"]
