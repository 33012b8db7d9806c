"""Respondent services: token lookup, save-and-resume, idempotent submission, bot signals and
agent entry, on the database (SQLite or PostgreSQL)."""

from __future__ import annotations

import threading
import uuid
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import answers, customers, drafts, invitations, outbox, responses
from patronage.surveys import program
from patronage.surveys.submissions import (
    default_min_seconds,
    resolve_open_link,
    resolve_token,
    save_draft,
    submit,
)
from patronage.surveys.templates import load_template

T0 = datetime(2026, 6, 1, 9, 0)


def _snapshot(engine):
    with engine.connect() as conn:
        return {t.name: sorted(map(repr, conn.execute(select(t)).all()))
                for t in (invitations, drafts, responses, answers, outbox)}


@pytest.fixture
def invited(engine):
    """An open NPS survey with wave W1 and 8 invited customers; returns (engine, code, tokens)."""
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, [
            {"id": i + 1, "external_id": f"C{i}", "name": f"Customer {i}",
             "email": f"c{i}@example.com", "region": "N" if i < 6 else "S",
             "created_at": T0, "updated_at": T0} for i in range(12)])
    code = program.create_survey(engine, load_template("nps"))
    program.set_status(engine, code, "open")
    program.add_wave(engine, code, "W1", date(2026, 6, 1))
    program.draw_sample(engine, code, "W1", method="stratified", n=8, strata="region", seed=4,
                        today=date(2026, 6, 1), now=T0)
    with engine.connect() as conn:
        tokens = list(conn.execute(select(invitations.c.token).order_by(invitations.c.id))
                      .scalars())
    return engine, code, tokens


def test_resolve_token_is_read_only_and_404s_unless_open(invited):
    engine, code, tokens = invited
    before = _snapshot(engine)
    link = resolve_token(engine, tokens[0])
    for _ in range(3):
        assert resolve_token(engine, tokens[0]) == link
    assert _snapshot(engine) == before
    assert (link.survey_code, link.response_id, link.draft) == (code, None, None)
    assert link.design_weight == pytest.approx(12 / 8)  # N_h / n_h = 6 / 4 in both strata
    assert link.questionnaire.code == "nps"
    for bad in ("nope", "", None, "x" * 500):
        assert resolve_token(engine, bad) is None
    program.set_status(engine, code, "closed")
    assert resolve_token(engine, tokens[0]) is None


def test_draft_save_and_resume(invited):
    engine, code, tokens = invited
    key = save_draft(engine, invitation_token=tokens[1], answers={"nps": "7"}, page=0, now=T0)
    assert len(key) == 32  # token_urlsafe(24): 192 bits
    again = save_draft(engine, invitation_token=tokens[1], answers={"nps": "8"}, page=1,
                       now=T0 + timedelta(minutes=1))
    assert again == key
    save_draft(engine, resume_key=key, answers={"nps": "9", "nps_reason": "fast"}, page=1)
    draft = resolve_token(engine, tokens[1]).draft
    assert draft["answers"] == {"nps": "9", "nps_reason": "fast"} and draft["page"] == 1
    assert draft["started_at"] == T0
    with pytest.raises(ValueError, match="resume key"):
        save_draft(engine, resume_key="unknown", answers={}, page=0)
    with pytest.raises(ValueError, match="give invitation_token"):
        save_draft(engine, answers={}, page=0)
    # submitting uses the draft's start time and deletes the draft
    result = submit(engine, survey_code=code, answers={"nps": 9.0}, submission_id="d-1",
                    invitation_token=tokens[1], now=T0 + timedelta(minutes=5))
    with engine.connect() as conn:
        started = conn.execute(select(responses.c.started_at)).scalar_one()
        assert conn.execute(select(func.count()).select_from(drafts)).scalar_one() == 0
    assert started == T0 and result.quality_flags == {}
    with pytest.raises(ValueError, match="answered already"):
        save_draft(engine, invitation_token=tokens[1], answers={}, page=0)


