"""Cleaning stored responses: flags with reasons are stored, raw answers are kept, analyses
leave flagged responses out unless asked (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from conftest import PULSE_DEFINITION
from patronage.satisfaction.sources import survey_data_from_db
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


BRAND = {
    "format": 1, "code": "brandgrid", "version": 1, "languages": ["en"],
    "title": {"en": "Brand"},
    "sections": [{"code": "brand", "title": {"en": "Brand"}, "items": [
        {"code": f"b{i}", "type": "rating", "scale": [1, 10], "text": {"en": f"Brand {i}"}}
        for i in range(1, 6)]}],
}


def test_short_grid_straight_lining_needs_a_flag_set_at_submission(engine):
    """Five identical brand ratings are flagged only for the response that was already flagged
    as a speeder when it was submitted (Zhang & Conrad 2014: speeding goes with
    straight-lining); the honest respondent who rates the brand 9 throughout is kept."""
    code = create_survey(engine, BRAND)
    set_status(engine, code, "open")
    now = datetime(2026, 7, 1, 12, 0)
    varied = [[6, 7, 8, 7, 6], [5, 6, 7, 8, 9], [8, 7, 9, 8, 7], [4, 6, 5, 7, 6]]
    rows = {"same": [9] * 5, "fast": [6] * 5, **{f"v{i}": v for i, v in enumerate(varied)}}
    for i, (name, values) in enumerate(rows.items()):
        submit(engine, survey_code=code, answers={f"b{k + 1}": float(v)
                                                  for k, v in enumerate(values)},
               submission_id=f"sub-{name}", started_at=now - timedelta(minutes=5),
               now=now + timedelta(minutes=i), min_seconds=1000 if name == "fast" else None)
    counts = clean_survey(engine, code)
    assert counts["straight_lining"] == 1 and counts["total"] == 6
    with engine.connect() as conn:
        flags = dict(conn.execute(select(responses.c.external_id, responses.c.quality_flags)
                                  .where(responses.c.external_id.like("sub-%"))).all())
    assert flags["sub-same"] == {}
    assert flags["sub-fast"] == {
        "straight_lining": "the same answer 6 on all 5 brand items, also speeder",
        "speeder": "completed in 360 s"}  # 5 min + 1 min: set at submission only
    assert clean_survey(engine, code).equals(counts)  # idempotent
    plain = clean_survey(engine, code, long_grid_items=5, extremes_need_signal=False)
    assert plain["straight_lining"] == 2
