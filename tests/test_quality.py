"""Cleaning stored responses: flags with reasons are stored, raw answers are kept, analyses
leave flagged responses out unless asked (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from conftest import PULSE_DEFINITION
from patronage.analysis.sources import survey_data_from_db
from patronage.cli import main
from patronage.storage.schema import answers, responses
from patronage.surveys.program import add_wave, create_survey, set_status
from patronage.surveys.quality import clean_survey
from patronage.surveys.submissions import submit

pytestmark = pytest.mark.db


def test_cleaning_flags_with_reasons_and_keeps_raw_answers(panel, db_url):
    engine, _info = panel
    code = create_survey(engine, PULSE_DEFINITION)
    set_status(engine, code, "open")
    add_wave(engine, code, "W1", date(2026, 1, 1))
    now = datetime(2026, 7, 1, 12, 0)
    base = {"nps": 9.0, "delivery": 8.0, "delivery.exp": 8.0, "channels.web": 1.0,
            "channels.phone": 0.0}
    for i, customer in enumerate(["C001", "C001", "C002", "C003"]):
        submit(engine, survey_code=code, answers={**base, "nps": float(7 + i % 3)},
               submission_id=f"sub-{i}", channel="phone", customer_external_id=customer,
               started_at=now - timedelta(minutes=5), now=now + timedelta(minutes=i))
    counts = clean_survey(engine, code)
    assert counts["duplicate"] == 1 and counts["total"] == 4
    with engine.connect() as conn:
        flags = dict(conn.execute(select(responses.c.external_id, responses.c.quality_flags)
                                  .where(responses.c.external_id.like("sub-%"))).all())
        kept = conn.execute(select(func.count()).select_from(answers).join(
            responses, responses.c.id == answers.c.response_id)
            .where(responses.c.external_id == "sub-1")).scalar_one()
    assert flags["sub-1"] == {"duplicate": "duplicate of sub-0"}
    assert flags["sub-0"] == {} and kept == 5
    assert clean_survey(engine, code).equals(counts)  # idempotent
    assert len(survey_data_from_db(engine, code).meta) == 3
    assert len(survey_data_from_db(engine, code, include_flagged=True).meta) == 4
    result = CliRunner().invoke(main, ["survey", "clean", code, "--db", db_url])
    assert result.exit_code == 0 and "duplicate: 1" in result.output


def test_cleaning_an_unknown_survey_is_a_clear_error(db_url):
    result = CliRunner().invoke(main, ["survey", "clean", "nope", "--db", db_url])
    assert result.exit_code == 1 and "there is no survey 'nope'" in result.output


def test_transactional_trigger_from_the_cli(panel, db_url):
    engine, _info = panel
    code = create_survey(engine, PULSE_DEFINITION)
    set_status(engine, code, "open")
    runner = CliRunner()
    result = runner.invoke(main, ["survey", "trigger", code, "--event", "purchase",
                                  "--delay-hours", "48", "--db", db_url])
    assert result.exit_code == 0 and "48 h after each purchase" in result.output
    from patronage.storage.schema import survey_triggers

    with engine.connect() as conn:
        row = conn.execute(select(survey_triggers.c.event, survey_triggers.c.delay_hours)).one()
    assert tuple(row) == ("purchase", 48)
    work = runner.invoke(main, ["survey", "work", "--db", db_url])
    assert work.exit_code == 0 and "sent" in work.output
