"""Care tasks: what each outcome does (retry after K hours up to R attempts, a case for a
problem, no more calls), the contact log, the work lists, scheduling by hand, the outcome list,
the command line and the care report. On SQLite or PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from patronage.analytics.care import care_rates, iso_week, outcome_mix
from patronage.care import outcomes, rules, tasks
from patronage.cases import setup
from patronage.cases.inputs import team_id_of, user_id_of
from patronage.cli import main
from patronage.messages import UserError
from patronage.storage import read_cases, write_transaction
from patronage.storage.schema import customers
from patronage.storage.schema_care import care_outcomes, care_tasks, contacts

pytestmark = pytest.mark.db
NOW = datetime(2026, 6, 1, 2, 0)  # 10:00 in Shanghai


def _task(engine, task_id) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(select(care_tasks).where(care_tasks.c.id == task_id))
                    .mappings().one())


def _contacts(engine, task_id) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(contacts).where(contacts.c.task_id == task_id)
                                              .order_by(contacts.c.id)).mappings()]


def test_no_answer_retries_after_four_hours_up_to_three_attempts(panel):
    engine, _ = panel
    [task] = tasks.schedule_followups(engine, [1], "call", NOW, "安装回访", now=NOW)
    first = tasks.complete_task(engine, task, "no_answer", note="无人接", now=NOW)
    assert (first["status"], first["attempts"], first["due_at"]) == ("open", 1,
                                                                       NOW + timedelta(hours=4))
    later = NOW + timedelta(hours=5)
    assert tasks.complete_task(engine, task, "no_answer", now=later)["due_at"] == \
        later + timedelta(hours=4)
    third = tasks.complete_task(engine, task, "no_answer", now=later + timedelta(hours=5))
    assert (third["status"], third["attempts"]) == ("done", 3)
    row = _task(engine, task)
    assert (row["status"], row["outcome"], row["attempts"]) == ("done", "no_answer", 3)
    logged = _contacts(engine, task)
    assert [(c["kind"], c["channel"], c["outcome"]) for c in logged] == \
        [("call", "phone", "no_answer")] * 3
    assert logged[0]["body"] == "无人接"
    with pytest.raises(UserError, match="closed already"):
        tasks.complete_task(engine, task, "reached_ok")


def test_a_problem_opens_a_case_on_the_customers_record(panel):
    engine, info = panel
    [task] = tasks.schedule_followups(engine, [2], "visit", NOW, "上门回访", now=NOW)
    result = tasks.complete_task(engine, task, "reached_problem", note="安装后噪音大", now=NOW)
    assert result["case"] and result["status"] == "done"
    row = _task(engine, task)
    opened = read_cases(engine, customer_pk=2)
    mine = opened[opened["case_id"] == row["case_id"]].iloc[0]
    assert (mine["description"], mine["status"] in ("new", "assigned")) == ("安装后噪音大", True)
    assert _contacts(engine, task)[0]["case_id"] == row["case_id"]
    assert _contacts(engine, task)[0]["channel"] == "visit"


def test_do_not_call_stops_every_call_but_not_visits(panel):
    engine, _ = panel
    [first] = tasks.schedule_followups(engine, [3], "call", NOW, "回访", now=NOW)
    [other] = tasks.schedule_followups(engine, [3], "call", NOW, "二次回访", now=NOW)
    [visit] = tasks.schedule_followups(engine, [3], "visit", NOW, "拜访", now=NOW)
    tasks.complete_task(engine, other, "do_not_call", now=NOW)
    assert _task(engine, first)["status"] == "cancelled"
    assert _task(engine, visit)["status"] == "open"
    with engine.connect() as conn:
        preferences = conn.execute(select(customers.c.preferences)
                                   .where(customers.c.id == 3)).scalar()
    assert preferences["do_not_call"] is True
    assert tasks.schedule_followups(engine, [3], "call", NOW, "再打", now=NOW) == []
    # The seeded panel's customer 3 bought on 2025-12-12: a call rule skips them, a visit
    # rule does not.
    added = datetime(2025, 12, 14)
    rules.add_rule(engine, trigger="purchase", params={"days": 3}, now=added)
    rules.add_rule(engine, trigger="purchase", params={"days": 3}, task_type="visit", now=added)
    rules.run_rules(engine, now=added + timedelta(days=1))
    with engine.connect() as conn:
        made = conn.execute(select(care_tasks.c.type).where(
            care_tasks.c.customer_id == 3, care_tasks.c.rule_id.is_not(None))).scalars().all()
    assert made == ["visit"]


def test_work_lists_follow_the_desk_time_zone_and_who_may_see(panel):
    engine, _ = panel
    setup.add_team(engine, "东区服务组", members=["agent@example.com"])
    with engine.connect() as conn:
        agent, team = user_id_of(conn, "agent@example.com"), team_id_of(conn, "东区服务组")
    shanghai = "Asia/Shanghai"
    # 23:30 Shanghai today, 00:30 Shanghai tomorrow, yesterday, and someone else's.
    tonight = tasks.schedule_followups(engine, [1], "call", NOW + timedelta(hours=13, minutes=30),
                                       "今晚", team_id=team, assignee_id=agent, now=NOW)[0]
    tomorrow = tasks.schedule_followups(engine, [2], "call", NOW + timedelta(hours=14, minutes=30),
                                        "明天", team_id=team, now=NOW)[0]
    late = tasks.schedule_followups(engine, [3], "message", NOW - timedelta(days=1), "昨天",
                                    assignee_id=agent, now=NOW)[0]
    elsewhere = tasks.schedule_followups(engine, [1], "visit", NOW, "别人的", now=NOW)[0]
    user = {"id": agent, "role": "agent"}

    def listed(due, who=user):
        return [t["id"] for t in tasks.list_tasks(engine, due=due, user=who, now=NOW,
                                                  timezone=shanghai)]
    assert listed("today") == [tonight]
    assert listed("overdue") == [late]
    assert listed("week") == [late, tonight, tomorrow]
    assert listed("team") == [tonight, tomorrow]
    assert elsewhere not in listed("all")
    assert elsewhere in listed("all", {"id": 0, "role": "admin"})
    assert tasks.open_today_count(engine, agent, now=NOW, timezone=shanghai) == 2
    assert tasks.parse_due("2026-06-01 23:30", shanghai) == NOW + timedelta(hours=13, minutes=30)


def test_default_outcomes_are_written_once_even_by_two_at_once(engine):
    barrier = threading.Barrier(2)

    def first_use():
        barrier.wait()
        with write_transaction(engine) as conn:
            outcomes.ensure_defaults(conn)

    threads = [threading.Thread(target=first_use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    listed = outcomes.list_outcomes(engine)
    assert [o["code"] for o in listed] == [o["code"] for o in outcomes.DEFAULT_OUTCOMES]
    assert {o["name_zh_hans"] for o in listed} >= {"联系上，有问题", "无人接听"}
    outcomes.add_outcome(engine, "busy", "Busy", name_zh_hans="客户忙", effect="retry",
                         retry_after_hours=2)
    with engine.connect() as conn:
        busy = conn.execute(select(care_outcomes).where(care_outcomes.c.code == "busy")
                            ).mappings().one()
    assert (busy["retry_after_hours"], busy["max_attempts"], busy["name_zh_hant"]) == (2, 3,
                                                                                       "客户忙")
    with pytest.raises(UserError, match="outcome code"):
        outcomes.add_outcome(engine, "Bad Code", "x")


def test_wilson_intervals_of_the_rates_match_newcombe():
    """Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score):
    81/263 → 0.2553 to 0.3662; 0/20 → 0 to 0.1611."""
    frame = pd.DataFrame({"team": ["A"] * 263 + ["B"] * 20 + ["B"],
                          "status": ["done"] * 81 + ["open"] * 182 + ["open"] * 20
                          + ["cancelled"],
                          "reached": [True] * 81 + [False] * 202 + [True],
                          "outcome": ["reached_ok"] * 81 + [None] * 203})
    rates = care_rates(frame, ["team"]).set_index("team")
    assert rates.loc["A", ["tasks", "completed"]].tolist() == [263, 81]
    assert rates.loc["A", "completion_low"] == pytest.approx(0.2553, abs=1e-4)
    assert rates.loc["A", "completion_high"] == pytest.approx(0.3662, abs=1e-4)
    assert rates.loc["B", "tasks"] == 20  # the cancelled task is left out
    assert rates.loc["B", "completion_high"] == pytest.approx(0.1611, abs=1e-4)
    assert pd.isna(rates.loc["B", "reach_rate"])
    assert outcome_mix(frame, ["team"])["share"].tolist() == [1.0]
    assert iso_week([datetime(2027, 1, 1), datetime(2026, 12, 28)]).tolist() == \
        ["2026-W53", "2026-W53"]


def _run(*args, ok=True):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_the_command_line_day_of_care_work(panel, db_url):
    engine, _ = panel
    db = ("--db", db_url)
    setup.add_team(engine, "华东服务组", members=["agent@example.com"])
    added = _run("care", "rule", "add", "--trigger", "purchase", "--days", "3", "--type", "call",
                 "--team", "华东服务组", "--script-zh", "您好{name}", *db).output
    assert "purchase-1" in added
    listed = json.loads(_run("care", "rule", "list", "--format", "json", *db).output)
    assert [r["code"] for r in listed] == ["purchase-1"]
    assert "whole number" in _run("care", "rule", "add", "--trigger", "purchase", "--days",
                                  "x", *db, ok=False).output
    _run("care", "schedule", "--customer", "C001", "--customer", "C002", "--due", "2020-01-06",
         "--subject", "回访", "--team", "华东服务组", *db)
    _run("care", "schedule", "--customer", "C003", "--due", "2020-01-07", "--subject", "回访",
         "--team", "华东服务组", *db)
    due = json.loads(_run("care", "tasks", "--due", "overdue", "--assignee",
                          "agent@example.com", "--format", "json", *db).output)
    assert [t["customer"] for t in due] == ["C001", "C002", "C003"]
    first, second, third = (t["id"] for t in due)
    assert "case C0" in _run("care", "done", first, "--outcome", "reached_problem", "--note",
                             "漏水", "--by", "agent@example.com", *db).output
    _run("care", "done", second, "--outcome", "reached_ok", *db)
    assert "due again" in _run("care", "done", third, "--outcome", "no_answer", *db).output
    assert "no_answer" in _run("care", "done", third, "--outcome", "nonsense", *db,
                               ok=False).output
    report = json.loads(_run("analyze", "care", "--weeks", "520", "--format", "json",
                             *db).output)
    rows = {r["week"]: r for r in report["rows"] if r["team"] == "华东服务组"}
    # Three tasks due in ISO week 2020-W02: two completed, both reached; the third, unanswered,
    # is due again this week (its due time moved) and counts there, not completed.
    week = rows.pop("2020-W02")
    assert (week["tasks"], week["completed"], week["reached"]) == (2, 2, 2)
    assert week["completion_rate"] == 1.0 and week["reach_rate"] == 1.0
    assert all(r["completed"] == 0 for r in rows.values())  # (next week's, late on a Sunday)
    assert (week["outcome_reached_ok"], week["outcome_reached_problem"]) == (1, 1)
    _run("care", "rule", "remove", "purchase-1", *db)
    assert json.loads(_run("care", "rule", "list", "--format", "json", *db).output) == []
    assert "busy" in _run("care", "outcomes", "add", "busy", "--name", "Busy", "--effect",
                          "retry", *db).output
