"""Service standards on the selected database: defining them (clear refusals), compliance per
period and site, the p chart flagging the site and month that slipped, the owner alerted once
per period and unit through the outbox, and the satisfaction after a touchpoint served within
the standard against outside it (Welch's t test, checked against SciPy)."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats
from sqlalchemy import func, select

from patronage.cli import main
from patronage.messages import UserError
from patronage.standards import alerts, compliance, records
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import outbox, responses, touchpoints
from patronage.storage.schema_standards import standard_breaches

pytestmark = pytest.mark.db
SITES = ("上海", "北京")


def _calls(engine):
    """Six months of calls at two sites, 40 per site and month, 90% answered within 20 s,
    except Beijing in April 2026: 30%."""
    rng = np.random.default_rng(7)
    rows = []
    for month in range(1, 7):
        for site in SITES:
            share = 0.3 if (site, month) == ("北京", 4) else 0.9
            for i in range(40):
                within = i < round(share * 40)
                rows.append({"customer_id": 3, "kind": "inquiry", "channel": "phone",
                             "occurred_at": datetime(2026, month, 1 + i % 28, 9, i),
                             "waiting_seconds": float(rng.integers(3, 20) if within
                                                      else rng.integers(25, 120)),
                             "handling_seconds": 200.0, "site": site, "team": f"{site}热线",
                             "agent": f"{site}-{i % 4}"})
    with write_transaction(engine) as conn:
        insert_rows(conn, touchpoints, rows)


def _add(engine, **extra):
    values = dict(code="answer-20s", name="80% of calls answered within 20 s",
                  metric="waiting", threshold="20s", target="80%", touchpoint="咨询",
                  channel="phone", owner="analyst@example.com")
    values.update(extra)
    return records.add_standard(engine, **values)


def test_defining_a_standard_and_its_refusals(panel):
    engine = panel[0]
    _add(engine)
    row = records.standard(engine, "answer-20s")
    assert row["touchpoint_kind"] == "inquiry" and row["threshold_seconds"] == 20
    assert row["target"] == 0.8 and row["source"] == "touchpoint" and row["period"] == "month"
    assert records.parse_threshold("4 小时") == 4 * 3600
    assert records.parse_threshold("48h") == 48 * 3600
    with pytest.raises(UserError, match="exists already"):
        _add(engine)
    for bad, words in ((dict(code="x1", threshold="soon"), "duration"),
                       (dict(code="x2", target="180%"), "share"),
                       (dict(code="x3", touchpoint="teleport"), "Unknown touchpoint"),
                       (dict(code="x4", owner="nobody@example.com"), "e-mail"),
                       (dict(code="Bad Code"), "code")):
        with pytest.raises(UserError, match=words):
            _add(engine, **bad)
    records.add_standard(engine, code="complaint-48h", name="Complaints resolved in 48 h",
                         metric="resolution", threshold="48h", target="90%")
    records.add_standard(engine, code="invoice-right", name="Invoice right first time",
                         metric="right_first_time", target="99%", touchpoint="invoice")
    assert list(records.list_standards(engine)["code"]) == ["answer-20s", "complaint-48h",
                                                            "invoice-right"]


def test_compliance_and_the_p_chart_flag_the_site_and_month_that_slipped(panel):
    engine = panel[0]
    _calls(engine)
    _add(engine)
    standard = records.standard(engine, "answer-20s")
    events = compliance.events(engine, standard)
    assert len(events) == 6 * 2 * 40
    by_site = compliance.compliance(events, standard, "site")
    april = by_site[(by_site["unit"] == "北京") & (by_site["period"] == date(2026, 4, 1))]
    assert april["n"].item() == 40 and april["share"].item() == pytest.approx(12 / 40)
    assert not april["met"].item()
    assert by_site.loc[by_site["unit"] == "上海", "met"].all()
    found = compliance.signals(events, standard)
    flagged = {(r.unit_kind, r.unit, r.period) for r in found.itertuples() if 1 in r.rules}
    assert ("site", "北京", date(2026, 4, 1)) in flagged
    assert ("", "", date(2026, 4, 1)) in flagged  # the whole company's April drops too
    assert not any(unit == "上海" for _k, unit, _p in flagged)
    judged, unjudged = compliance.judge(events, standard, min_events=30)
    assert unjudged.empty or set(unjudged["unit_kind"]) == {"agent"}
    flagged_judged = {(r.unit_kind, r.unit, r.period) for r in judged.itertuples()
                      if 1 in r.rules}
    assert ("site", "北京", date(2026, 4, 1)) in flagged_judged
    # Each agent answers 10 calls a month: below 30 a period, its chart is not judged.
    assert sorted(unjudged["unit"]) == sorted(events["agent"].unique())
    assert (unjudged["n"] == 10).all() and "agent" not in set(judged["unit_kind"])
    assert len(compliance.signals(events, standard, min_events=10)) == len(found)
    kind, chart = compliance.time_chart(events, standard)
    assert kind == "xbar" and len(chart) == 6 and chart["signal"].iloc[3]


def test_a_breach_alerts_the_owner_once_per_period_and_unit(panel):
    engine = panel[0]
    _calls(engine)
    _add(engine)
    assert alerts.run_standard_alerts(engine, now=datetime(2026, 4, 20)) == 0  # March was fine
    # April: the company, Beijing, its team and its four agents (10 calls each, 3 in time).
    assert alerts.run_standard_alerts(engine, now=datetime(2026, 5, 3)) == 7
    assert alerts.run_standard_alerts(engine, now=datetime(2026, 5, 20)) == 0  # once
    with engine.connect() as conn:
        units = set(conn.execute(select(standard_breaches.c.unit)).scalars())
        mail = conn.execute(select(outbox.c.to_address, outbox.c.subject)
                            .where(outbox.c.kind == "standard_breach")).all()
    assert units == {"", "site:北京", "team:北京热线", *(f"agent:北京-{i}" for i in range(4))}
    assert len(mail) == 7 and all(m.to_address == "analyst@example.com" for m in mail)
    assert alerts.last_complete_period(date(2026, 5, 3), "week") == date(2026, 4, 20)


def test_satisfaction_after_service_within_the_standard_against_outside(panel):
    engine = panel[0]
    # Customer 1's deliveries arrive within 2 days, customer 2's after 5, before each wave.
    rows = [{"customer_id": c, "kind": "delivery", "occurred_at": datetime(2026, m, 25),
             "waiting_seconds": float(days * 86400)}
            for c, days in ((1, 1), (2, 5)) for m in (1, 4)]
    with write_transaction(engine) as conn:
        insert_rows(conn, touchpoints, rows)
    records.add_standard(engine, code="delivery-2d", name="Delivered within 2 days",
                         metric="waiting", threshold="2d", target="90%", touchpoint="delivery")
    standard = records.standard(engine, "delivery-2d")
    result = compliance.within_vs_outside(engine, standard,
                                          compliance.events(engine, standard))
    from patronage.storage.schema import answers
    with engine.connect() as conn:
        answered = pd.DataFrame(conn.execute(
            select(responses.c.customer_id, responses.c.submitted_at, answers.c.value_num)
            .join(answers, answers.c.response_id == responses.c.id)
            .where(answers.c.item_code == "overall_satisfaction")).all(),
            columns=["customer", "at", "value"])
    answered["at"] = pd.to_datetime(answered["at"])
    # Within 30 days after a delivery on 25 January or 25 April: up to 24 February / 25 May.
    after = answered["at"].dt.day <= np.where(answered["at"].dt.month == 2, 24, 25)
    within = answered.loc[(answered["customer"] == 1) & after, "value"]
    outside = answered.loc[(answered["customer"] == 2) & after, "value"]
    assert result["item"] == "overall_satisfaction"
    assert result["within"]["n"] == len(within) and result["outside"]["n"] == len(outside)
    assert result["difference"] == pytest.approx(within.mean() - outside.mean())
    assert result["p_value"] == pytest.approx(
        stats.ttest_ind(within, outside, equal_var=False).pvalue)


def test_the_cli_adds_lists_and_analyses(panel, db_url):
    engine = panel[0]
    _calls(engine)
    runner = CliRunner()
    added = runner.invoke(main, ["standard", "add", "answer-20s", "接听20秒", "--db", db_url,
                                 "--touchpoint", "inquiry", "--metric", "waiting",
                                 "--threshold", "20s", "--target", "80%"])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(main, ["standard", "list", "--db", db_url])
    assert "answer-20s" in listed.output
    shown = runner.invoke(main, ["analyze", "standards", "--db", db_url, "--by", "site",
                                 "--format", "csv"])
    assert shown.exit_code == 0, shown.output
    assert "北京" in shown.output and "2026-04-01" in shown.output
    signals = runner.invoke(main, ["analyze", "standards", "--db", db_url, "--show", "signals"])
    assert signals.exit_code == 0 and "北京" in signals.output
    journey = runner.invoke(main, ["analyze", "journey", "--db", db_url, "--format", "csv"])
    assert journey.exit_code == 0 and "inquiry,480," in journey.output, journey.output
    bad = runner.invoke(main, ["analyze", "standards", "nope", "--db", db_url])
    assert bad.exit_code == 1 and "No standard" in bad.output and "Traceback" not in bad.output
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(touchpoints)).scalar() >= 480


def test_a_stopped_standard_is_neither_analysed_nor_alerted_and_the_worker_runs_the_alerts(
        panel, db_url):
    from patronage.settings import Settings
    from patronage.work import work_once

    engine = panel[0]
    _calls(engine)
    _add(engine)
    runner = CliRunner()
    stopped = runner.invoke(main, ["standard", "stop", "answer-20s", "--db", db_url])
    assert stopped.exit_code == 0, stopped.output
    nothing = runner.invoke(main, ["analyze", "standards", "--db", db_url])
    assert nothing.exit_code == 1 and "No service standard" in nothing.output
    assert alerts.run_standard_alerts(engine, now=datetime(2026, 5, 3)) == 0
    runner.invoke(main, ["standard", "start", "answer-20s", "--db", db_url])
    done = work_once(engine, Settings(database_url=db_url), now=datetime(2026, 5, 3))
    assert done["standards breached"] == 7 and "failed" not in done
    again = work_once(engine, Settings(database_url=db_url), now=datetime(2026, 5, 4))
    assert again["standards breached"] == 0
