"""The demo company's case desk (issue 11, item 12): its configuration, a consistent desk
history, and a recovery-paradox effect of known size that the complaint analysis recovers."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from patronage.accounts import authenticate
from patronage.cases import analysis
from patronage.cases.calendar import DEFAULT_HOURS, BusinessCalendar
from patronage.demo import desk as demo_desk
from patronage.demo.desk import PRINTED, STAFF, TIMEZONE, BusinessClock
from patronage.storage import make_engine
from patronage.storage.schema import CASE_STATUSES, cases, customers, users
from patronage.storage.schema_cases import (
    case_categories,
    case_escalations,
    case_events,
    case_remedies,
    case_rules,
    sla_policies,
    team_members,
    teams,
)

Z = 1.959963984540054  # the analysis' 95 % intervals


@pytest.fixture(scope="module")
def desk(demo_company):
    url, summary, company = demo_company
    engine = make_engine(url)
    yield engine, summary, company
    engine.dispose()


def _frame(engine, query) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(query).mappings().all())


def test_recovery_paradox_recovers_the_planted_effect(desk):
    """Later pulse answers: resolved well > never complained > resolved badly, each group mean
    and both differences where the planted shift puts them (exact expectations in the truth).

    The check allows three standard errors: with the default seed one estimate (never
    complained, 2.2 SE low) falls just outside its 95 % interval, as one in twenty may."""
    engine, _summary, company = desk
    truth = company.truth.desk
    table = analysis.recovery_paradox(engine, item=truth.item)
    for group, expected in truth.expected_means.items():
        row = table.loc[group]
        assert row["n"] == truth.n[group]
        se = (row["ci_high"] - row["ci_low"]) / (2 * Z)
        assert abs(row["mean"] - expected) < 3 * se, (group, row["mean"], expected)
    for name, expected in truth.expected_differences.items():
        row = table.loc[name]
        se = (row["ci_high"] - row["ci_low"]) / (2 * Z)
        assert abs(row["mean"] - expected) < 3 * se, (name, row["mean"], expected)
        assert row["ci_low"] > 0 and row["p_value"] < 1e-6  # the paradox is plain to see
        # Without the planted shift the difference would be the selection part alone: the
        # shift's share is recovered too.
        baseline = expected - truth.shift_part[name]
        assert abs((row["mean"] - baseline) - truth.shift_part[name]) < 3 * se
    assert truth.recovery_shift == {"resolved_well": 1.0, "resolved_badly": -1.5}
    assert 0.8 < truth.shift_part["resolved_well - never_complained"] < 1.0  # clipped at 10
    # Complainers are less satisfied to begin with: raw well - never is below the shift.
    assert truth.expected_differences["resolved_well - never_complained"] < \
        truth.shift_part["resolved_well - never_complained"]


def test_desk_is_set_up(desk):
    engine, summary, _company = desk
    with engine.connect() as conn:
        count = lambda table: conn.execute(select(func.count()).select_from(table)).scalar()
        assert count(teams) == 5 and count(team_members) == 13 - 1
        assert count(case_categories) == len(demo_desk.CATEGORIES)
        names = conn.execute(select(case_categories.c.name_zh_hans, case_categories.c.name_zh_hant)
                             ).all()
        assert all(hans and hant for hans, hant in names)
        assert {r for (r,) in conn.execute(select(sla_policies.c.severity))} == {
            "low", "normal", "high", "urgent"}
        rules = {code: (cond, up_to) for code, cond, up_to in conn.execute(
            select(case_rules.c.code, case_rules.c.condition, case_rules.c.checked_up_to))}
        assert set(rules) == {"detractor", "complaint_words", "key_account_low"}
        assert all(up_to > 0 for _, up_to in rules.values())  # the worker starts after the demo
        staff = dict(conn.execute(select(users.c.email, users.c.display_name)).all())
    for email, name, _role in STAFF:
        assert staff[email] == name
    # Printed logins work; the other staff cannot sign in until an admin sets a password.
    for email in PRINTED:
        role, password = summary.users[email]
        assert authenticate(engine, email, password)["role"] == role
        assert email in summary.describe()
    assert authenticate(engine, "wang.lei@demo.patronage", "!locked") is None


def test_key_accounts_have_an_owner_and_their_team(desk):
    engine, _summary, _company = desk
    frame = _frame(engine, select(customers.c.size, customers.c.account_owner_id,
                                  cases.c.team_id, cases.c.owner_id, teams.c.name)
                   .join(cases, cases.c.customer_id == customers.c.id)
                   .join(teams, teams.c.id == cases.c.team_id))
    key = frame[frame["size"] == "key account"]
    assert len(key) > 50 and key["account_owner_id"].notna().all()
    assert (key["name"] == demo_desk.KEY_TEAM).all()
    owned = key.dropna(subset=["owner_id"])
    assert (owned["owner_id"] == owned["account_owner_id"]).all()
    assert frame.loc[frame["size"] != "key account", "name"].ne(demo_desk.KEY_TEAM).all()


def test_history_is_consistent(desk):
    engine, _summary, company = desk
    k = _frame(engine, select(cases))
    assert set(k["status"]) <= set(CASE_STATUSES) and k["category"].notna().all()
    assert k["team_id"].notna().all() and k["sla_policy_id"].notna().all()
    done = k["status"].isin(["resolved", "closed"])
    assert k.loc[done, "resolved_at"].notna().all() and k.loc[~done, "resolved_at"].isna().all()
    assert (k["first_responded_at"].dropna() >= k["opened_at"][k["first_responded_at"].notna()]
            ).all()
    d = k[done]
    assert (d["resolved_at"] >= d["first_responded_at"]).all()
    assert (d["closed_at"] >= d["resolved_at"]).all() and (d["resolved_at"] >= d["opened_at"]).all()
    assert (k["updated_at"] >= k["opened_at"]).all()

    events = _frame(engine, select(case_events))
    merged = events.merge(k[["id", "opened_at", "round"]], left_on="case_id", right_on="id")
    assert (merged["at"] >= merged["opened_at"]).all()
    first = events.sort_values(["case_id", "at", "id"]).groupby("case_id").first()
    assert (first["kind"] == "opened").all() and len(first) == len(k)
    reopened = set(events.loc[events["kind"] == "reopened", "case_id"])
    assert reopened == set(k.loc[k["round"] > 1, "id"]) and len(reopened) > 50
    assert events.loc[events["kind"] == "reopened"].groupby("case_id").size().eq(1).all()
    replies = events[events["kind"] == "reply"]
    assert (replies["visibility"] == "customer").all()

    # Every missed resolution target has its breach record and the escalation steps that came
    # due before the case was resolved; no record for a target that was kept.
    esc = _frame(engine, select(case_escalations))
    late = d[d["resolved_at"] > d["resolution_due_at"]]
    breaches = esc[(esc["kind"] == "breach") & (esc["step"] == 0)]
    last_round = set(zip(breaches["case_id"], breaches["round"]))
    assert all((cid, rnd) in last_round for cid, rnd in zip(late["id"], late["round"]))
    kept = d[(d["resolved_at"] <= d["resolution_due_at"])]
    assert not any((cid, rnd) in last_round for cid, rnd in zip(kept["id"], kept["round"]))
    steps = esc[esc["kind"] == "escalation"].merge(k[["id", "resolved_at"]], left_on="case_id",
                                                   right_on="id")
    assert (steps["at"] <= steps["resolved_at"].fillna(steps["at"])).all()
    assert set(esc["notify"]) == {"owner", "team_lead", "manager"}
    assert len(events[events["kind"] == "sla_breach"]) == len(esc[esc["kind"] == "breach"])

    # Paid remedies above the limit were decided by someone else (the manager, an admin).
    rem = _frame(engine, select(case_remedies, users.c.role)
                 .join(users, users.c.id == case_remedies.c.decided_by))
    big = rem[rem["kind"].isin(["refund", "compensation"]) & (rem["amount"] > 500)]
    assert len(big) > 20 and (big["decided_by"] != big["requested_by"]).all()
    assert (big["role"] == "admin").all() and (big["decided_at"] >= big["created_at"]).all()
    assert (rem["status"] != "pending").all() and (big["status"] == "approved").mean() > 0.8

    handling = analysis.handling(engine)
    assert 0.7 < handling.at["sla_compliance", "value"] < 0.92
    assert 0.02 < handling.at["reopen_rate", "value"] < 0.1
    assert 0.5 < handling.at["first_response_hours", "value"] < 12
    assert company.truth.desk.sla_compliance == pytest.approx(
        handling.at["sla_compliance", "value"])


def test_due_times_are_business_time_as_the_desk_counts_it(desk):
    """The demo's fast clock agrees with the desk's calendar (working hours, Chinese holidays,
    Shanghai time) on every round-1 case sampled."""
    engine, _summary, _company = desk
    k = _frame(engine, select(cases.c.opened_at, cases.c.first_response_due_at,
                              cases.c.resolution_due_at, cases.c.round, sla_policies.c
                              .first_response_minutes, sla_policies.c.resolution_minutes)
               .join(sla_policies, sla_policies.c.id == cases.c.sla_policy_id))
    sample = k[k["round"] == 1].sample(120, random_state=1)
    cal = BusinessCalendar(DEFAULT_HOURS, timezone=TIMEZONE)
    for row in sample.itertuples():
        opened = row.opened_at.to_pydatetime()
        assert cal.add(opened, timedelta(minutes=row.first_response_minutes)) == \
            row.first_response_due_at
        assert cal.add(opened, timedelta(minutes=row.resolution_minutes)) == \
            row.resolution_due_at


def test_business_clock_matches_the_calendar_over_holidays():
    clock = BusinessClock(pd.Timestamp("2025-09-20").date(), pd.Timestamp("2026-03-31").date())
    cal = BusinessCalendar(DEFAULT_HOURS, timezone=TIMEZONE)
    rng = np.random.default_rng(3)
    starts = pd.Timestamp("2025-09-25") + pd.to_timedelta(rng.integers(0, 150 * 86400, 300),
                                                          unit="s")
    minutes = rng.choice([60, 240, 540, 1080, 2700], size=300)
    got = clock.add(starts, minutes)
    for start, minute, value in zip(starts, minutes, got):
        assert cal.add(start.to_pydatetime(), timedelta(minutes=int(minute))) == value


def test_same_seed_same_desk(desk):
    _engine, _summary, company = desk
    from patronage.demo import generate

    again = generate()
    for name in ("cases", "events", "escalations", "remedies"):
        pd.testing.assert_frame_equal(getattr(company.desk, name), getattr(again.desk, name),
                                      obj=name)
    assert again.truth.desk == company.truth.desk


def test_the_worker_finds_nothing_left_to_record(desk):
    """The desk's own timers, run at the end of the demo's history, find every warning, breach
    and escalation already recorded (so this reads the shared demo database only)."""
    engine, _summary, _company = desk
    from datetime import datetime

    from patronage.cases.config import DeskConfig
    from patronage.cases.timers import run_timers

    end = datetime(2026, 6, 30, 23, 59, 59)
    assert run_timers(engine, now=end, config=DeskConfig(timezone=TIMEZONE)) == {
        "warning": 0, "breach": 0, "escalation": 0}