def test_submit_stores_long_answers_weight_and_marks_invitation(invited):
    engine, code, tokens = invited
    result = submit(engine, survey_code=code, submission_id=str(uuid.uuid4()),
                    answers={"nps": 10.0, "nps_reason": "quick delivery", "nps_improve": "",
                             }, invitation_token=tokens[2], language="en",
                    started_at=T0, now=T0 + timedelta(minutes=3))
    assert result.created
    with engine.connect() as conn:
        rows = conn.execute(select(answers.c.item_code, answers.c.value_num,
                                   answers.c.value_text).order_by(answers.c.item_code)).all()
        resp = conn.execute(select(responses)).mappings().one()
        responded = conn.execute(select(invitations.c.responded_at)
                                 .where(invitations.c.token == tokens[2])).scalar_one()
    # blank text is a missing answer: no row (never 0)
    assert [tuple(r) for r in rows] == [("nps", 10.0, None), ("nps_reason", None,
                                                              "quick delivery")]
    assert resp["weight"] == pytest.approx(1.5) and resp["wave_id"] is not None
    assert resp["customer_id"] is not None and resp["language"] == "en"
    assert responded == T0 + timedelta(minutes=3)
    assert resolve_token(engine, tokens[2]).response_id == result.response_id


def test_submit_is_idempotent(invited):
    engine, code, tokens = invited
    first = submit(engine, survey_code=code, answers={"nps": 3.0}, submission_id="same",
                   invitation_token=tokens[3])
    # the same submission id, and the same invitation with another id: the original back
    assert submit(engine, survey_code=code, answers={"nps": 5.0}, submission_id="same",
                  invitation_token=tokens[3]).response_id == first.response_id
    repeat = submit(engine, survey_code=code, answers={"nps": 5.0}, submission_id="other",
                    invitation_token=tokens[3])
    assert (repeat.response_id, repeat.created) == (first.response_id, False)
    with engine.connect() as conn:
        assert conn.execute(select(answers.c.value_num)).scalars().all() == [3.0]


def test_fifty_concurrent_submits_store_one_response(invited):
    """50 threads, each with its own pooled connection, submit one token at once: the unique
    constraints let exactly one insert win (SQLite: busy timeout; PostgreSQL: unique index).
    ``submit`` does not look before it writes, so only the database constraint stops the
    duplicates; the losers read the original afterwards."""
    engine, code, tokens = invited
    barrier = threading.Barrier(50)
    results, errors = [], []

    def worker(k):
        try:
            barrier.wait()
            results.append(submit(engine, survey_code=code, answers={"nps": float(k % 11)},
                                  submission_id=f"thread-{k}", invitation_token=tokens[4]))
        except Exception as exc:  # collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({r.response_id for r in results}) == 1
    assert sum(r.created for r in results) == 1 and len(results) == 50
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(responses)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(answers)).scalar_one() == 1


def test_bot_signals_flag_but_keep(invited):
    engine, code, tokens = invited
    q = program.get_survey(engine, code).questionnaire
    # 3 answer codes x 3 s x 20 % = 1.8 s, raised to the 15 s floor
    assert len(q.answer_codes()) == 3 and default_min_seconds(q) == 15.0
    fast = submit(engine, survey_code=code, answers={"nps": 9.0}, submission_id="fast",
                  invitation_token=tokens[5], started_at=T0, now=T0 + timedelta(seconds=9))
    assert fast.created and fast.quality_flags == {"speeder": "completed in 9 s"}
    bot = submit(engine, survey_code=code, answers={"nps": 9.0}, submission_id="bot",
                 invitation_token=tokens[6], honeypot="http://spam", started_at=T0,
                 now=T0 + timedelta(seconds=60), min_seconds=120)
    assert bot.quality_flags == {"honeypot": "hidden field was filled",
                                 "speeder": "completed in 60 s"}
    with engine.connect() as conn:
        stored = dict(conn.execute(select(responses.c.external_id, responses.c.quality_flags))
                      .all())
    assert stored["fast"] == {"speeder": "completed in 9 s"} and len(stored) == 2


def test_open_link_and_agent_entry(invited):
    engine, code, tokens = invited
    assert resolve_open_link(engine, "whatever") is None
    token = program.enable_open_link(engine, code)
    link = resolve_open_link(engine, token)
    assert link.survey_code == code and link.invitation_id is None
    key = save_draft(engine, open_token=token, answers={"nps": "6"}, page=0, now=T0)
    assert resolve_open_link(engine, token, resume_key=key).draft["answers"] == {"nps": "6"}
    anon = submit(engine, survey_code=code, answers={"nps": 6.0}, submission_id="anon",
                  resume_key=key, now=T0 + timedelta(minutes=2))
    phone = submit(engine, survey_code=code, answers={"nps": 2.0}, submission_id="phone-1",
                   channel="phone", customer_external_id="C11", started_at=T0,
                   now=T0 + timedelta(seconds=5))
    with engine.connect() as conn:
        rows = {r.external_id: r for r in conn.execute(select(responses)).all()}
        assert conn.execute(select(func.count()).select_from(drafts)).scalar_one() == 0
    assert rows["anon"].weight == 1.0 and rows["anon"].invitation_id is None
    assert rows["anon"].wave_id is not None  # the wave running on the day
    assert rows["phone-1"].customer_id == 12 and rows["phone-1"].channel == "phone"
    assert phone.quality_flags == {}  # an agent typing fast is no speeder
    assert anon.created and phone.created
    program.set_status(engine, code, "closed")
    assert resolve_open_link(engine, token) is None
    with pytest.raises(ValueError, match="closed"):
        submit(engine, survey_code=code, answers={"nps": 1.0}, submission_id="late")
    # paper forms may still be typed in after closing
    assert submit(engine, survey_code=code, answers={"nps": 4.0}, submission_id="paper-1",
                  channel="paper", customer_external_id="C10").created


