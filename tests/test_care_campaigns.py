"""Win-back campaigns: a list split at random into target and control, the target approached
once (tasks and messages) and the control never, and the results against the control group on
seeded purchases, checked by hand counts and against statsmodels and scipy."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats
from sqlalchemy import func, select
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from patronage.analytics.uplift import mean_difference, proportion_difference, wilson_interval
from patronage.care.campaigns import (
    campaign_members_table, campaign_results, create_campaign, draw_control, start_campaign,
)
from patronage.cli import main
from patronage.messages import UserError
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import customers, transactions
from patronage.storage.schema_care import care_tasks, contacts, sms_outbox

pytestmark = pytest.mark.db
START = datetime(2026, 3, 1, 9, 0)


# -- the statistics against statsmodels and scipy ------------------------------------------------

@pytest.mark.parametrize("counts", [(30, 100, 18, 100), (12, 40, 3, 10), (45, 60, 50, 70)])
def test_proportion_difference_matches_statsmodels(counts):
    x1, n1, x0, n0 = counts
    ours = proportion_difference(x1, n1, x0, n0)
    z, p = proportions_ztest([x1, x0], [n1, n0])  # pooled two-sided z test
    assert ours["z"] == pytest.approx(z) and ours["p_value"] == pytest.approx(p)
    wald = confint_proportions_2indep(x1, n1, x0, n0, method="wald", compare="diff")
    assert (ours["wald_low"], ours["wald_high"]) == pytest.approx(wald)
    newcombe = confint_proportions_2indep(x1, n1, x0, n0, method="newcomb", compare="diff")
    assert (ours["low"], ours["high"]) == pytest.approx(newcombe)
    assert ours["diff"] == pytest.approx(x1 / n1 - x0 / n0)


def test_newcombe_by_hand_and_small_samples():
    # Newcombe (1998) Table II example (e): 56/70 vs 48/80 -> 0.0524 to 0.3339 (method 10)
    ours = proportion_difference(56, 70, 48, 80)
    assert (round(ours["low"], 4), round(ours["high"], 4)) == (0.0524, 0.3339)
    assert not ours["small"]
    # Wilson (1927) interval of 0/10: (0, 0.2775) (Newcombe 1998, Table I)
    assert wilson_interval(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)
    assert proportion_difference(2, 8, 1, 3)["small"]
    assert np.isnan(proportion_difference(2, 8, 0, 0)["diff"])


def test_revenue_difference_matches_welch_in_scipy():
    rng = np.random.default_rng(3)
    target = np.where(rng.random(80) < 0.4, rng.gamma(2.0, 300.0, 80), 0.0)
    control = np.where(rng.random(25) < 0.25, rng.gamma(2.0, 300.0, 25), 0.0)
    ours = mean_difference(target, control)
    oracle = stats.ttest_ind(target, control, equal_var=False)
    assert ours["t"] == pytest.approx(oracle.statistic)
    assert ours["p_value"] == pytest.approx(oracle.pvalue)
    assert (ours["low"], ours["high"]) == pytest.approx(tuple(oracle.confidence_interval()))
    assert ours["small"]  # 25 in the control group
    assert np.isnan(mean_difference([1.0], [2.0, 3.0])["t"])


# -- campaigns in the database -------------------------------------------------------------------

def _lost_panel(engine, n=40):
    """``n`` customers lost in May 2026, with phones; one more lost long ago."""
    now = datetime(2026, 6, 1)
    rows = [{"external_id": f"L{i:03d}", "name": f"客户{i}", "phone": f"+86 139{i:08d}",
             "lost_on": date(2026, 5, 1) + timedelta(days=i % 28), "lost_reason": "价格",
             "created_at": now, "updated_at": now} for i in range(n)]
    rows.append({"external_id": "OLD", "name": "老客户", "phone": "+86 13900000999",
                 "lost_on": date(2024, 1, 1), "lost_reason": "服务", "created_at": now,
                 "updated_at": now})
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, rows)
        return dict(conn.execute(select(customers.c.external_id, customers.c.id)).all())


def test_control_drawn_at_random_and_never_contacted(engine):
    ids = _lost_panel(engine)
    made = create_campaign(engine, "wb", "老客户回流", list_name="lost", days=60,
                           offer="九折券", task_type="call", channel="sms",
                           templates={"zh_Hans": "{name}您好，送您{offer}"}, control_share=0.25,
                           seed=11, today=date(2026, 6, 1))
    members = campaign_members_table(engine, "wb")
    listed = sorted(v for k, v in ids.items() if k != "OLD")
    assert sorted(members["customer_id"]) == listed  # lost in the last 60 days only
    control = set(members.loc[members["group"] == "control", "customer_id"])
    assert (made["members"], made["control"], made["target"]) == (40, 10, 30)
    # the draw is numpy's Generator over the ids in order, repeatable from the stored seed
    expected = set(np.random.default_rng(11).choice(np.array(listed), size=10, replace=False))
    assert control == expected
    assert draw_control(listed, 0.25, 12) != control  # another seed, another group

    first = start_campaign(engine, "wb", now=START)
    second = start_campaign(engine, "wb", now=START + timedelta(hours=1))
    assert first == {"tasks": 30, "messages": 30, "not_reachable": 0}
    assert second == {"tasks": 0, "messages": 0, "not_reachable": 0}  # exactly once
    with engine.connect() as conn:
        tasked = set(conn.execute(select(care_tasks.c.customer_id)).scalars())
        contacted = list(conn.execute(select(contacts.c.customer_id)
                                      .where(contacts.c.campaign_id.is_not(None))).scalars())
        scripts = set(conn.execute(select(care_tasks.c.script)).scalars())
        sms = conn.execute(select(func.count()).select_from(sms_outbox)).scalar()
    target = set(listed) - control
    assert tasked == target and sorted(contacted) == sorted(target) and sms == 30
    assert not (tasked | set(contacted)) & control  # the control group is never contacted
    assert all(s.endswith("您好，送您九折券") for s in scripts)

    with pytest.raises(UserError, match="already"):
        create_campaign(engine, "wb", "again", customer_ids=[1], task_type="call")
    with pytest.raises(UserError, match="no customer"):
        create_campaign(engine, "wb2", "x", customer_ids=["NOPE"], task_type="call")
    with pytest.raises(UserError, match="approached"):
        create_campaign(engine, "wb3", "x", customer_ids=[1])


def test_results_match_hand_counts_and_the_oracles(engine):
    ids = _lost_panel(engine)
    create_campaign(engine, "wb", "回流", list_name="lost", days=60, task_type="call",
                    control_share=0.25, seed=5, today=date(2026, 6, 1))
    assert not campaign_results(engine, "wb", date(2026, 6, 1))["started"]
    start_campaign(engine, "wb", now=START)
    members = campaign_members_table(engine, "wb")
    target = sorted(members.loc[members["group"] == "target", "customer_id"])
    control = sorted(members.loc[members["group"] == "control", "customer_id"])
    # Planted: 12 of the 30 target customers buy back 500 each within the 90 days (one of them
    # twice, one with a 100 refund); 2 of the 10 controls buy 300; purchases before the start
    # or after the 90 days do not count.
    rows = [(c, START + timedelta(days=5 + k), 500.0, False) for k, c in enumerate(target[:12])]
    rows += [(target[0], START + timedelta(days=40), 200.0, False),
             (target[1], START + timedelta(days=41), 100.0, True),
             (target[12], START - timedelta(days=2), 900.0, False),
             (target[13], START + timedelta(days=91), 900.0, False)]
    rows += [(c, START + timedelta(days=10), 300.0, False) for c in control[:2]]
    with write_transaction(engine) as conn:
        insert_rows(conn, transactions, [
            {"external_id": f"X{k}", "customer_id": int(c), "occurred_at": at, "amount": amount,
             "is_refund": refund} for k, (c, at, amount, refund) in enumerate(rows)])
    result = campaign_results(engine, "wb", date(2026, 9, 30))
    groups = result["groups"]
    assert groups.loc["target", "n"] == 30 and groups.loc["control", "n"] == 10
    assert groups.loc["target", "bought_again"] == 12 and groups.loc["control", "bought_again"] == 2
    assert groups.loc["target", "revenue"] == pytest.approx(12 * 500 + 200 - 100)
    assert groups.loc["control", "revenue"] == pytest.approx(600)
    assert result["complete"] and result["measured_until"] == date(2026, 5, 30)
    rates = result["rates"]
    assert rates["diff"] == pytest.approx(12 / 30 - 2 / 10)
    z, p = proportions_ztest([12, 2], [30, 10])
    assert rates["p_value"] == pytest.approx(p)
    assert (rates["low"], rates["high"]) == pytest.approx(
        confint_proportions_2indep(12, 30, 2, 10, method="newcomb", compare="diff"))
    assert rates["small"]  # 10 in the control group, 2 buyers
    revenue_t = np.zeros(30)
    revenue_t[:12] = 500
    revenue_t[0] += 200
    revenue_t[1] -= 100
    revenue_c = np.zeros(10)
    revenue_c[:2] = 300
    oracle = stats.ttest_ind(revenue_t, revenue_c, equal_var=False)
    assert result["revenue"]["p_value"] == pytest.approx(oracle.pvalue)
    assert result["incremental_revenue"] == pytest.approx((6100 / 30 - 60) * 30)
    # measured while running: only what happened up to that day
    early = campaign_results(engine, "wb", date(2026, 3, 8))
    assert not early["complete"] and early["groups"].loc["target", "bought_again"] == 3
    assert ids  # the panel was seeded


def test_campaign_commands(engine, db_url):
    _lost_panel(engine, n=12)
    db = ("--db", db_url)

    def run(*args, ok=True):
        result = CliRunner().invoke(main, [str(a) for a in args])
        assert "Traceback" not in result.output
        if ok:
            assert result.exit_code == 0, result.output
        return result

    out = run("care", "campaign", "create", "wb", "--name", "回流", "--customer", "L001",
              "--customer", "L002", "--customer", "L003", "--customer", "L004", "--task", "call",
              "--seed", "1", "--control", "0.25", *db).output
    assert "4 customers, 3 target, 1 control" in out
    assert "3 tasks" in run("care", "campaign", "start", "wb", *db).output
    assert "0 tasks" in run("care", "campaign", "start", "wb", *db).output
    listed = json.loads(run("care", "campaign", "list", "--format", "json", *db).output)
    assert listed[0]["code"] == "wb" and listed[0]["status"] == "running"
    results = json.loads(run("care", "campaign", "results", "wb", "--format", "json", *db).output)
    assert [r["group"] for r in results["rows"]][:2] == ["target", "control"]
    bad = run("care", "campaign", "results", "nope", *db, ok=False)
    assert bad.exit_code != 0 and "nope" in bad.output


def test_campaign_pages_in_chinese(panel, db_url):
    from bs4 import BeautifulSoup
    from fastapi.testclient import TestClient

    from patronage.settings import Settings
    from patronage.web import create_app
    from visible_english import english_words

    engine, info = panel

    def login(client, role):
        email, password = info["logins"][role]
        token = BeautifulSoup(client.get("/login").text, "html.parser").find(
            "input", {"name": "csrf_token"})["value"]
        client.post("/login", data={"email": email, "password": password, "csrf_token": token,
                                    "next": "/"})
        client.cookies.set("patronage_lang", "zh_Hans")

    allowed = {"Northwind", "Traders"}  # the seeded customer "<b>Northwind</b> Traders"
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        login(client, "analyst")
        form = client.get("/care/campaigns/new?customer_id=1&customer_id=2&customer_id=3")
        # the placeholders {name} and {offer} are typed as they are
        assert form.status_code == 200
        assert not english_words(form.text, allowed=allowed | {"name", "offer"})
        assert "&lt;b&gt;Northwind" in form.text and 'href="/customers/3"' in form.text
        token = BeautifulSoup(form.text, "html.parser").find("input", {"name": "csrf_token"})["value"]
        made = client.post("/care/campaigns/new", data={
            "csrf_token": token, "code": "wb-1", "name": "<b>回流</b>", "customer_id": ["1", "2", "3"],
            "task_type": "call", "control_share": "0.34", "seed": "4", "measure_days": "90",
            "offer": "九折"}, follow_redirects=False)
        assert made.status_code == 303 and made.headers["location"] == "/care/campaigns/wb-1?done=created"
        again = client.post("/care/campaigns/new", data={
            "csrf_token": token, "code": "wb-1", "name": "x", "customer_id": "1", "task_type": "call"})
        assert again.status_code == 400 and "已有活动" in again.text
        page = client.get("/care/campaigns/wb-1")
        assert page.status_code == 200 and not english_words(page.text, allowed=allowed)
        assert "&lt;b&gt;回流" in page.text and "尚未开始" in page.text
        started = client.post("/care/campaigns/wb-1/start", data={"csrf_token": token},
                              follow_redirects=True)
        assert started.status_code == 200 and "2 个任务" in started.text
        assert BeautifulSoup(started.text, "html.parser").select_one("#target-n").text == "2"
        assert not english_words(started.text, allowed=allowed)
        listed = client.get("/care/campaigns")
        assert "wb-1" in listed.text and not english_words(listed.text, allowed=allowed)
        client.cookies.clear()
        login(client, "agent")
        assert client.get("/care/campaigns/new").status_code == 403
        assert client.get("/care/campaigns/wb-1").status_code == 200
        assert client.get("/care/campaigns/nope").status_code == 404
