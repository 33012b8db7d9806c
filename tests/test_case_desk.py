"""The case desk: opening, routing, the timeline, statuses, service-level clocks, alert rules
and escalations, on the selected database (SQLite or PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from patronage.cases import desk, rules, setup, timers
from patronage.cases.desk import NewCase
from patronage.messages import UserError
from patronage.storage import write_transaction
from patronage.storage.schema import answers, cases, customers, outbox, responses
from patronage.storage.schema_cases import case_escalations, case_events

pytestmark = pytest.mark.db
MON = datetime(2026, 11, 30, 9, 0)  # a Monday


@pytest.fixture
def desk_db(panel):
    engine, info = panel
    setup.add_category(engine, "delivery", en="Delivery", zh_hans="交付", zh_hant="交付")
    setup.add_team(engine, "East service", lead="analyst@example.com", manager="admin@example.com",
                   members=["agent@example.com"])
    setup.add_policy(engine, "standard", first_response_minutes=120, resolution_minutes=480,
                     warn_minutes=60)
    setup.add_policy(engine, "urgent delivery", severity="urgent", category="delivery",
                     first_response_minutes=30, resolution_minutes=120)
    setup.add_assignment_rule(engine, team="East service", region="East China")
    return engine


def _events(engine, number):
    return [e["kind"] for e in desk.case_detail(engine, number)["events"]]


def test_a_case_is_routed_timed_and_worked_to_closed(desk_db):
    engine = desk_db
    number = desk.open_case(engine, NewCase(customer="C001", subject="货物破损",
                                            category="delivery", severity="normal"), now=MON)
    case = desk.case_detail(engine, number)
    assert number.startswith("C") and case["status"] == "assigned"
    assert case["sla_policy_id"] is not None
    assert case["first_response_due_at"] == MON + timedelta(hours=2)
    assert case["resolution_due_at"] == datetime(2026, 11, 30, 17, 0)  # 8 business hours
    desk.reply(engine, number, "我们已安排换货", now=MON + timedelta(hours=1))
    case = desk.case_detail(engine, number)
    assert case["status"] == "in_progress" and case["first_responded_at"] == MON + timedelta(hours=1)
    desk.set_status(engine, number, "resolved", note="已换货", now=MON + timedelta(hours=3))
    desk.set_status(engine, number, "closed", now=MON + timedelta(hours=4))
    assert _events(engine, number) == ["opened", "assigned", "status", "reply", "status", "note",
                                       "status"]
    with pytest.raises(UserError, match="closed"):
        desk.reply(engine, number, "again")
    with pytest.raises(UserError, match="cannot go to"):
        desk.set_status(engine, number, "in_progress")


def test_the_most_specific_policy_wins(desk_db):
    number = desk.open_case(desk_db, NewCase(customer="C002", subject="urgent",
                                             category="delivery", severity="urgent"), now=MON)
    assert desk.case_detail(desk_db, number)["resolution_due_at"] == MON + timedelta(hours=2)


def test_waiting_for_the_customer_pauses_the_clock(desk_db):
    engine = desk_db
    number = desk.open_case(engine, NewCase(customer="C001", subject="s"), now=MON)
    desk.reply(engine, number, "请提供照片", now=MON + timedelta(hours=1))
    desk.set_status(engine, number, "waiting", now=MON + timedelta(hours=2))  # 6 h left
    desk.set_status(engine, number, "in_progress", now=datetime(2026, 12, 2, 10, 0))
    assert desk.case_detail(engine, number)["resolution_due_at"] == datetime(2026, 12, 2, 16, 0)


def test_reopening_starts_a_new_round(desk_db):
    engine = desk_db
    number = desk.open_case(engine, NewCase(customer="C001", subject="s"), now=MON)
    desk.set_status(engine, number, "resolved", now=MON + timedelta(hours=1))
    later = datetime(2026, 12, 1, 9, 0)
    desk.reopen(engine, number, reason="客户说问题仍在", now=later)
    case = desk.case_detail(engine, number)
    assert case["status"] == "assigned" and case["round"] == 2 and case["resolved_at"] is None
    assert case["resolution_due_at"] == datetime(2026, 12, 1, 17, 0)
    assert _events(engine, number)[-1] == "reopened"


def test_round_robin_inside_a_team(desk_db):
    engine = desk_db
    setup.add_member(engine, "East service", "admin@example.com")
    setup.add_member(engine, "East service", "analyst@example.com")
    owners = [desk.case_detail(engine, desk.open_case(
        engine, NewCase(customer="C001", subject=f"s{i}"), now=MON + timedelta(minutes=i)))
        ["owner_id"] for i in range(4)]
    assert len(set(owners)) == 3 and owners[0] == owners[3]


def test_a_key_account_goes_to_its_account_owner(desk_db):
    engine = desk_db
    with write_transaction(engine) as conn:
        owner = conn.execute(text("SELECT id FROM users WHERE email = 'admin@example.com'")).scalar()
        conn.execute(update(customers).where(customers.c.external_id == "C003")
                     .values(size="key account", account_owner_id=owner))
    number = desk.open_case(engine, NewCase(customer="C003", subject="s"), now=MON)
    assert desk.case_detail(engine, number)["owner_id"] == owner


def test_bad_input_is_named(desk_db):
    for new, words in [(NewCase(customer="C999", subject="s"), "no customer"),
                       (NewCase(customer="C001", subject=" "), "subject is required"),
                       (NewCase(customer="C001", subject="s", severity="huge"), "severity"),
                       (NewCase(customer="C001", subject="s", category="nope"), "delivery"),
                       (NewCase(customer="C001", subject="x" * 301), "at most 300")]:
        with pytest.raises(UserError, match=words):
            desk.open_case(desk_db, new, now=MON)
    with desk_db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(cases)).scalar() == 1  # the seed's


def test_an_external_reference_opens_one_case_however_often_it_is_sent(desk_db):
    first = desk.open_case(desk_db, NewCase(customer="C001", subject="s", external_ref="HL-7"))
    again = desk.open_case(desk_db, NewCase(customer="C001", subject="s", external_ref="HL-7"))
    assert first == again


def test_the_timeline_is_never_rewritten(desk_db):
    number = desk.open_case(desk_db, NewCase(customer="C001", subject="s"), now=MON)
    with pytest.raises(DBAPIError):
        with write_transaction(desk_db) as conn:
            conn.execute(update(case_events).values(body="rewritten"))
    assert "rewritten" not in str(desk.case_detail(desk_db, number)["events"])


def _response(engine, rid, customer_pk, nps, comment=None):
    with write_transaction(engine) as conn:
        conn.execute(responses.insert().values(id=rid, external_id=f"X{rid}", survey_id=1,
                                               customer_id=customer_pk, channel="web",
                                               submitted_at=MON, weight=1.0))
        rows = [] if nps is None else [{"response_id": rid, "item_code": "nps", "value_num": nps,
                                         "value_text": None}]
        if comment:
            rows.append({"response_id": rid, "item_code": "comment", "value_num": None,
                         "value_text": comment})
        conn.execute(answers.insert(), rows)


def test_alert_rules_open_one_case_per_response(desk_db):
    engine = desk_db
    rules.add_rule(engine, "detractor", "差评预警", "nps <= 6", category="delivery")
    rules.add_rule(engine, "lawyer", "投诉升级", "comment contains 律师|投诉", severity="high")
    _response(engine, 1001, 1, 3, "交货太慢，我要找律师")
    _response(engine, 1002, 2, 9, "很好")
    _response(engine, 1003, 3, None, "投诉")          # no score: a missing answer never matches
    assert rules.apply_rules(engine, now=MON) == 3
    assert rules.apply_rules(engine, now=MON) == 0   # nothing twice
    with engine.connect() as conn:
        made = conn.execute(select(cases.c.response_id, cases.c.rule_id, cases.c.channel)
                            .where(cases.c.rule_id.is_not(None))
                            .order_by(cases.c.response_id, cases.c.rule_id)).all()
    assert [(r, ch) for r, _rule, ch in made] == [(1001, "survey"), (1001, "survey"),
                                                (1003, "survey")]


def test_two_workers_at_once_make_each_rule_case_once(desk_db):
    engine = desk_db
    rules.add_rule(engine, "detractor", "差评预警", "nps <= 6")
    for i in range(20):
        _response(engine, 2000 + i, 1 + i % 3, i % 10)
    results, errors = [], []

    def work():
        try:
            results.append(rules.apply_rules(engine, now=MON, batch=7))
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)
    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(cases)
                             .where(cases.c.rule_id.is_not(None))).scalar()
    assert count == sum(1 for i in range(20) if i % 10 <= 6) == sum(results)


@pytest.mark.parametrize("condition, message", [("nps <", "Cannot read"), ("", "required")])
def test_bad_conditions_are_explained(desk_db, condition, message):
    with pytest.raises(UserError, match=message):
        rules.add_rule(desk_db, "r", "r", condition)


def test_conditions_read_back_as_written():
    parsed = rules.parse_condition("key_account and nps < 7 and comment contains 投诉|退货")
    assert rules.describe(parsed) == "key_account and nps < 7 and comment contains 投诉|退货"


def test_warning_breach_and_escalations_are_sent_once_each(desk_db):
    engine = desk_db
    number = desk.open_case(engine, NewCase(customer="C001", subject="破损"), now=MON)
    case = desk.case_detail(engine, number)
    assert case["owner_id"] is not None
    assert timers.run_timers(engine, now=MON + timedelta(hours=1)) == \
        {"warning": 0, "breach": 0, "escalation": 0}
    # 16:30: the first response (due 11:00) is overdue, the resolution (17:00) due within the hour.
    assert timers.run_timers(engine, now=datetime(2026, 11, 30, 16, 30)) == \
        {"warning": 1, "breach": 1, "escalation": 0}
    # Tuesday 14:00: the resolution is 5 business hours late: the owner (step 1, at once) and
    # the team lead (step 2, after 4 h) are told; the manager's step (after 9 h) is not due.
    tue = datetime(2026, 12, 1, 14, 0)
    assert timers.run_timers(engine, now=tue) == {"warning": 0, "breach": 1, "escalation": 2}
    assert timers.run_timers(engine, now=tue) == {"warning": 0, "breach": 0, "escalation": 0}
    with engine.connect() as conn:
        steps = conn.execute(select(case_escalations.c.kind, case_escalations.c.step)
                             .order_by(case_escalations.c.id)).all()
        mails = conn.execute(select(outbox.c.kind, outbox.c.to_address)
                             .order_by(outbox.c.id)).all()
    assert [tuple(s) for s in steps] == [("breach", -1), ("warning", 0), ("breach", 0),
                                         ("escalation", 1), ("escalation", 2)]
    assert [m[1] for m in mails] == ["agent@example.com"] * 4 + ["analyst@example.com"]
    assert mails[-1][0] == "case_escalation"


def test_two_workers_send_each_escalation_once(desk_db):
    engine = desk_db
    for i in range(6):
        desk.open_case(engine, NewCase(customer="C001", subject=f"s{i}"), now=MON)
    late = datetime(2026, 12, 2, 18, 0)
    totals = []
    threads = [threading.Thread(target=lambda: totals.append(timers.run_timers(engine, now=late)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as conn:
        sent = conn.execute(select(func.count()).select_from(outbox)).scalar()
        recorded = conn.execute(select(func.count()).select_from(case_escalations)).scalar()
    assert recorded == 6 * 5 and sent == recorded  # 2 breaches + 3 steps per case, once each
    assert sum(sum(t.values()) for t in totals) == recorded


def test_remedies_above_the_limit_wait_for_approval(desk_db):
    from patronage.cases import remedies
    from patronage.cases.config import DeskConfig

    engine = desk_db
    number = desk.open_case(engine, NewCase(customer="C002", subject="坏了"), now=MON)
    with engine.connect() as conn:
        agent, admin = (conn.execute(text(f"SELECT id FROM users WHERE email = '{e}'")).scalar()
                        for e in ("agent@example.com", "admin@example.com"))
    config = DeskConfig(approval_above=500)
    _, small = remedies.add_remedy(engine, number, "refund", amount=200, by=agent, config=config)
    big_id, big = remedies.add_remedy(engine, number, "compensation", amount=800, by=agent,
                                      config=config)
    assert (small, big) == ("approved", "pending")
    assert remedies.recovery_cost(engine) == {2: 200.0}
    with pytest.raises(UserError, match="Someone else"):
        remedies.decide(engine, big_id, True, by=agent)
    assert remedies.decide(engine, big_id, True, by=admin) == "approved"
    assert remedies.recovery_cost(engine) == {2: 1000.0}
    with pytest.raises(UserError, match="waiting for approval"):
        remedies.decide(engine, big_id, False, by=admin)
    for bad in ({"kind": "cash"}, {"kind": "refund", "amount": -1},
                {"kind": "refund", "amount": "lots"}):
        with pytest.raises(UserError):
            remedies.add_remedy(engine, number, bad.pop("kind"), **bad)
    assert _events(engine, number).count("remedy") == 2
    assert _events(engine, number).count("approval") == 1


def test_the_check_afterwards_reopens_a_case_on_a_low_answer(desk_db):
    from conftest import PULSE_DEFINITION
    from patronage.cases.followup import check_followups
    from patronage.storage.schema import invitations
    from patronage.surveys.program import create_survey, set_status
    from patronage.surveys.triggers import add_trigger, run_triggers

    engine = desk_db
    with write_transaction(engine) as conn:
        conn.execute(update(customers).values(email="buyer@example.com"))
    code = create_survey(engine, {**PULSE_DEFINITION, "code": "case-check"})
    set_status(engine, code, "open")
    add_trigger(engine, code, "case_closed", 0, now=MON,
                reopen_condition=rules.parse_condition("nps <= 6"))
    happy = desk.open_case(engine, NewCase(customer="C001", subject="a"), now=MON)
    unhappy = desk.open_case(engine, NewCase(customer="C002", subject="b"), now=MON)
    for number in (happy, unhappy):
        desk.set_status(engine, number, "resolved", now=MON + timedelta(hours=2))
    assert run_triggers(engine, MON + timedelta(hours=3)) == 2
    with engine.connect() as conn:
        sent = dict(conn.execute(select(invitations.c.case_id, invitations.c.id)
                                 .where(invitations.c.case_id.is_not(None))).all())
    assert set(sent) == {desk.case_detail(engine, n)["id"] for n in (happy, unhappy)}
    for number, score, rid in ((happy, 10, 3001), (unhappy, 3, 3002)):
        case_id = desk.case_detail(engine, number)["id"]
        with write_transaction(engine) as conn:
            survey_id = conn.execute(text("SELECT id FROM surveys WHERE code = 'case-check'")) \
                .scalar()
            conn.execute(responses.insert().values(
                id=rid, external_id=f"F{rid}", survey_id=survey_id, invitation_id=sent[case_id],
                customer_id=1 if number == happy else 2, channel="web",
                submitted_at=MON + timedelta(hours=4), weight=1.0))
            conn.execute(answers.insert().values(response_id=rid, item_code="nps",
                                                 value_num=score, value_text=None))
    assert check_followups(engine, now=MON + timedelta(hours=5)) == 1
    assert check_followups(engine, now=MON + timedelta(hours=5)) == 0  # each answer once
    assert desk.case_detail(engine, happy)["status"] == "resolved"
    reopened = desk.case_detail(engine, unhappy)
    assert reopened["status"] == "assigned" and reopened["round"] == 2
    assert _events(engine, unhappy)[-2:] == ["survey_answer", "reopened"]
    assert _events(engine, happy)[-1] == "survey_answer"