def test_bad_submissions(invited):
    engine, code, tokens = invited
    cases = [
        (dict(answers={"nps": 1.0}, submission_id=""), "submission_id"),
        (dict(answers={"q99": 1.0}, submission_id="a"), "not an answer code"),
        (dict(answers={"nps": float("inf")}, submission_id="a"), "finite"),
        (dict(answers={"nps": True}, submission_id="a"), "number or a text"),
        (dict(answers={"nps": 1.0}, submission_id="a", channel="fax"), "channel"),
        (dict(answers={"nps": 1.0}, submission_id="a", invitation_token="bogus"), "token"),
        (dict(answers={"nps": 1.0}, submission_id="a", customer_external_id="X"), "customer"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            submit(engine, survey_code=code, **kwargs)
    with pytest.raises(ValueError, match="no survey"):
        submit(engine, survey_code="nothing", answers={}, submission_id="a")
    other = program.create_survey(engine, load_template("ces"))
    program.set_status(engine, other, "open")
    submit(engine, survey_code=code, answers={"nps": 1.0}, submission_id="used")
    with pytest.raises(ValueError, match="another survey"):
        submit(engine, survey_code=other, answers={}, submission_id="used")


def test_agent_entry_answers_the_customers_invitation(invited):
    engine, code, tokens = invited
    with engine.connect() as conn:
        inv = conn.execute(select(invitations.c.id, invitations.c.wave_id,
                                  invitations.c.design_weight, customers.c.external_id)
                           .join(customers, customers.c.id == invitations.c.customer_id)
                           .where(invitations.c.token == tokens[3])).one()
    phone = submit(engine, survey_code=code, answers={"nps": 8.0}, submission_id="call-1",
                   channel="phone", customer_external_id=inv.external_id,
                   now=T0 + timedelta(days=1))
    with engine.connect() as conn:
        row = conn.execute(select(responses).where(responses.c.id == phone.response_id)).one()
        responded = conn.execute(select(invitations.c.responded_at)
                                 .where(invitations.c.id == inv.id)).scalar_one()
    assert (row.invitation_id, row.wave_id, row.channel) == (inv.id, inv.wave_id, "phone")
    assert row.weight == pytest.approx(inv.design_weight)
    assert responded == T0 + timedelta(days=1)  # counted as answered: no reminder goes out
    # the same entry sent again returns it; the customer's web link now finds it answered
    again = submit(engine, survey_code=code, answers={"nps": 8.0}, submission_id="call-1",
                   channel="phone", customer_external_id=inv.external_id)
    assert (again.response_id, again.created) == (phone.response_id, False)
    web = submit(engine, survey_code=code, answers={"nps": 3.0}, submission_id="web-late",
                 invitation_token=tokens[3])
    assert (web.response_id, web.created) == (phone.response_id, False)
    with pytest.raises(ValueError, match=r"answered survey .* already .*nothing was stored"):
        submit(engine, survey_code=code, answers={"nps": 9.0}, submission_id="call-2",
               channel="paper", customer_external_id=inv.external_id)
    # a customer who was not invited is entered without an invitation, as before
    with engine.connect() as conn:
        invited_ids = set(conn.execute(select(invitations.c.customer_id)).scalars())
    other = next(f"C{i}" for i in range(12) if i + 1 not in invited_ids)
    free = submit(engine, survey_code=code, answers={"nps": 5.0}, submission_id="call-3",
                  channel="phone", customer_external_id=other)
    with engine.connect() as conn:
        assert conn.execute(select(responses.c.invitation_id)
                            .where(responses.c.id == free.response_id)).scalar() is None
