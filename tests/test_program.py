"""Survey programme services: surveys, versions, waves, samples, invitations, reminders,
field statistics and transactional triggers, on the database (SQLite or PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import (
    cases,
    customers,
    invitations,
    outbox,
    survey_triggers,
    surveys,
    transactions,
)
from patronage.surveys import outbox as mail
from patronage.surveys import program
from patronage.surveys.field import field_stats
from patronage.surveys.submissions import submit
from patronage.surveys.templates import load_template
from patronage.surveys.triggers import add_trigger, run_triggers

T0 = datetime(2026, 6, 1, 9, 0)
TODAY = date(2026, 6, 1)


def seed_customers(engine, n=100, start=0):
    """``n`` customers: regions N (40 %) / S (60 %); every 10th has no survey consent,
    every 7th no e-mail address."""
    rows = [{"id": i + 1, "external_id": f"C{i:04d}", "name": f"Customer {i}",
             "email": None if i % 7 == 3 else f"c{i}@example.com",
             "region": "N" if i % 5 < 2 else "S", "size": "key" if i % 4 == 0 else "small",
             "consent_survey": i % 10 != 9, "created_at": T0, "updated_at": T0}
            for i in range(start, start + n)]
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, rows)
    return pd.DataFrame(rows)


def open_survey(engine, template="nps", wave="W1"):
    code = program.create_survey(engine, load_template(template), now=T0)
    program.set_status(engine, code, "open")
    program.add_wave(engine, code, wave, TODAY)
    return code


def count(engine, table, where=None):
    query = select(func.count()).select_from(table)
    if where is not None:
        query = query.where(where)
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


# --------------------------------------------------------------------------- surveys

def test_create_update_version_and_status(engine):
    q = load_template("nps")
    code = program.create_survey(engine, q, title="Q3 NPS")
    survey = program.get_survey(engine, code)
    assert (survey.code, survey.title, survey.status, survey.version) == ("nps", "Q3 NPS",
                                                                           "draft", 1)
    assert survey.language == q.languages[0]
    assert survey.questionnaire == q
    # an unchanged definition keeps its version; a changed one gets the next
    assert program.update_definition(engine, code, q) == 1
    changed = q.to_dict()
    changed["title"] = {lang: f"{text} (2)" for lang, text in changed["title"].items()}
    assert program.update_definition(engine, code, changed) == 2
    assert program.get_survey(engine, code).questionnaire.title["en"].endswith("(2)")
    with pytest.raises(ValueError, match="exists already"):
        program.create_survey(engine, q)
    program.set_status(engine, code, "open")
    with pytest.raises(ValueError, match="close and copy|Close it and copy"):
        program.update_definition(engine, code, q)
    with pytest.raises(ValueError, match="never returns to draft"):
        program.set_status(engine, code, "draft")
    program.set_status(engine, code, "closed")
    copy = program.copy_survey(engine, code, "nps_2027")
    copied = program.get_survey(engine, copy)
    assert (copied.status, copied.version, copied.questionnaire.code) == ("draft", 1, "nps_2027")
    assert copied.questionnaire.items == survey.questionnaire.items
    with pytest.raises(ValueError, match="status must be one of"):
        program.set_status(engine, code, "archived")
    with pytest.raises(ValueError, match="no survey"):
        program.get_survey(engine, "missing")


def test_open_link_token_has_192_bits(engine):
    code = program.create_survey(engine, load_template("csat"))
    assert program.set_status(engine, code, "open") is None
    token = program.enable_open_link(engine, code)
    # token_urlsafe(24): 24 random bytes = 192 bits, 32 base64url characters
    assert len(token) == 32 and set(token) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert program.enable_open_link(engine, code) == token  # kept, not replaced
    program.disable_open_link(engine, code)
    assert program.get_survey(engine, code).open_token is None
    other = program.create_survey(engine, load_template("ces"))
    link = program.set_status(engine, other, "open", open_link=True)
    assert link and link != token and program.get_survey(engine, other).open_token == link


def test_waves(engine):
    code = program.create_survey(engine, load_template("nps"))
    program.add_wave(engine, code, "2026-Q3", date(2026, 7, 1), date(2026, 9, 30))
    with pytest.raises(ValueError, match="has a wave"):
        program.add_wave(engine, code, "2026-Q3", date(2026, 7, 1))
    with pytest.raises(ValueError, match="before it starts"):
        program.add_wave(engine, code, "bad", date(2026, 7, 1), date(2026, 6, 1))


# --------------------------------------------------------------------------- sampling

def test_draft_or_closed_survey_cannot_be_sampled(engine):
    seed_customers(engine, 10)
    code = program.create_survey(engine, load_template("nps"))
    program.add_wave(engine, code, "W1", TODAY)
    with pytest.raises(ValueError, match="is draft"):
        program.draw_sample(engine, code, "W1", n=2, seed=1, today=TODAY)
    program.set_status(engine, code, "open")
    program.set_status(engine, code, "closed")
    with pytest.raises(ValueError, match="is closed"):
        program.draw_sample(engine, code, "W1", n=2, seed=1, today=TODAY)
    program.set_status(engine, code, "open")
    with pytest.raises(ValueError, match="no wave"):
        program.draw_sample(engine, code, "W9", n=2, seed=1, today=TODAY)
    with pytest.raises(ValueError, match="method must be"):
        program.draw_sample(engine, code, "W1", method="quota", n=2, today=TODAY)


def test_stratified_sample_writes_invitations_and_mail_together(engine):
    panel = seed_customers(engine)
    code = open_survey(engine)
    report = program.draw_sample(engine, code, "W1", method="stratified", n=30, strata="region",
                                 seed=7, today=TODAY)
    ok = panel[panel["consent_survey"] & panel["email"].notna()]
    assert report.eligible == len(ok)
    # exclusions name every customer left out, with the reason
    reasons = dict(zip(report.exclusions["customer_id"], report.exclusions["reason"],
                       strict=True))
    assert set(reasons) == set(panel["external_id"]) - set(ok["external_id"])
    assert reasons["C0009"] == "no survey consent" and reasons["C0003"] == "no e-mail address"
    # proportional allocation (Cochran 1977, §5.3): n_h = n N_h / N, weights N_h / n_h
    n_pop = ok["region"].value_counts()
    alloc = report.allocation.set_index("stratum")
    assert alloc["N_h"].to_dict() == n_pop.to_dict()
    assert alloc["n_h"].sum() == 30
    for stratum, row in alloc.iterrows():
        assert abs(row["n_h"] - 30 * n_pop[stratum] / len(ok)) < 1
    with engine.connect() as conn:
        inv = pd.DataFrame(conn.execute(select(invitations)).mappings().all())
        mails = pd.DataFrame(conn.execute(select(outbox)).mappings().all())
    assert report.invited == len(inv) == 30 and report.mails == len(mails) == 30
    # the design weights of a stratum add up to its population size N_h
    sums = inv.groupby("stratum")["design_weight"].sum()
    for stratum, size in n_pop.items():
        assert sums[stratum] == pytest.approx(size)
    assert inv["token"].str.len().eq(32).all() and inv["token"].is_unique
    assert set(mails["invitation_id"]) == set(inv["id"])
    assert (mails["kind"] == "invitation").all() and (mails["status"] == "pending").all()
    token = inv.loc[inv["id"] == mails["invitation_id"].iloc[0], "token"].item()
    assert f"/s/{token}" in mails["body_text"].iloc[0]
    assert mails["message_id"].str.fullmatch(r"<[0-9a-f]{32}@patronage>").all()


def test_quiet_period_and_repeat_wave_exclusions(engine):
    seed_customers(engine, 40)
    code = open_survey(engine)
    first = program.draw_sample(engine, code, "W1", n=10, seed=1, today=TODAY)
    assert first.invited == 10
    program.add_wave(engine, code, "W2", TODAY + timedelta(days=30))
    second = program.draw_sample(engine, code, "W2", method="targeted",
                                 segment_filter={"region": ["N", "S"]},
                                 today=TODAY + timedelta(days=30))
    quiet = second.exclusions[second.exclusions["reason"].str.contains("quiet period")]
    assert len(quiet) == 10
    assert quiet["reason"].iloc[0] == "invited 2026-06-01, inside the 90-day quiet period"
    # nobody invited twice; a targeted list has no inclusion probability: weight 1
    with engine.connect() as conn:
        inv = pd.DataFrame(conn.execute(select(invitations)).mappings().all())
    assert inv["customer_id"].is_unique
    assert (inv.loc[inv["stratum"] == "targeted", "design_weight"] == 1.0).all()
    again = program.draw_sample(engine, code, "W1", method="targeted", ids=["C0001", "C0002"],
                                today=TODAY + timedelta(days=200))
    repeat = again.exclusions[again.exclusions["reason"] == "already invited in wave W1"]
    assert len(repeat) == 10 and again.invited == 2 - int(
        repeat["customer_id"].isin(["C0001", "C0002"]).sum())
    with pytest.raises(ValueError, match="larger than"):
        program.draw_sample(engine, code, "W1", n=1000, seed=1, today=TODAY)


def test_quotas_scale_weights(engine):
    seed_customers(engine, 100)
    code = open_survey(engine)
    report = program.draw_sample(engine, code, "W1", method="stratified", n=40, strata="region",
                                 quotas={"key": 5}, quota_by="size", seed=3, today=TODAY)
    assert report.quotas.set_index("cell").loc["key", "kept"] == 5
    with engine.connect() as conn:
        inv = pd.DataFrame(conn.execute(select(invitations)).mappings().all())
    assert len(inv) == report.invited == 40 - report.quotas["available"].sum() + 5


def test_sample_is_all_or_nothing(engine, monkeypatch):
    seed_customers(engine, 20)
    code = open_survey(engine)

    def broken(*args, **kwargs):
        raise RuntimeError("mail template broke")
    monkeypatch.setattr(mail, "enqueue_invitation", broken)
    with pytest.raises(RuntimeError):
        program.draw_sample(engine, code, "W1", n=5, seed=1, today=TODAY)
    assert count(engine, invitations) == 0 and count(engine, outbox) == 0


def test_concurrent_draws_never_invite_twice(engine):
    """Two simultaneous draws for one wave: the second waits for the first (SQLite write lock,
    PostgreSQL row lock on the survey) and sees its invitations."""
    seed_customers(engine, 60)
    code = open_survey(engine)
    barrier, reports, errors = threading.Barrier(2), [], []

    def draw(seed):
        try:
            barrier.wait()
            reports.append(program.draw_sample(engine, code, "W1", n=20, seed=seed,
                                               today=TODAY))
        except Exception as exc:  # collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=draw, args=(s,)) for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sorted(r.invited for r in reports) == [20, 20]
    with engine.connect() as conn:
        invited = pd.Series(conn.execute(select(invitations.c.customer_id)).scalars().all())
    assert len(invited) == 40 and invited.is_unique


def test_reminders_once_for_non_responders(engine):
    seed_customers(engine, 30)
    code = open_survey(engine)
    program.draw_sample(engine, code, "W1", n=6, seed=2, today=TODAY, now=T0)
    with engine.connect() as conn:
        tokens = list(conn.execute(select(invitations.c.token).order_by(invitations.c.id))
                      .scalars())
    submit(engine, survey_code=code, answers={"nps": 9.0}, submission_id="s-1",
           invitation_token=tokens[0], now=T0 + timedelta(days=1))
    assert program.send_reminders(engine, code, "W1", now=T0 + timedelta(days=3)) == 0
    assert program.send_reminders(engine, code, "W1", now=T0 + timedelta(days=8)) == 5
    assert program.send_reminders(engine, code, "W1", now=T0 + timedelta(days=9)) == 0
    assert count(engine, outbox, outbox.c.kind == "reminder") == 5
    assert count(engine, invitations, invitations.c.reminded_at.is_not(None)) == 5


# --------------------------------------------------------------------------- field statistics

def test_field_stats(engine, tmp_path):
    seed_customers(engine, 50)
    code = open_survey(engine)
    program.draw_sample(engine, code, "W1", method="stratified", n=10, strata="region", seed=5,
                        today=TODAY, now=T0)
    mail.deliver_pending(engine, mail.SinkSender(tmp_path), batch=4, now=T0)
    with engine.connect() as conn:
        inv = pd.DataFrame(conn.execute(select(invitations).order_by(invitations.c.id))
                           .mappings().all())
    for k, token in enumerate(inv["token"].iloc[:3]):
        submit(engine, survey_code=code, answers={"nps": 8.0}, submission_id=f"f-{k}",
               invitation_token=token, started_at=T0, now=T0 + timedelta(minutes=30 + k),
               honeypot="x" if k == 0 else "")
    stats = field_stats(engine, code, now=T0 + timedelta(minutes=45))
    by_stratum = stats["by_stratum"].set_index("stratum")
    responded = inv.iloc[:3].groupby("stratum").size()
    for stratum, row in by_stratum.iterrows():
        n_inv = int((inv["stratum"] == stratum).sum())
        n_resp = int(responded.get(stratum, 0))
        assert (row["invited"], row["responded"]) == (n_inv, n_resp)
        # AAPOR RR1 with all invited eligible: completes / invited
        assert row["response_rate"] == pytest.approx(n_resp / n_inv)
    funnel = stats["funnel"].set_index("stage")["count"].to_dict()
    assert funnel == {"invited": 10, "mail_sent": 4, "started": 3, "completed": 3, "flagged": 1}
    wave = stats["by_wave"].iloc[0]
    assert (wave["wave"], wave["invited"], wave["responded"]) == ("W1", 10, 3)
    assert stats["live_count"].set_index("window")["responses"].to_dict() == {
        "last_hour": 3, "last_day": 3}
    assert field_stats(engine, code, "W1")["funnel"]["count"].iloc[0] == 10
    with pytest.raises(ValueError, match="no wave"):
        field_stats(engine, code, "nope")


# --------------------------------------------------------------------------- triggers

def test_triggers_invite_after_delay_once(engine):
    seed_customers(engine, 12)
    code = open_survey(engine)
    trigger = add_trigger(engine, code, "purchase", delay_hours=24, now=T0)
    add_trigger(engine, code, "case_closed", delay_hours=0, now=T0)
    purchases = [
        ("P-old", 1, T0 - timedelta(hours=1), False),     # before the trigger: never surveyed
        ("P1", 2, T0 + timedelta(hours=2), False),
        ("P2", 2, T0 + timedelta(hours=3), False),        # same customer: one invitation
        ("P3", 4, T0 + timedelta(hours=5), True),         # refund: not a purchase
        ("P4", 10, T0 + timedelta(hours=5), False),       # customer 9 (id 10): no consent
        ("P5", 5, T0 + timedelta(hours=30), False),       # not yet due at the first run
    ]
    with write_transaction(engine) as conn:
        insert_rows(conn, transactions, [
            {"external_id": e, "customer_id": c, "occurred_at": at,
             "amount": -5.0 if refund else 50.0, "is_refund": refund}
            for e, c, at, refund in purchases])
        insert_rows(conn, cases, [{"customer_id": 6, "type": "complaint", "status": "closed",
                                   "subject": "late", "opened_at": T0,
                                   "closed_at": T0 + timedelta(hours=1)}])
    run1 = T0 + timedelta(hours=40)
    first_run = run_triggers(engine, run1)
    assert run_triggers(engine, run1) == 0          # idempotent
    with engine.connect() as conn:
        invited = sorted(conn.execute(select(invitations.c.customer_id)).scalars())
        last = conn.execute(select(survey_triggers.c.last_run_at)
                            .where(survey_triggers.c.id == trigger)).scalar_one()
    assert invited == [2, 6] and first_run == 2, invited
    assert last == run1 - timedelta(hours=24)  # events covered up to now - delay
    assert count(engine, outbox) == 2
    # P5 becomes due at T0+54h; customer 2 buys again but is inside the quiet period
    with write_transaction(engine) as conn:
        insert_rows(conn, transactions, [{"external_id": "P6", "customer_id": 2,
                                          "occurred_at": T0 + timedelta(hours=41),
                                          "amount": 20.0, "is_refund": False}])
    assert run_triggers(engine, T0 + timedelta(hours=70)) == 1
    with engine.connect() as conn:
        assert sorted(conn.execute(select(invitations.c.customer_id)).scalars()) == [2, 5, 6]
    with pytest.raises(ValueError, match="event must be"):
        add_trigger(engine, code, "birthday")
    program.set_status(engine, code, "closed")
    with pytest.raises(ValueError, match="closed"):
        add_trigger(engine, code)


def test_surveys_table_left_consistent(engine):
    code = program.create_survey(engine, load_template("kano"))
    with engine.connect() as conn:
        row = conn.execute(select(surveys).where(surveys.c.code == code)).mappings().one()
    assert row["status"] == "draft" and row["open_token"] is None and row["quiet_days"] == 90
